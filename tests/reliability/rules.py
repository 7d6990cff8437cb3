"""Every public factory, and what each of its arguments accepts.

The factories are found, not listed: `jol.OPTIMIZERS`, `jol.TRANSFORMS` and,
when the package exists, the presets `jaxopt_lessons.torch.PRESETS`.
Each argument is looked up in this order:

1. `OVERRIDES["<factory id>.<argument>"]`: one factory's own rule;
2. `FAMILY_RULES[<family>][<argument>]`: a family that follows another
   library's rules (the torch presets accept what `torch.optim` accepts);
3. `RULES[<argument>]`: the rule for the argument's name, shared by every
   factory that uses the name (learning_rate, b1, b2, eps, weight_decay, ...).

An argument found nowhere fails the tests with a message saying where to add
it. A rule lists values that must be accepted (`valid`), values of the right
type that must be refused (`bad_values`) and values of the wrong type
(`bad_types`). The sets are chosen to hold for every reasonable reading of a
name: `rho` = 1 is neither valid nor bad, because Optax-style decays exclude
it and torch's Adadelta allows it; a factory with a stricter or looser rule
than its name's gets an override, with the reason beside it.

The default value of an argument is always valid (so `learning_rate=None` is
accepted where it is the default), and values equal to it are never drawn as
bad ones.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import importlib.util
import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from hypothesis import strategies as st

import jaxopt_lessons as jol

#: How many values each kind of check tried, for the closing summary.
TRIED: collections.Counter = collections.Counter()
FUZZED: set[str] = set()


# ----------------------------------------------------------------------------
# The factories.


@dataclasses.dataclass(frozen=True)
class Factory:
    """One public factory: where it lives and the name its errors use."""

    id: str  # "adam", "torch.adam"
    family: str  # "optimizers", "transforms", "torch" or "contrib"
    fn: Callable[..., Any]
    message_name: str  # the prefix of its error messages

    def __repr__(self) -> str:
        return self.id

    @property
    def parameters(self) -> list[inspect.Parameter]:
        """The arguments a caller can name (not *args or **kwargs)."""
        return [
            p
            for p in inspect.signature(self.fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]


def _torch_module():
    if importlib.util.find_spec("jaxopt_lessons.torch") is None:
        return None
    return importlib.import_module("jaxopt_lessons.torch")


def factories(*families: str) -> list[Factory]:
    """The public factories of the given families (all four when none given)."""
    families = families or ("optimizers", "transforms", "torch", "contrib")
    found = []
    if "optimizers" in families:
        found += [Factory(n, "optimizers", getattr(jol, n), n) for n in jol.OPTIMIZERS]
    if "transforms" in families:
        found += [Factory(n, "transforms", getattr(jol, n), n) for n in jol.TRANSFORMS]
    torch = _torch_module() if "torch" in families else None
    if torch is not None:
        found += [
            Factory(
                f"torch.{n}", "torch", getattr(torch, n), f"jaxopt_lessons.torch.{n}"
            )
            for n in torch.PRESETS  # the optimizers, not the LR schedules
        ]
    if "contrib" in families:
        contrib = importlib.import_module("jaxopt_lessons.contrib")
        found += [
            Factory(f"contrib.{n}", "contrib", getattr(contrib, n), n)
            for n in (*contrib.OPTIMIZERS, *contrib.TRANSFORMS)
        ]
    return found


#: Names an error may start with: the factory called, or a public block it
#: delegates to (`adam(b1=2)` is refused by `scale_by_adam`, whose docstring
#: holds the rule).
def block_names() -> set[str]:
    return set(jol.TRANSFORMS) | set(jol.OPTIMIZERS)


# ----------------------------------------------------------------------------
# Rules.

NOTHING = object()


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one argument accepts.

    Attributes:
        valid: values every factory using this rule must accept.
        bad_values: values of the right type that must raise ValueError.
        bad_types: values of the wrong type that must raise TypeError.
        required: the value passed when the argument has no default.
        needs: other arguments to set when this one is drawn (filtered by
            the factory's signature), for rules that span two arguments,
            such as `nesterov=True` needing a momentum.
    """

    valid: st.SearchStrategy
    bad_values: st.SearchStrategy | None = None
    bad_types: st.SearchStrategy | None = None
    required: Any = NOTHING
    needs: Mapping[str, Any] = dataclasses.field(default_factory=dict)


# Building blocks for the strategies. Floats are drawn as Python floats and,
# for a few fixed values, as NumPy and JAX scalars (JAX's float32 would round
# 0.9999999 up to 1, so drawn values are not converted).


def _reals(low: float, high: float, *, exclude_low=False, exclude_high=False):
    return st.floats(
        low,
        high,
        exclude_min=exclude_low,
        exclude_max=exclude_high,
        allow_nan=False,
        allow_infinity=False,
    )


def _fixed(*values: float) -> st.SearchStrategy:
    """The values as Python, NumPy and JAX scalars."""
    forms = []
    for v in values:
        forms += [v, np.float64(v), np.float32(v), jnp.asarray(v, jnp.float32)]
    return st.sampled_from(forms)


