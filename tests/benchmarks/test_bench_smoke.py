"""The benchmark runs end to end on tiny shapes, and its paths agree with Optax."""

from __future__ import annotations

import json

import pytest

from jaxopt_lessons.benchmarks import cli, core


@pytest.fixture
def tiny_shapes(monkeypatch):
    def tiny(quick):
        return {
            "large": {"w": (4096,)},
            "transformer": core.transformer_shapes(1, 8, 16, 11, 4),
            "many": [(16,)] * 12,
        }

    monkeypatch.setattr(core, "shape_trees", tiny)


def test_bench_quick_writes_table_json_and_plot(tmp_path, tiny_shapes, capsys):
    argv = [
        "--quick",
        "--out",
        str(tmp_path),
        "--optimizers",
        "adam",
        "--rounds",
        "2",
        "--steps",
        "2",
        "--warmup-ms",
        "0",
        "--no-sweep",
        "--shapes",
        "large,many",
    ]
    assert cli.main(argv) == 0
    table = capsys.readouterr().out
    assert "| many | adam | ours grouped |" in table
    result = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "results.png").stat().st_size > 10_000
    rows = {(r["shape"], r["optimizer"], r["impl"]): r for r in result["rows"]}
    for shape in ("large", "many"):
        for opt in ("adam",):
            ours = rows[(shape, opt, "ours")]
            assert ours["reference"] == "optax" and ours["time_ratio"] > 0
            # same algorithm, same compiled traffic as Optax
            assert ours["hlo_bytes"] <= rows[(shape, opt, "optax")]["hlo_bytes"]
    assert rows[("many", "adam", "ours grouped")]["buffers_in"] < 12
    # every JAX path gave Optax's params after one step
    assert result["max_abs_diff"] and max(result["max_abs_diff"].values()) < 1e-6


def test_sweep_bench_methods_agree():
    from jaxopt_lessons.benchmarks.sweep_bench import run_sweep_bench

    sweep = run_sweep_bench(2, 5, 1, lambda message: None)
    assert {r["method"] for r in sweep["rows"]} >= {
        "sweeps auto",
        "jit loop (reference)",
    }
    assert sweep["auto_picked"] in ("vmap", "map", "loop")
    assert max(r["max_abs_diff_final_loss"] for r in sweep["rows"]) < 1e-5


def test_optimizer_pairs():
    pairs = core.optimizer_pairs("all")
    assert list(pairs)[:5] == list(core.DEFAULT_OPTIMIZERS)
    with pytest.raises(ValueError, match="unknown optimizer"):
        core.optimizer_pairs(("nope",))
