"""Where Optax's own tests and jaxopt_lessons part ways, and why: the one list.

Each entry matches tests of `test_optax_suite.py` by ``<module>__<Class>::
<method>`` (shell-style pattern; absl's numbered methods ``test_x0``,
``test_x1``, ... are matched with ``test_x*``) and, optionally, by a regular
expression searched in absl's description of the test's parameters
(``(opt_name='rprop', opt_kwargs={...}, dtype=...)``).

Kinds:
- ``xfail``: we differ on purpose; the test is run and must fail (strict), so
  an entry that stops applying is noticed.
- ``baseline``: the test fails against Optax 0.2.8 itself with the installed
  jax; it is run and expected to fail (not strict: it may be fixed upstream).
- ``other``: the test is about a function we do not export (Optax's own
  `optimistic_adam`); left out, it would only test Optax.
- ``slow``: left out of the default run to keep it short (about two minutes
  on 2 CPU cores); ``JOL_OPTAX_SUITE=full`` runs them too.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re

import jaxopt_lessons as jol


@dataclasses.dataclass(frozen=True)
class Expectation:
    kind: str  # "xfail", "baseline", "other" or "slow"
    test: str  # "<module>__<Class>::<method pattern>"
    reason: str
    params: str = ""  # regex searched in the parameters' description

    def matches(self, test: str, params: str) -> bool:
        if not fnmatch.fnmatchcase(test, self.test):
            return False
        return not self.params or re.search(self.params, params) is not None


EXPECTATIONS = [
    # ------------------------------------------------------------------ xfail
    Expectation(
        "xfail",
        "transform__TransformTest::test_lion_invalid_mode_raises",
        "earlier validation: scale_by_lion(mode='invalid_mode') raises ValueError "
        "when built; Optax raises only at the first update, and the test builds "
        "it outside its assertRaises",
    ),
    Expectation(
        "xfail",
        "combining__ExtraArgsTest::test_extra_args",
        "integer params are refused: the test initialises adam on {'a': 1, 'b': 2} "
        "(int64 leaves); our init raises TypeError (Optax would keep integer "
        "moments that cannot move)",
    ),
    Expectation(
        "xfail",
        "combining__PartitionTest::test_labels_mismatch*",
        "earlier validation: the test builds trace(decay=1.0); decays must lie "
        "in [0, 1) (1.0 never forgets a gradient) and trace refuses it when built",
    ),
    Expectation(
        "xfail",
        "linesearch__ZoomLinesearchTest::test_dtype_stability*",
        "earlier validation: the test builds scale_by_zoom_linesearch with "
        "increase_factor=1e-5; the bracketing phase multiplies the step size by "
        "it to grow the interval, so it must be > 1 (Nocedal & Wright, Algorithm "
        "3.5), and a smaller one is refused when built; dtype stability of our "
        "line searches is checked in tests/reliability/test_low_precision.py",
    ),
    # --------------------------------------------------------------- baseline
    Expectation(
        "baseline",
        "clipping__ClippingTest::test_clip_by_block_rms",
        "fails against Optax 0.2.8 itself (jax 0.10.2): assertAlmostEqual to 7 "
        "places on a float32 RMS of 0.9999999",
    ),
    # ------------------------------------------------------------------ other
    Expectation(
        "other",
        "alias__AliasTest::test_*",
        "Optax's optimistic_adam (deprecated) is not exported here: the test "
        "would only run Optax",
        params=r"opt_name='optimistic_adam'",
    ),
    Expectation(
        "other",
        "alias__LBFGSTest::test_p*_preconditioning*",
        "tests Optax's private transform._precondition_by_lbfgs (and the test's "
        "own reference): it would only run Optax. Our two-loop recursion is "
        "checked against the dense BFGS matrix in tests/optimizers/test_lbfgs.py",
    ),
    Expectation(
        "other",
        "alias__LBFGSTest::test_preconditioning_by_lbfgs_on_*",
        "tests Optax's private transform._precondition_by_lbfgs: it would only "
        "run Optax (see tests/optimizers/test_lbfgs.py for ours)",
    ),
    # ------------------------------------------------------------------- slow
    Expectation(
        "slow",
        "linesearch__BacktrackingLinesearchTest::test_linesearch*",
        "192 single searches (4 problems, 3 increase factors, 2 seeds, "
        "tolerances on and off), each compiled; the quick run keeps the 2 on "
        "Rosenbrock with seed 0, increase factor 1.5 and both relative "
        "tolerances on",
        params=r"problem_name='(himmelblau|matyas|eggholder)'|seed=1|rtol=0\.0[,)]"
        r"|increase_factor=(1\.0|inf)",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_against_plain_implementation*",
        "L-BFGS against the test's plain implementation on five problems (5-15 "
        "s each under load); the quick run keeps one comparison with scipy, "
        "and tests/optimizers/test_lbfgs.py compares every iteration with Optax "
        "and the two-loop recursion with the dense BFGS matrix",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_against_scipy[1-9]",
        "L-BFGS against scipy on four more problems; the quick run keeps one",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_binary_logreg*",
        "scikit-learn logistic regressions solved to tolerance (10-20 s each "
        "under load); tests/optimizers/test_lbfgs.py runs a logistic "
        "regression against Optax",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_multiclass_logreg*",
        "multiclass logistic regression solved to tolerance (15-35 s each)",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_handling_pytrees",
        "a pytree problem solved to tolerance (about 25 s under load); "
        "tests/optimizers/test_lbfgs.py runs pytrees against Optax",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_lbfgs_complex[0-9]",
        "a complex problem solved twice (complex and real form), about 15 s "
        "each under load; the complex Rosenbrock below stays in the quick run",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_lbfgs_complex_rosenbrock*",
        "the complex Rosenbrock with the backtracking line search; the quick "
        "run keeps the zoom one",
        params=r"backtracking",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_minimize_bad_initialization",
        "a long solve from a bad start (about 10 s under load)",
    ),
    Expectation(
        "slow",
        "alias__LBFGSTest::test_state_shape_dtype_shard_stability*",
        "six dtypes times two line searches, each a compiled lax.cond step; "
        "the quick run keeps bfloat16",
        params=r"dtype=<class 'jax\.numpy\.(float16|float32|float64|complex64|complex128)'>",
    ),
    Expectation(
        "slow",
        "alias__AliasTest::test_optimization*",
        "10,000 jitted steps per case on the parabola and Rosenbrock, float32 "
        "and complex64 (about 100 s); tests/optimizers/"
        "test_family_convergence.py runs the same problems",
    ),
    Expectation(
        "slow",
        "alias__AliasTest::test_state_shape_dtype_shard_stability*",
        "six dtypes per optimizer, each a compiled lax.cond step (about 130 s in "
        "all); the quick run keeps bfloat16 and complex64",
        params=r"dtype=<class 'jax\.numpy\.(float16|float32|float64|complex128)'>",
    ),
    Expectation(
        "slow",
        "alias__AliasTest::test_gradient_accumulation*",
        "MultiSteps per optimizer in two dtypes; the quick run keeps bfloat16",
        params=r"dtype='float32'",
    ),
    Expectation(
        "slow",
        "accumulation__AccumulationTest::test_multi_steps_mixed_precision*",
        "9 dtype combinations through a Flax model, eagerly (about 40 s)",
    ),
]

# Names of the functions the suite substitutes, for the summary.
SUBSTITUTED = (*jol.OPTIMIZERS, *jol.TRANSFORMS)


def expectation_for(test: str, params: str) -> Expectation | None:
    """The first entry that matches the test, or None."""
    for entry in EXPECTATIONS:
        if entry.matches(test, params):
            return entry
    return None