_NAN, _INF = float("nan"), float("inf")
_BELOW_ZERO = st.floats(max_value=0.0, exclude_max=True)  # includes -inf
_NON_FINITE = st.sampled_from([_NAN, _INF, -_INF, np.float32(_NAN), jnp.asarray(_INF)])
_NOT_A_NUMBER = st.sampled_from(
    ["0.1", [0.1], (0.1, 0.2), {"value": 0.1}, True, np.bool_(False), 1j, object()]
)


def unit_interval(required: Any = NOTHING) -> Rule:
    """A decay: [0, 1)."""
    return Rule(
        valid=st.one_of(_reals(0.0, 1.0, exclude_high=True), _fixed(0.0, 0.5, 0.9)),
        bad_values=st.one_of(
            _BELOW_ZERO, st.floats(min_value=1.0), _NON_FINITE, _fixed(-0.1, 1.0)
        ),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        required=required,
    )


def non_negative(*, zero_ok: bool = True, high: float = 1e3, required=NOTHING) -> Rule:
    """A finite number >= 0 (> 0 when not `zero_ok`, where 0 meets a joint rule)."""
    low_forms = (0.0, 1e-3) if zero_ok else (1e-3,)
    return Rule(
        valid=st.one_of(_reals(0.0, high, exclude_low=not zero_ok), _fixed(*low_forms)),
        bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE, _fixed(-1e-8)),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        required=required,
    )


def finite_real(required=NOTHING) -> Rule:
    return Rule(
        valid=st.one_of(_reals(-1e3, 1e3), _fixed(-0.5, 0.0, 2.0)),
        bad_values=_NON_FINITE,
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        required=required,
    )


def closed_unit(required: Any = NOTHING) -> Rule:
    """A factor in [0, 1] (Lion's b1 = 1 and SM3's b2 = 1 are meaningful)."""
    return Rule(
        valid=st.one_of(_reals(0.0, 1.0), _fixed(0.0, 1.0)),
        bad_values=st.one_of(
            _BELOW_ZERO, st.floats(min_value=1.0, exclude_min=True), _NON_FINITE
        ),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        required=required,
    )


def choice(*options: str) -> Rule:
    """One of a few strings."""
    return Rule(
        valid=st.sampled_from(options),
        bad_values=st.sampled_from(["", "unknown", options[0].upper() + "_"]),
    )


def optional(rule: Rule) -> Rule:
    """`rule`, or None for "off"."""
    return dataclasses.replace(rule, valid=st.one_of(st.none(), rule.valid))


LEARNING_RATE = Rule(
    valid=st.one_of(
        _reals(0.0, 10.0),
        _fixed(0.0, 1e-3),
        st.sampled_from(
            [optax.constant_schedule(0.1), optax.linear_schedule(0.1, 0.0, 10)]
        ),
    ),
    bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE, _fixed(-1e-3)),
    bad_types=st.one_of(
        st.sampled_from(["1e-3", [0.1], (0.1,), True, 1j]), st.just(None)
    ),
    required=0.1,
)

FLAG = Rule(
    valid=st.sampled_from([True, False, np.bool_(True), np.bool_(False)]),
    bad_types=st.sampled_from([1, 0, "True", "", None, 1.0, [True]]),
)

# torch's execution flags: only "off" has a meaning here.
TORCH_ONLY_FLAG = Rule(
    valid=st.sampled_from([None, False, np.bool_(False)]),
    bad_values=st.sampled_from([True, np.bool_(True)]),
    bad_types=st.sampled_from([1, 0, "yes", 1.0]),
)

DTYPE = Rule(
    valid=st.sampled_from(
        [None, jnp.float32, jnp.bfloat16, jnp.float16, "float32", np.dtype("float32")]
    ),
    bad_values=st.sampled_from([jnp.int32, jnp.bool_, "int8", np.dtype("uint16")]),
    bad_types=st.sampled_from(["not a dtype", 3.5]),
)

MASK = Rule(
    # Only masks that fit `PARAMS` below; a mask's fit is checked when used.
    valid=st.sampled_from(
        [
            None,
            {"w": True, "b": False},
            lambda params: jax.tree.map(lambda p: p.ndim > 1, params),
        ]
    ),
)

SCHEDULE_FN = Rule(
    valid=st.sampled_from(
        [optax.constant_schedule(0.1), lambda count: 0.1 / (1 + count)]
    ),
    bad_types=st.sampled_from([0.1, None, "schedule"]),
    required=optax.constant_schedule(0.1),
)


