"""The main job: every claim, a table, plots, a JSON report and the exit code."""

import json

import pytest

from jaxopt_lessons.lessons import CLAIM_IDS, cli, get


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from tests.lessons import figures

    tmp = tmp_path_factory.mktemp("lesson")
    report, out = tmp / "report.json", tmp / "plots"
    with figures.captured() as saved:
        code = cli.main(["--quick", "--json", str(report), "--out", str(out)])
    return code, json.loads(report.read_text()), out, saved


def test_every_claim_holds_and_exit_code_is_zero(quick_run):
    code, report, *_ = quick_run
    assert list(report) == list(CLAIM_IDS)
    failing = {k: v["measured"] for k, v in report.items() if not v["holds"]}
    assert not failing
    assert code == 0


def test_report_carries_the_numbers(quick_run):
    _, report, *_ = quick_run
    for claim, entry in report.items():
        assert isinstance(entry["holds"], bool)
        assert entry["measured"] and entry["seconds"] >= 0
        assert len(entry) > 3, claim  # the claim's own numbers follow
    assert report["knowledge_check"]["supported_options"] == {
        "1": ["A"],
        "2": ["A"],
        "3": ["A"],
    }
    assert report["lr_sensitivity"]["width_decades"]["SGD"][0] > 0
    # Non-finite numbers are written as strings, so the file is strict JSON.
    evidence = report["knowledge_check"]["evidence"]
    assert evidence["momentum_error_after_500_by_lr"]["10"] == "inf"


def test_plots_are_written(quick_run):
    _, _, out, _ = quick_run
    pngs = sorted(p.name for p in out.glob("*.png"))
    for claim in ("lr_sensitivity", "tradeoff", "wrong_gradients", "knowledge_check"):
        assert any(name.startswith(claim) for name in pngs), (claim, pngs)
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_legend_covers_a_curve_in_any_plot(quick_run):
    """Every figure the run saves: no legend box over a line, contour, marker,
    bar or label (`lessons._plotting.covered`)."""
    from jaxopt_lessons.lessons import _plotting

    _, _, out, saved = quick_run
    assert sorted(saved) == sorted(p.name for p in out.glob("*.png"))
    assert len(saved) >= 13
    covering = {name: _plotting.covered(fig) for name, fig in saved.items()}
    assert not {name: hits for name, hits in covering.items() if hits}


def test_table_and_summary_are_printed(quick_run, capsys):
    # The table was printed by the fixture's run; print a small one again here.
    code = cli.main(["--quick", "--only", "knowledge_check", "--no-plots"])
    text = capsys.readouterr().out
    assert code == 0
    assert "claim" in text and "measured" in text and "holds" in text
    assert "knowledge_check" in text and "1/1 claims hold" in text


def test_failing_claim_gives_non_zero_exit(monkeypatch, tmp_path):
    module = get("knowledge_check")
    original = module.run

    def broken(**kwargs):
        import dataclasses

        return dataclasses.replace(original(**kwargs), holds=False)

    monkeypatch.setattr(module, "run", broken)
    report = tmp_path / "r.json"
    code = cli.main(
        ["--quick", "--only", "knowledge_check", "--no-plots", "--json", str(report)]
    )
    assert code == 1
    assert json.loads(report.read_text())["knowledge_check"]["holds"] is False


def test_a_claim_that_raises_is_reported_not_fatal(monkeypatch, tmp_path):
    module = get("knowledge_check")

    def boom(**kwargs):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(module, "run", boom)
    report = tmp_path / "r.json"
    code = cli.main(
        ["--quick", "--only", "knowledge_check", "--no-plots", "--json", str(report)]
    )
    entry = json.loads(report.read_text())["knowledge_check"]
    assert code == 1 and entry["holds"] is False
    assert "planted failure" in entry["error"]


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        cli.main(["--only", "no_such_claim"])
    with pytest.raises(SystemExit):
        cli.main(["--seed", "-1"])


class _FakeResult:
    holds = True
    measured = "fake"

    def numbers(self):
        return {"fake": 1}


def _record_runs(monkeypatch):
    """Replaces every claim by a stub that records that it ran (no compute)."""
    import types

    ran = []

    def fake_get(claim):
        def run(*, quick=False, seed=0):
            ran.append(claim)
            return _FakeResult()

        return types.SimpleNamespace(run=run, plot=lambda result, out: [])

    monkeypatch.setattr(cli, "get", fake_get)
    return ran


@pytest.mark.parametrize(
    "only",
    [
        ["ravine,noise"],  # the form README.md documents
        ["ravine", "noise"],  # separate words, as before
        ["ravine,", "noise"],  # a stray comma
        ["noise", "ravine,noise"],  # repeats, any order
    ],
)
def test_only_accepts_comma_and_space_lists(monkeypatch, tmp_path, only):
    from jaxopt_lessons.__main__ import main as package_main

    ran = _record_runs(monkeypatch)
    code = package_main(["--only", *only, "--no-plots", "--out", str(tmp_path)])
    assert code == 0
    assert ran == ["ravine", "noise"]  # the lesson's order, each once


def test_only_twice_adds_up(monkeypatch, tmp_path):
    ran = _record_runs(monkeypatch)
    assert cli.main(["--only", "scales", "--only", "ravine", "--no-plots"]) == 0
    assert ran == ["ravine", "scales"]


@pytest.mark.parametrize("only", ["ravine,nosuch", ",", "ravine nosuch"])
def test_only_refuses_unknown_or_empty(capsys, only):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(["--only", *only.split(" ")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--only" in err


def test_help_names_bench_and_run_times(capsys):
    from jaxopt_lessons.__main__ import main as package_main

    with pytest.raises(SystemExit) as exit_info:
        package_main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "python -m jaxopt_lessons bench" in text
    assert "bench --quick" in text
    # How long the full lesson run, --quick and the benchmark take.
    assert "full run" in text and "--quick" in text
    assert text.count("minute") >= 2
    assert "--only ravine,noise" in text
