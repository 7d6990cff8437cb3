"""dtypes are kept, state types never drift, no recompilation, abstract init."""

import jax
import jax.numpy as jnp
import pytest

import jaxopt_lessons as jol

OPTIMIZERS = ["sgd", "rmsprop", "adam", "adamw", "nadam", "nadamw", "adamax", "adamaxw", "amsgrad", "adagrad"]  # fmt: skip


def _build(name):
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    return getattr(jol, name)(1e-2, **kwargs)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_low_precision_params_give_updates_of_the_same_dtype(name, dtype):
    params = {"w": jnp.ones((3, 2), dtype), "b": jnp.zeros((2,), dtype)}
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
    opt = _build(name)
    state = opt.init(params)
    updates, new_state = jax.jit(opt.update)(grads, state, params)
    assert all(u.dtype == dtype for u in jax.tree.leaves(updates))
    # The state keeps its types from one step to the next.
    assert jax.tree.map(lambda x: x.dtype, state) == jax.tree.map(
        lambda x: x.dtype, new_state
    )


@pytest.mark.parametrize(
    "factory, field",
    [
        (lambda: jol.adam(0.1, mu_dtype=jnp.float32), "mu"),
        (lambda: jol.adam(0.1, nu_dtype=jnp.float32), "nu"),
        (lambda: jol.adamw(0.1, mu_dtype=jnp.float32, nu_dtype=jnp.float32), "nu"),
        (lambda: jol.nadam(0.1, nu_dtype=jnp.float32), "nu"),
        (lambda: jol.amsgrad(0.1, mu_dtype=jnp.float32), "mu"),
        (lambda: jol.sgd(0.1, momentum=0.9, accumulator_dtype=jnp.float32), "trace"),
    ],
)
def test_state_dtype_arguments_are_honoured(factory, field):
    params = {"w": jnp.ones((4,), jnp.bfloat16)}
    opt = factory()
    state = opt.init(params)
    for _ in range(2):
        _, state = jax.jit(opt.update)(params, state, params)
        leaf = jax.tree.leaves(
            state, is_leaf=lambda s: hasattr(s, field) and hasattr(s, "_fields")
        )
        found = [getattr(s, field)["w"] for s in leaf if hasattr(s, field)]
        assert found and all(x.dtype == jnp.float32 for x in found)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_second_update_does_not_recompile(name):
    params = {"w": jnp.ones((3,)), "b": jnp.ones(())}
    opt = _build(name)
    traces = []

    @jax.jit
    def step(grads, state, params):
        traces.append(1)  # runs only while tracing
        return opt.update(grads, state, params)

    state = opt.init(params)
    for scale in (1.0, 2.0, 3.0):
        grads = jax.tree.map(lambda p, s=scale: s * p, params)
        _, state = step(grads, state, params)
    assert len(traces) == 1


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_init_on_shape_dtype_structs(name):
    params = {
        "w": jax.ShapeDtypeStruct((3, 2), jnp.float32),
        "b": jax.ShapeDtypeStruct((2,), jnp.bfloat16),
    }
    opt = _build(name)
    abstract = jax.eval_shape(opt.init, params)
    concrete = opt.init(jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params))
    assert jax.tree.structure(abstract) == jax.tree.structure(concrete)
    for a, c in zip(jax.tree.leaves(abstract), jax.tree.leaves(concrete)):
        assert a.shape == c.shape and a.dtype == c.dtype
    # init also takes the structs directly, as optax's does.
    direct = opt.init(params)
    assert jax.tree.structure(direct) == jax.tree.structure(concrete)


def test_state_is_stable_under_lax_cond():
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    opt = jol.adam(0.1, mu_dtype=jnp.float32)
    state = opt.init(params)

    def maybe_step(flag, state):
        return jax.lax.cond(
            flag, lambda s: opt.update(params, s, params)[1], lambda s: s, state
        )

    jax.jit(maybe_step)(True, state)  # raises if the branches' state types differ