def _pair(first: st.SearchStrategy, second: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(first, second) | st.tuples(first, second).map(list)


PAIR_BAD_TYPES = st.sampled_from([0.9, (0.9,), (0.9, 0.99, 0.999), None, ("a", "b")])

BETAS = Rule(
    valid=_pair(
        _reals(0.0, 1.0, exclude_high=True), _reals(0.0, 1.0, exclude_high=True)
    ),
    bad_values=st.one_of(
        _pair(unit_interval().bad_values, _reals(0.0, 0.99)),
        _pair(_reals(0.0, 0.99), unit_interval().bad_values),
    ),
    bad_types=PAIR_BAD_TYPES,
)

#: Rules by argument name, for every factory that uses the name.
RULES: dict[str, Rule] = {
    # Step sizes.
    "learning_rate": LEARNING_RATE,
    "lr": LEARNING_RATE,
    "step_size_fn": SCHEDULE_FN,
    # Decays, [0, 1).
    "b1": unit_interval(),
    "b2": unit_interval(),
    "b3": unit_interval(),
    "beta": unit_interval(),
    "decay": unit_interval(required=0.9),
    "momentum": unit_interval(),
    # Adadelta's rho: [0, 1) in Optax's style, [0, 1] in torch's; 1 is not drawn.
    "rho": Rule(
        valid=_reals(0.0, 1.0, exclude_high=True),
        bad_values=st.one_of(
            _BELOW_ZERO, st.floats(min_value=1.0, exclude_min=True), _NON_FINITE
        ),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
    ),
    # Terms that keep a division finite. eps = 0 is left out of `valid`: with
    # eps_root or initial_scale at their default 0 it is refused, a rule of
    # two arguments checked in test_bad_input.py.
    "eps": non_negative(zero_ok=False, high=1.0),
    "eps_root": non_negative(high=1.0),
    # Non-negative amounts.
    "weight_decay": non_negative(),
    "initial_scale": non_negative(),
    "initial_accumulator_value": non_negative(),
    "lr_decay": non_negative(),
    "momentum_decay": non_negative(),
    "min_norm": non_negative(),
    "min_scale": non_negative(),
    "clipping": non_negative(required=0.1),
    "eta": non_negative(required=0.01),
    "gamma": non_negative(required=0.55),
    "alpha": non_negative(),
    # Adafactor's decay_rate is an exponent (β₂ = 1 − t^(−decay_rate)), not a decay.
    "decay_rate": non_negative(),
    "step_offset": non_negative(),
    "decay_offset": non_negative(),
    "epsilon": non_negative(zero_ok=False, high=1.0),
    "weight_decay_rate": optional(non_negative()),
    "clipping_threshold": optional(
        Rule(
            valid=_reals(1e-3, 1e3),
            bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE),
            bad_types=_NOT_A_NUMBER,
        )
    ),
    "max_learning_rate": non_negative(high=10.0),
    "scaling": LEARNING_RATE,
    "f_min": finite_real(),
    # RAdam's threshold may be any finite number; clip_by_block_rms's must be
    # positive: only what both accept or refuse is drawn.
    "threshold": Rule(
        valid=_reals(0.1, 100.0),
        bad_values=_NON_FINITE,
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        required=1.0,
    ),
    "smooth_beta": non_negative(zero_ok=False, high=10.0),
    "min_dim_size_to_factor": Rule(
        valid=st.integers(0, 256),
        bad_values=st.integers(max_value=-1),
        bad_types=st.sampled_from(["128", None, [128]]),
    ),
    "trust_coefficient": non_negative(),
    "min_step_size": Rule(
        valid=_reals(0.0, 1e-3), bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE)
    ),
    "max_step_size": Rule(
        valid=_reals(1.0, 100.0), bad_values=st.one_of(_BELOW_ZERO, st.just(_NAN))
    ),
    # Rprop's factors: shrink below 1, grow above 1.
    "eta_minus": Rule(
        valid=_reals(0.01, 0.99), bad_values=st.one_of(_BELOW_ZERO, st.just(_NAN))
    ),
    "eta_plus": Rule(
        valid=_reals(1.01, 10.0), bad_values=st.one_of(_BELOW_ZERO, st.just(_NAN))
    ),
    # Clipping thresholds: inf (no clipping) is not drawn either way.
    "max_norm": Rule(
        valid=_reals(1e-3, 1e3),
        bad_values=st.one_of(_BELOW_ZERO, st.just(_NAN)),
        required=1.0,
    ),
    "max_delta": Rule(
        valid=_reals(1e-3, 1e3),
        bad_values=st.one_of(_BELOW_ZERO, st.just(_NAN)),
        required=1.0,
    ),
    # Options that change the program: Python bools.
    # Nesterov's look-ahead needs a momentum (torch: and no dampening).
    "nesterov": dataclasses.replace(FLAG, needs={"momentum": 0.9, "dampening": 0.0}),
    "debias": FLAG,
    "centered": FLAG,
    "eps_in_sqrt": FLAG,
    "bias_correction": FLAG,
    "bias_correction_mu": FLAG,
    "bias_correction_nu": FLAG,
    "flip_sign": FLAG,
    "amsgrad": FLAG,
    "maximize": FLAG,
    "decoupled_weight_decay": FLAG,
    "factored": FLAG,
    "multiply_by_parameter_scale": FLAG,
    # Choices.
    "variant": choice("sps", "sps+"),
    "mode": choice("hard", "smooth", "refined"),
    # Functions.
    "decay_rate_fn": Rule(
        valid=st.sampled_from([lambda t, rate: 1.0 - (t + 1.0) ** (-rate)]),
        bad_types=st.sampled_from([0.8, None, "pow"]),
    ),
    # Randomness: a key or a seed (what else is refused is not fixed here).
    "key": Rule(valid=st.sampled_from([None, 0, 3])),
    "seed": Rule(valid=st.sampled_from([None, 0, 3]), needs={"key": None}),
    # Which axes a per-unit norm runs over; None and -1 fit every parameter.
    "axis": Rule(valid=st.sampled_from([None, -1])),
    # Dtypes of the state.
    "accumulator_dtype": DTYPE,
    "mu_dtype": DTYPE,
    "nu_dtype": DTYPE,
    "state_dtype": DTYPE,
    "dtype_momentum": DTYPE,
    # Masks.
    "mask": MASK,
    "weight_decay_mask": MASK,
    "trust_ratio_mask": MASK,
    # torch.optim's names.
    "betas": BETAS,
    "foreach": TORCH_ONLY_FLAG,
    "fused": TORCH_ONLY_FLAG,
    "capturable": TORCH_ONLY_FLAG,
    "differentiable": TORCH_ONLY_FLAG,
}

