"""Optax 0.2.8's own tests, run against jaxopt_lessons.

The test classes of the Optax test modules that exercise the names we export
are imported here with our functions substituted (`substitution.py`): pytest
collects and runs them as tests of this file. What we expect to differ, and
what is left out to keep the run short, is listed, with reasons, in
`expectations.py` and applied by `conftest.py`.

Optax's tests need absl-py (installed with chex), scikit-learn and scipy
(the L-BFGS and line-search tests) and flax (`_accumulation_test`).
"""

from __future__ import annotations

from tests.optax_suite import substitution

#: Optax test module -> the test classes run from it.
MODULES = {
    "optax._src.alias_test": ["AliasTest", "LBFGSTest"],
    "optax._src.linesearch_test": [
        "BacktrackingLinesearchTest",
        "ZoomLinesearchTest",
    ],
    "optax._src.transform_test": ["TransformTest"],
    "optax._src.factorized_test": ["FactorizedTest"],
    "optax._src.float64_test": ["Float64Test"],
    "optax.transforms._adding_test": ["AddingTest"],
    "optax.transforms._clipping_test": ["ClippingTest"],
    "optax.transforms._accumulation_test": ["AccumulationTest"],
    "optax.transforms._combining_test": [
        "CombiningTest",
        "ExtraArgsTest",
        "PartitionTest",
        "NamedChainTest",
    ],
    "optax.transforms._masking_test": ["MaskedTest"],
    "optax.transforms._conditionality_test": ["ConditionalityTest"],
    "optax.transforms._constraining_test": ["ConstraintsTest"],
    "optax.schedules._inject_test": ["InjectHyperparamsTest", "StatefulTest"],
    "optax.tree_utils._state_utils_test": ["StateUtilsTest"],
    "optax._src.lookahead_test": ["LookaheadTest"],
}


def _short(module_name: str) -> str:
    return module_name.rsplit(".", 1)[1].removesuffix("_test").lstrip("_")


for _module_name, _classes in MODULES.items():
    _module = substitution.load(_module_name)
    for _cls in _classes:
        # Collected by pytest as `<module>__<Class>` (two modules may share a
        # class name).
        globals()[f"{_short(_module_name)}__{_cls}"] = getattr(_module, _cls)

del _module_name, _classes, _module, _cls


def test_the_suite_runs_our_functions():
    """The Optax test modules see our functions; Optax itself is unchanged."""
    import optax

    import jaxopt_lessons as jol

    alias_test = substitution.load("optax._src.alias_test")
    assert alias_test.alias.adam is jol.adam
    assert alias_test.transform.scale_by_adam is jol.scale_by_adam
    assert alias_test.alias.lbfgs is jol.lbfgs
    assert alias_test.alias.optimistic_adam is optax.optimistic_adam  # not ours
    clipping_test = substitution.load("optax.transforms._clipping_test")
    assert clipping_test._clipping.clip_by_global_norm is jol.clip_by_global_norm
    # Parameters built when the module was imported hold ours too.
    float64_test = substitution.load("optax._src.float64_test")
    built = {name: fn for name, fn, _ in float64_test.ALL_MODULES}
    assert built["clip"] is jol.clip and built["adam"] is jol.adam
    assert built["identity"] is optax.identity
    # Optax's own modules were restored.
    assert optax.adam is not jol.adam
    assert optax.transforms.clip is not jol.clip
