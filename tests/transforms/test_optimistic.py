"""`scale_by_optimistic_gradient` and its optimizers: by hand, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol


def test_three_steps_by_hand():
    alpha, beta = 0.5, 2.0
    grads = [jnp.array([1.0, -2.0]), jnp.array([3.0, 0.0]), jnp.array([-1.0, 1.0])]
    tx = jol.scale_by_optimistic_gradient(alpha, beta)
    state = tx.init(grads[0])
    prev = np.asarray(grads[0])  # the first step has no past: g_0 := g_1
    for g in grads:
        u, state = tx.update(g, state)
        np.testing.assert_allclose(u, (alpha + beta) * np.asarray(g) - beta * prev)
        prev = np.asarray(g)
    assert not bool(state.is_initial_step)


def test_optimism_damps_the_rotation_of_a_bilinear_game():
    # min_x max_y x·y: simultaneous gradient steps spiral outwards, optimistic
    # steps spiral in (Daskalakis et al., 2018).
    def run(opt):
        z = jnp.array([1.0, 1.0])
        state = opt.init(z)
        for _ in range(300):
            field = jnp.array([z[1], -z[0]])  # descend in x, ascend in y
            u, state = opt.update(field, state)
            z = z + u
        return float(jnp.linalg.norm(z))

    assert run(jol.optimistic_gradient_descent(0.1, alpha=1.0, beta=0.0)) > 1.4
    assert run(jol.optimistic_gradient_descent(0.1, alpha=1.0, beta=1.0)) < 0.5


def test_validation():
    with pytest.raises(
        ValueError, match="optimistic_gradient_descent: `alpha` must lie"
    ):
        jol.optimistic_gradient_descent(0.1, alpha=-1.0)
    with pytest.raises(ValueError, match="optimistic_adam_v2: `beta` must lie"):
        jol.optimistic_adam_v2(0.1, beta=float("inf"))
    with pytest.raises(ValueError, match="optimistic_adam_v2: `learning_rate` must"):
        jol.optimistic_adam_v2(-0.1)
    with pytest.raises(
        ValueError, match=r"optimistic_adam_v2: `b1` must lie in \[0, 1\)"
    ):
        jol.optimistic_adam_v2(0.1, b1=1.0)