# ----------------------------------------------------------------------------
# L-BFGS, the line searches, apply_every and DoG.


def count(low: int, *, required: Any = NOTHING) -> Rule:
    """A number of steps or iterations: an int >= low (floats and bools refused)."""
    return Rule(
        valid=st.integers(low, 30),
        bad_values=st.integers(max_value=low - 1),
        bad_types=st.sampled_from([2.5, "5", None, True, [3]]),
        required=required,
    )


RULES.update(
    {
        "memory_size": count(1),
        "k": count(1),
        "max_linesearch_steps": count(0, required=5),
        "max_backtracking_steps": count(0, required=5),
        "scale_init_precond": FLAG,
        "store_grad": FLAG,
        "verbose": FLAG,
        "linesearch": Rule(
            valid=st.sampled_from(
                [
                    None,
                    jol.scale_by_zoom_linesearch(5),
                    jol.scale_by_backtracking_linesearch(5),
                ]
            ),
            bad_types=st.sampled_from(["zoom", 1.0, True]),
        ),
        "tol": non_negative(),
        "atol": non_negative(),
        "rtol": non_negative(),
        "slope_rtol": unit_interval(),
        # None: Armijo's condition alone.
        "approx_dec_rtol": Rule(
            valid=st.one_of(st.none(), _reals(0.0, 1.0)),
            bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE),
            bad_types=_NOT_A_NUMBER,
        ),
        "stepsize_precision": non_negative(zero_ok=False),
        # The curvature condition's c₂ > 0; ∞ switches it off.
        "curv_rtol": Rule(
            valid=st.one_of(_reals(1e-3, 10.0), st.just(_INF)),
            bad_values=st.one_of(_BELOW_ZERO, st.sampled_from([0.0, _NAN])),
            bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        ),
        # A backtracking shrink factor, in (0, 1].
        "decrease_factor": Rule(
            valid=_reals(0.01, 1.0),
            bad_values=st.one_of(
                _BELOW_ZERO,
                st.floats(min_value=1.0, exclude_min=True),
                st.sampled_from([0.0, _NAN]),
            ),
            bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        ),
        "initial_guess_strategy": choice("one", "keep"),
        "reps_rel": non_negative(zero_ok=False),
        "global_scale": finite_real(),
        "param_dtype": DTYPE,
    }
)

OVERRIDES_LINESEARCH = {
    # Backtracking grows the last step size by increase_factor >= 0 (∞: start
    # at max_learning_rate every time).
    "scale_by_backtracking_linesearch.increase_factor": Rule(
        valid=st.one_of(_reals(0.0, 10.0), st.just(_INF)),
        bad_values=st.one_of(_BELOW_ZERO, st.just(_NAN)),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
    ),
    # The zoom search's bracketing multiplies the step size by it: > 1.
    "scale_by_zoom_linesearch.increase_factor": Rule(
        valid=_reals(1.01, 10.0),
        bad_values=st.one_of(_reals(-10.0, 1.0), _NON_FINITE),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
    ),
    # None: no bound; otherwise a positive, finite step size.
    "scale_by_zoom_linesearch.max_learning_rate": Rule(
        valid=st.one_of(st.none(), _reals(1e-3, 10.0)),
        bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE, st.just(0.0)),
        bad_types=_NOT_A_NUMBER,
    ),
}

