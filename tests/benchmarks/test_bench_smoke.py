"""The benchmark runs end to end on tiny shapes, and its paths agree with Optax."""

from __future__ import annotations

import json

import pytest

from jaxopt_lessons.benchmarks import cases, cli, shapes


@pytest.fixture
def tiny_shapes(monkeypatch):
    def tiny(quick):
        return {
            "large": {"w": (4096,)},
            "transformer": shapes.transformer_shapes(1, 8, 16, 11, 4),
            "many": [(16,)] * 12,
        }

    monkeypatch.setattr(shapes, "shape_trees", tiny)


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
        "--models",  # the whole-step part has its own test, on tiny models
        "none",
    ]
    assert cli.main(argv) == 0
    table = capsys.readouterr().out
    assert "| many | adam | ours grouped |" in table
    assert "| many | adam | ours fast |" in table
    result = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "results.png").stat().st_size > 10_000
    rows = {(r["shape"], r["optimizer"], r["impl"]): r for r in result["rows"]}
    for shape in ("large", "many"):
        for opt in ("adam",):
            ours = rows[(shape, opt, "ours")]
            assert ours["reference"] == "optax" and ours["time_ratio"] > 0
            # same algorithm, same compiled traffic as Optax
            assert ours["hlo_bytes"] <= rows[(shape, opt, "optax")]["hlo_bytes"]
    assert rows[("many", "adam", "ours fast")]["buffers_in"] < 12
    assert rows[("many", "adam", "ours grouped")]["time_ratio"] > 0
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
    pairs = cases.optimizer_pairs("all")
    assert list(pairs)[:5] == list(cases.DEFAULT_OPTIMIZERS)
    with pytest.raises(ValueError, match="unknown optimizer"):
        cases.optimizer_pairs(("nope",))


def test_whole_step_bench_runs_every_model_and_agrees_with_optax(
    tmp_path, monkeypatch, capsys
):
    from jaxopt_lessons.benchmarks import models

    def tiny(quick, probe_leaves=None):
        return {
            "probes": lambda: models.probes(probe_leaves or 6, 8, 4),
            "deep_mlp": lambda: models.deep_mlp(3, 8, 16),
            "transformer": lambda: models.transformer(1, 8, 16, 11, 8, 2, 1, 4),
        }

    monkeypatch.setattr(models, "models", tiny)
    argv = ["--quick", "--out", str(tmp_path), "--rounds", "2", "--steps", "2"]
    argv += ["--shapes", "none", "--no-sweep", "--no-plot"]
    assert cli.main(argv) == 0
    assert "| probes | ours fast |" in capsys.readouterr().out
    result = json.loads((tmp_path / "results.json").read_text())
    rows = {(r["shape"], r["impl"]): r for r in result["whole_step_rows"]}
    impls = {"optax", "ours", "ours grouped", "ours fast", "forward+backward"}
    for model in ("probes", "deep_mlp", "transformer"):
        assert {i for m, i in rows if m == model} >= impls
        for impl in impls - {"optax"}:
            row = rows[(model, impl)]
            assert row["time_ratio"] > 0 and row["compile_cpu_ratio"] > 0
            assert row["kernels"] > 0
    # every step path took the same steps and ended at Optax's parameters
    diffs = result["whole_step_final_params_rel_diff"]
    assert {k for k in diffs if k.startswith("probes/")} >= {
        "probes/ours",
        "probes/ours grouped",
        "probes/ours fast",
    }
    for key, diff in diffs.items():
        # Attention's softmax does not change when every key moves by the
        # same vector, so the key bias's exact gradient is zero: what is
        # computed is rounding noise, which Adam turns into steps of up to
        # the learning rate whatever the implementation (torch's too).
        if diff["first_step_leaf"].endswith("['k']['bias']"):
            assert diff["first_step_max_rel"] <= 2e-3, key
        else:
            assert diff["first_step_max_rel"] < 1e-6, (key, diff)
        if diff["leaf"].endswith("['k']['bias']"):
            assert diff["max_rel"] <= 2e-3 * diff["steps"], key
        else:
            assert diff["max_rel"] < 1e-5, (key, diff)
    if any(m == "nnx_mlp" for m, _ in rows):  # flax installed
        assert rows[("nnx_mlp", "ours grouped")]["time_ratio"] > 0
