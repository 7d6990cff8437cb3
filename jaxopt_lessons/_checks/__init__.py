"""Validation helpers: hyperparameters at construction, pytrees at trace time.

Every message reads ``"<function>: `<argument>` must <rule>, got <value>."`` so
the user sees at once which call and which argument were wrong.

Hyperparameters that are JAX tracers are skipped: `optax.inject_hyperparams`
re-creates the transform with traced values inside `update`, and `jax.vmap`
over a sweep of settings passes batched tracers. Their values cannot be read
without breaking the trace, and they were validated when first given.

The function a message names is the one the user called: an optimizer is
declared with `entry_point`, and while it builds its blocks, `caller` gives
its name to every block's checks (`adam(b1=2)` says ``adam: `b1` ...``, not
``scale_by_adam: ...``). A block called directly names itself.
"""

from jaxopt_lessons._checks.naming import caller, entry_point, reporting_as
from jaxopt_lessons._checks.trees import (
    SWAPPED,
    _paths,
    check_float_params,
    check_state,
    check_stateless,
    check_tree_matches,
    check_updates_match_params,
    checked_stateless,
    checked_updates,
    describe,
    empty_init,
    require_params,
)
from jaxopt_lessons._checks.values import (
    Schedule,
    check_adam_args,
    check_bool,
    check_dtype,
    check_flag,
    check_int,
    check_interval,
    check_learning_rate,
    check_non_negative,
    check_not_both_zero,
    check_positive,
    check_transformation,
    check_weight_decay,
    is_integer_array,
    is_schedule,
)

__all__ = [
    "caller",
    "check_adam_args",
    "check_bool",
    "check_dtype",
    "check_flag",
    "check_float_params",
    "check_int",
    "check_interval",
    "check_learning_rate",
    "check_not_both_zero",
    "check_non_negative",
    "check_positive",
    "check_transformation",
    "check_state",
    "check_stateless",
    "check_tree_matches",
    "check_updates_match_params",
    "check_weight_decay",
    "checked_stateless",
    "checked_updates",
    "describe",
    "empty_init",
    "entry_point",
    "reporting_as",
    "require_params",
]