#: Rules of a whole family, where it follows another library's conventions.
FAMILY_RULES: dict[str, dict[str, Rule]] = {
    "torch": {
        # torch.optim checks only `0.0 <= momentum` and `0.0 <= alpha`; the
        # presets accept what torch accepts.
        "momentum": non_negative(),
        # torch.optim.SGD does not check `dampening` at all; NaN and inf are
        # refused here.
        "dampening": finite_real(),
        # torch.optim.Rprop: 0 < etas[0] < 1 < etas[1].
        "etas": Rule(
            valid=_pair(_reals(0.01, 0.99), _reals(1.01, 10.0)),
            bad_values=st.one_of(
                _pair(_reals(0.01, 0.99), _reals(0.01, 0.99)),
                _pair(_reals(1.01, 10.0), _reals(1.01, 10.0)),
                _pair(_BELOW_ZERO, _reals(1.01, 10.0)),
                st.just((_NAN, 1.2)),
                st.just((0.5, _INF)),
            ),
            bad_types=PAIR_BAD_TYPES,
        ),
        # (min, max) step sizes, 0 <= min <= max.
        "step_sizes": Rule(
            valid=_pair(_reals(0.0, 1e-3), _reals(1e-3, 100.0)),
            bad_values=st.one_of(
                _pair(_BELOW_ZERO, _reals(1.0, 10.0)),
                _pair(_reals(10.0, 20.0), _reals(1.0, 5.0)),
                st.just((1e-6, _NAN)),
            ),
            bad_types=PAIR_BAD_TYPES,
        ),
    },
}

#: One factory's own rule, keyed "<factory id>.<argument>".
OVERRIDES: dict[str, Rule] = {
    # `scale` multiplies by any finite number (negative flips the direction).
    "scale.step_size": finite_real(required=0.5),
    # Yogi's second moment must start above 0 (it is what keeps 0/0 away).
    "scale_by_yogi.initial_accumulator_value": non_negative(zero_ok=False),
    # An initial step size, not a schedule.
    "rprop.learning_rate": non_negative(required=0.1),
    "scale_by_rprop.learning_rate": non_negative(required=0.1),
    "sm3.learning_rate": non_negative(required=0.1),
    # Optimism weights, not decays.
    "optimistic_gradient_descent.beta": non_negative(),
    "optimistic_adam_v2.beta": non_negative(),
    "scale_by_optimistic_gradient.beta": non_negative(),
    # b1 = 1 is Lion's sign of the momentum alone; b2 = 1 keeps SM3's maximum.
    "lion.b1": closed_unit(),
    "scale_by_lion.b1": closed_unit(),
    "scale_by_sm3.b2": closed_unit(),
    # `trace` and `ema` have no default decay.
    "trace.decay": unit_interval(required=0.9),
    "ema.decay": unit_interval(required=0.9),
    **OVERRIDES_LINESEARCH,
}


# --- contrib: AdEMAMix, ADOPT, ACProp, MADGRAD, COCOB, schedule-free --------


def _open_closed_unit() -> Rule:
    """(0, 1]: schedule-free's β, by which y is divided to recover x."""
    return Rule(
        valid=st.one_of(_reals(0.0, 1.0, exclude_low=True), _fixed(0.5, 1.0)),
        bad_values=st.one_of(
            st.floats(max_value=0.0),
            st.floats(min_value=1.0, exclude_min=True),
            _NON_FINITE,
        ),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
    )


RULES.update(
    {
        # ADOPT's clipping: a flag and a function of the step count.
        "use_clipping": FLAG,
        "clip_value_fn": Rule(
            valid=st.sampled_from([lambda t: t**0.25, lambda t: 2.0 + 0.0 * t]),
            bad_types=st.sampled_from([0.5, None, "sqrt"]),
        ),
        # Schedule-free: the wrapped optimizer, the warmup, the weights' power.
        "base_optimizer": Rule(
            valid=st.sampled_from([optax.sgd(0.1), jol.adam(0.01)]),
            bad_types=st.sampled_from([0.1, None, "adam"]),
            required=optax.sgd(0.1),
        ),
        "warmup_steps": Rule(
            valid=st.one_of(st.none(), st.integers(1, 1000)),
            bad_values=st.integers(max_value=0),
            bad_types=st.sampled_from([2.5, "10", True, [10]]),
        ),
        "weight_lr_power": non_negative(high=10.0),
    }
)
OVERRIDES.update(
    {
        "contrib.schedule_free.b1": _open_closed_unit(),
        "contrib.schedule_free_sgd.b1": _open_closed_unit(),
        "contrib.schedule_free_adamw.b1": _open_closed_unit(),
    }
)
# --- end of contrib: AdEMAMix ... schedule-free -----------------------------


# ----------------------------------------------------------------------------
# jaxopt_lessons.contrib: learning-rate-free and adaptive-step methods
# (prodigy, dadapt_adamw, dog, dowg, mechanize, momo, momo_adam) and
# reduce_on_plateau. Their new argument names; the shared ones (eps, betas,
# weight_decay, ...) follow the rules above.


def _positive(high: float = 1e3, required: Any = NOTHING) -> Rule:
    """A finite number > 0 (0 is refused: a divisor, or a start that never moves)."""
    return Rule(
        valid=st.one_of(_reals(1e-8, high), _fixed(1e-6, 0.5)),
        bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE, _fixed(0.0, -1e-8)),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        required=required,
    )


def _integer(low: int, high: int = 100) -> Rule:
    """A Python or NumPy integer >= `low` (bools and floats are refused)."""
    return Rule(
        valid=st.one_of(st.integers(low, high), st.integers(low, high).map(np.int32)),
        bad_values=st.integers(max_value=low - 1),
        bad_types=st.sampled_from([1.5, "10", None, True, [3]]),
    )


