"""The Muon benchmark runs end to end with its --quick settings."""

from __future__ import annotations

from jaxopt_lessons.benchmarks import muon


def test_quick_run_measures_both_sides_on_the_same_trajectory():
    result = muon.run(**muon.QUICK)
    for what in ("step", "update"):
        r = result[what]
        assert r["ours"] > 0 and r["optax"] > 0 and r["ratio"] > 0
        assert r["first_ours"] >= r["ours"] and r["first_optax"] >= r["optax"]
    # both sides took the same steps on the same data
    assert result["max_abs_param_diff"] < 1e-5
    table = muon.report(result)
    assert "| training step |" in table and "| update alone |" in table
