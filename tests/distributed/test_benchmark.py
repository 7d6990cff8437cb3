"""The sharded-state benchmark runs (``--quick``, started by `conftest.py`)
and reports the state bytes per device that `sharding.plan_state` plans."""

from __future__ import annotations

from jax.sharding import AbstractMesh

from jaxopt_lessons import sharding
from jaxopt_lessons.benchmarks import sharded_state
from tests.distributed import conftest

MESH = AbstractMesh((8,), ("data",))


def test_quick_benchmark_reports_the_planned_state_bytes(bench_run):
    report, _, _ = bench_run
    settings = report["settings"]
    params, _, _ = sharded_state.model(
        settings["width"], settings["depth"], settings["batch"]
    )
    factories = {label: (f, g) for label, f, g in sharded_state.OPTIMIZERS}
    labels = {row["optimizer"] for row in report["rows"]}
    assert labels == set(conftest.BENCHED.split(","))
    for row in report["rows"]:
        factory, is_grouped = factories[row["optimizer"]]
        tx = factory()
        tree = sharding.group_for_mesh(params, MESH) if is_grouped else params
        plans = sharding.plan_state(tx, tree, MESH)
        total = sum(p.nbytes for p in plans)
        assert row["state_bytes"] == total, row
        want = sum(p.nbytes_per_device for p in plans) if row["sharded"] else total
        assert row["state_bytes_per_device"] == want, row
        assert len(row["round_medians_s"]) >= 1
        assert all(t > 0 for t in row["round_medians_s"])