RULES.update(
    {
        # Prodigy and D-Adaptation.
        "beta3": optional(unit_interval()),
        "estim_lr0": _positive(),
        "estim_lr_coef": non_negative(),
        "safeguard_warmup": FLAG,
        # DoG: (kind, value > 0); DoWG: a first squared distance.
        "init_step": Rule(
            valid=st.sampled_from(
                [("heuristic", 1e-6), ("distance", 1e-3), ["learning_rate", 0.1]]
            ),
            bad_values=st.sampled_from(
                [
                    ("unknown", 1e-6),
                    ("distance", 0.0),
                    ("heuristic", -1.0),
                    ("learning_rate", _NAN),
                    ("distance", _INF),
                ]
            ),
            bad_types=st.sampled_from(
                [0.1, None, ("heuristic",), (1, 0.1), ("distance", "1e-3")]
            ),
            required=("heuristic", 1e-6),
        ),
        "init_estim_sq_dist": optional(_positive()),
        # Mechanic: its learners (`base_optimizer` follows schedule-free's rule).
        "s_init": _positive(high=1.0),
        "num_betas": _integer(1, 10),
        # MoMo.
        "lower_bound": finite_real(),
        "adapt_lower_bound": FLAG,
        # reduce_on_plateau.
        "factor": Rule(
            valid=_reals(0.01, 0.99),
            bad_values=st.one_of(
                _BELOW_ZERO, st.floats(min_value=1.0), _NON_FINITE, _fixed(0.0, 1.0)
            ),
            bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        ),
        "patience": _integer(1),
        "cooldown": _integer(0),
        "accumulation_size": _integer(1),
        # rtol = 0 is refused with atol at its default 0 (a joint rule).
        "rtol": Rule(
            valid=_reals(1e-6, 1.0),
            bad_values=st.one_of(
                _BELOW_ZERO, st.floats(min_value=1.0, exclude_min=True), _NON_FINITE
            ),
            bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
        ),
        "atol": non_negative(),
    }
)


# ----------------------------------------------------------------------------
# Muon (contrib.muon, contrib.scale_by_muon, torch.muon).

_NS_STEPS = Rule(
    valid=st.integers(0, 6),
    bad_values=st.integers(max_value=-1),
    bad_types=st.sampled_from([2.5, "5", None, True]),
)
_NS_COEFFS = Rule(
    valid=st.sampled_from(
        [(3.4445, -4.775, 2.0315), [2.0, -1.5, 0.5], ((1.5, -0.5, 0.0),)]
    ),
    bad_values=st.sampled_from([(1.0, 2.0), (_NAN, 0.0, 0.0), ((1.0, 2.0, 3.0, 4.0),)]),
    bad_types=st.sampled_from([None, object()]),
)
_MUON_DIMS = Rule(valid=st.sampled_from([None]), bad_types=st.sampled_from([3]))
RULES.update(
    {
        "ns_steps": _NS_STEPS,
        "adaptive": FLAG,
        "preconditioning": choice("frobenius", "spectral", "aol", "schatten"),
        "adam_b1": unit_interval(),
        "adam_b2": unit_interval(),
        "adam_eps_root": non_negative(high=1.0),
        "adam_weight_decay": non_negative(),
        "adam_learning_rate": optional(LEARNING_RATE),
        "consistent_rms": optional(non_negative()),
        "weight_dimension_numbers": _MUON_DIMS,
        "muon_weight_dimension_numbers": _MUON_DIMS,
    }
)
OVERRIDES.update(
    {
        # Optax's presets are names for muon, not for its block.
        "contrib.muon.ns_coeffs": dataclasses.replace(
            _NS_COEFFS,
            valid=st.one_of(_NS_COEFFS.valid, st.sampled_from(["standard", "dion"])),
            bad_values=st.one_of(_NS_COEFFS.bad_values, st.just("muon")),
        ),
        "contrib.scale_by_muon.ns_coeffs": _NS_COEFFS,
        # torch: 0 <= ns_steps < 100, (a, b, c), three adjustments of lr.
        "torch.muon.ns_steps": dataclasses.replace(
            _NS_STEPS,
            bad_values=st.one_of(st.integers(max_value=-1), st.integers(100, 10**4)),
        ),
        "torch.muon.ns_coefficients": Rule(
            valid=st.sampled_from([(3.4445, -4.775, 2.0315), [2.0, -1.5, 0.5]]),
            bad_values=st.sampled_from([(1.0, 2.0), (_NAN, 0.0, 0.0), None]),
        ),
        "torch.muon.adjust_lr_fn": Rule(
            valid=st.sampled_from([None, "original", "match_rms_adamw"]),
            bad_values=st.sampled_from(["", "sqrt", "ORIGINAL"]),
        ),
    }
)
#: Factories that take matrices only (Newton–Schulz): they are called on the
#: matrices of `PARAMS` and `GRADS`.
MATRICES_ONLY = {"contrib.scale_by_muon", "torch.muon"}


def trees_for(factory: Factory) -> tuple[Any, Any]:
    """(PARAMS, GRADS), without their vector for a factory of `MATRICES_ONLY`."""
    if factory.id in MATRICES_ONLY:
        return {"w": PARAMS["w"]}, {"w": GRADS["w"]}
    return PARAMS, GRADS


def vector_shape(factory: Factory, n: int) -> tuple[int, ...]:
    """The shape of a leaf of n entries that `factory` accepts: (n,), or
    (n, 1) for a factory of `MATRICES_ONLY`."""
    return (n, 1) if factory.id in MATRICES_ONLY else (n,)


#: State leaves that hold a hyperparameter, not a tensor per parameter (Muon's
#: Newton–Schulz coefficients): their shape may equal a parameter's by chance.
HYPERPARAMETER_STATE = {"ns_coeffs"}


# End of Muon.


# L-BFGS's backtracking search: its `rtol` is a slack δ >= 0 relative to f(w),
# not reduce_on_plateau's fraction in (0, 1).
OVERRIDES["scale_by_backtracking_linesearch.rtol"] = non_negative()


class UnknownArgument(AssertionError):
    pass


def rule_for(factory: Factory, name: str) -> Rule:
    """The rule of one argument, or a failure that says where to add it."""
    rule = (
        OVERRIDES.get(f"{factory.id}.{name}")
        or FAMILY_RULES.get(factory.family, {}).get(name)
        or RULES.get(name)
    )
    if rule is None:
        raise UnknownArgument(
            f"{factory.id}: the argument `{name}` has no rule in "
            "tests/reliability/rules.py. Add one to RULES (if every factory "
            "that uses this name should follow it) or to OVERRIDES under "
            f"{factory.id + '.' + name!r}, listing the values that must be "
            "accepted, the values that must raise ValueError and the types "
            "that must raise TypeError."
        )
    return rule


def known_rule(factory: Factory, name: str) -> Rule | None:
    try:
        return rule_for(factory, name)
    except UnknownArgument:
        return None


def base_kwargs(factory: Factory) -> dict[str, Any]:
    """Values for the arguments without a default: the smallest valid call."""
    kwargs = {}
    for p in factory.parameters:
        if p.default is inspect.Parameter.empty:
            rule = rule_for(factory, p.name)
            if rule.required is NOTHING:
                raise UnknownArgument(
                    f"{factory.id}: the argument `{p.name}` has no default, and "
                    "its rule in tests/reliability/rules.py gives no `required` "
                    "value to call the factory with."
                )
            kwargs[p.name] = rule.required
    return kwargs


def call_with(factory: Factory, name: str, value: Any) -> dict[str, Any]:
    """The keyword arguments for calling `factory` with `name=value`."""
    kwargs = base_kwargs(factory)
    names = {p.name for p in factory.parameters}
    kwargs.update(
        {k: v for k, v in rule_for(factory, name).needs.items() if k in names}
    )
    kwargs[name] = value
    return kwargs


def call_together(factory: Factory, drawn: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for calling `factory` with every drawn value at
    once; the `needs` of each value that is set (not None or False) win."""
    kwargs = base_kwargs(factory)
    kwargs.update(drawn)
    names = {p.name for p in factory.parameters}
    for name, value in drawn.items():
        if (
            value is None
            or value is False
            or (isinstance(value, np.bool_) and not value)
        ):
            continue
        needs = rule_for(factory, name).needs
        kwargs.update({k: v for k, v in needs.items() if k in names})
    return kwargs


def default_of(factory: Factory, name: str) -> Any:
    for p in factory.parameters:
        if p.name == name:
            return p.default
    raise KeyError(name)


def same_value(a: Any, b: Any) -> bool:
    """True when `a` is the argument's default itself (None, False, a number)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def shown_forms(value: Any) -> list[str]:
    """The ways an error message may write `value`."""
    forms = {repr(value), str(value)}
    if isinstance(value, (float, np.floating)) and math.isfinite(float(value)):
        forms |= {f"{float(value):g}", repr(float(value))}
    if isinstance(value, (jax.Array, np.ndarray, np.generic)):
        array = np.asarray(value)
        forms |= {repr(array), str(array)}
        if array.ndim == 0 and array.dtype.kind in "fiub":
            forms |= {repr(array.item()), str(array.item())}
    if isinstance(value, (tuple, list)):
        for item in value:
            forms |= set(shown_forms(item))
    if not isinstance(value, (jax.Array, np.ndarray, np.generic, float, int, str)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forms.add(jnp.dtype(value).name)
        except Exception:
            pass
    if isinstance(value, str) and value.isidentifier():
        forms.add(value)  # a dtype name such as "int8"
    return sorted(f for f in forms if f)


# Small trees used to call `init` and `update`.
PARAMS = {"w": jnp.asarray([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), "b": jnp.ones(3)}
GRADS = {"w": jnp.asarray([[0.1, 0.2, -0.3], [0.0, -1.0, 2.0]]), "b": -jnp.ones(3)}


# ----------------------------------------------------------------------------
# jaxopt_lessons.contrib: sam, normalize, dpsgd, differentially_private_aggregate,
# galore, scale_by_galore, sophia, scale_by_sophia,
# hutchinson_estimator_diag_hessian, split_real_and_imaginary.


def _contrib_rules() -> tuple[dict[str, Rule], dict[str, Rule]]:
    from optax.contrib import GaLoreDimensionNumbers

    import jaxopt_lessons.contrib as contrib

    def count(low: int = 1, required: Any = NOTHING) -> Rule:
        """An integer >= `low` (a step count, a period, a rank)."""
        return Rule(
            valid=st.integers(low, 50),
            bad_values=st.integers(max_value=low - 1),
            bad_types=st.sampled_from(["2", 2.5, None, True, [2]]),
            required=required,
        )

    def transform(*valid: Any, none_ok: bool = False) -> Rule:
        """A gradient transformation (`init` and `update`)."""
        return Rule(
            valid=st.sampled_from([None, *valid] if none_ok else list(valid)),
            # a factory not called, a name, a number
            bad_types=st.sampled_from(
                [jol.sgd, "sgd", 0.1] + ([] if none_ok else [None])
            ),
            required=valid[0],
        )

    positive = Rule(
        valid=st.one_of(_reals(1e-3, 1e3), _fixed(0.5, 2.0)),
        bad_values=st.one_of(_BELOW_ZERO, _NON_FINITE, st.just(0.0)),
        bad_types=st.one_of(_NOT_A_NUMBER, st.just(None)),
    )
    rules = {
        "l2_norm_clip": non_negative(required=1.0),
        "noise_multiplier": non_negative(required=0.5),
        "sync_period": count(),
        "reset_state": FLAG,
        "opaque_mode": FLAG,
        "rank": count(),
        "update_proj_gap": count(),
        "update_interval": count(),
        "print_win_rate_every_n_steps": count(0),
        # Printing the win rate needs a period.
        "verbose": dataclasses.replace(FLAG, needs={"print_win_rate_every_n_steps": 1}),
        "clip_threshold": optional(
            dataclasses.replace(positive, bad_types=_NOT_A_NUMBER)
        ),
        "random_seed": Rule(
            valid=st.sampled_from(
                [None, 0, 7, jax.random.PRNGKey(1), jax.random.key(2)]
            ),
            bad_types=st.sampled_from(["0", 1.5, True, [0, 1]]),
        ),
        "hessian_diagonal_fn": transform(
            contrib.hutchinson_estimator_diag_hessian(), jol.scale(1.0)
        ),
        "weight_dimension_numbers": Rule(
            valid=st.sampled_from(
                [
                    None,
                    GaLoreDimensionNumbers(),
                    lambda p: jax.tree.map(
                        lambda x: GaLoreDimensionNumbers(1, 0) if x.ndim == 2 else None,
                        p,
                    ),
                ]
            ),
            bad_types=st.sampled_from(["0", 1.5]),
        ),
    }
    overrides = {
        "contrib.dpsgd.seed": Rule(
            valid=st.sampled_from([0, 3, np.int32(5), jax.random.key(1)]),
            bad_types=st.sampled_from([None, "0", 1.5, True]),
            required=0,
        ),
        "contrib.sam.optimizer": transform(jol.sgd(0.1), optax.adam(0.01)),
        "contrib.sam.adv_optimizer": transform(
            optax.chain(contrib.normalize(), jol.sgd(0.05)), optax.sgd(0.05)
        ),
        # A name needs a mapped axis (pmap, shard_map) around `update`: only
        # None is drawn as valid here; tests/contrib/test_sam.py covers the rest.
        "contrib.sam.batch_axis_name": Rule(
            valid=st.just(None), bad_types=st.sampled_from([0, 1.5, ["batch"]])
        ),
        "contrib.split_real_and_imaginary.inner": transform(
            jol.adam(0.1), optax.sgd(0.1)
        ),
        "contrib.galore.scale": finite_real(),
        "contrib.scale_by_galore.scale": finite_real(),
        "contrib.galore.base_optimizer": transform(
            jol.scale_by_adam(), optax.scale_by_lion(), none_ok=True
        ),
        "contrib.scale_by_galore.base_optimizer": transform(
            jol.scale_by_adam(), optax.scale_by_lion(), none_ok=True
        ),
    }
    return rules, overrides


_CONTRIB_RULES, _CONTRIB_OVERRIDES = _contrib_rules()
RULES.update(_CONTRIB_RULES)
OVERRIDES.update(_CONTRIB_OVERRIDES)

#: Factories for which the `update` checks of test_bad_input.py (a tree or a
#: shape that does not match the state) cannot apply, with the reason.
UPDATE_CHECKS_DO_NOT_APPLY = {
    "contrib.dpsgd": "its updates are per-example gradients, with a batch axis "
    "the params and the state do not have; a mismatched leaf shows as a batch "
    "axis of another size",
    "contrib.hutchinson_estimator_diag_hessian": "it ignores the incoming "
    "updates (it differentiates `obj_fn` at the params) and its state is a key",
}
