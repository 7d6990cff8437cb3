"""`scale_by_trust_ratio`, LAMB, LARS and Fromage: by hand, and validation."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol


def test_each_leaf_is_rescaled_to_its_parameters_norm():
    params = {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(2)}
    updates = {"w": jnp.array([0.0, 0.5]), "b": jnp.array([1.0, 1.0])}
    tx = jol.scale_by_trust_ratio(trust_coefficient=0.1, eps=0.5)
    out, _ = tx.update(updates, tx.init(params), params)
    # ‖w‖ = 5, ‖u_w‖ = 0.5: ratio 0.1 * 5 / (0.5 + 0.5) = 0.5.
    np.testing.assert_allclose(out["w"], [0.0, 0.25], rtol=1e-6)
    # A zero layer keeps its update unchanged (ratio 1), so biases can move.
    np.testing.assert_allclose(out["b"], [1.0, 1.0])


def test_min_norm_floors_both_norms():
    params, update = jnp.array([1e-3, 0.0]), jnp.array([0.0, 1e-3])
    tx = jol.scale_by_trust_ratio(min_norm=0.1)
    out, _ = tx.update(update, tx.init(params), params)
    np.testing.assert_allclose(out, update, rtol=1e-6)  # 0.1 / 0.1 = 1


def test_fromage_two_steps_by_hand():
    lr = 0.1
    params = jnp.array([3.0, 4.0])
    grads = [jnp.array([1.0, 0.0]), jnp.array([0.5, 2.0])]
    opt = jol.fromage(lr, min_norm=0.0)
    state = opt.init(params)
    p = np.asarray(params, np.float64)
    for g in grads:
        u, state = opt.update(g, state, params)
        params = optax.apply_updates(params, u)
        g = np.asarray(g, np.float64)
        p = (p - lr * np.linalg.norm(p) / np.linalg.norm(g) * g) / np.sqrt(1 + lr**2)
        np.testing.assert_allclose(params, p, rtol=1e-6)


def test_lars_applies_masks():
    params = {"w": jnp.array([3.0, 4.0]), "b": jnp.array([1.0, 1.0])}
    grads = {"w": jnp.array([1.0, 0.0]), "b": jnp.array([2.0, 0.0])}
    mask = {"w": True, "b": False}
    opt = jol.lars(
        0.1,
        weight_decay=0.5,
        weight_decay_mask=mask,
        trust_coefficient=0.2,
        trust_ratio_mask=mask,
        momentum=0.0,
    )
    u, _ = opt.update(grads, opt.init(params), params)
    d = np.array([1.0, 0.0]) + 0.5 * np.array([3.0, 4.0])
    np.testing.assert_allclose(
        u["w"], -0.1 * 0.2 * 5.0 / np.linalg.norm(d) * d, rtol=1e-6
    )
    np.testing.assert_allclose(u["b"], [-0.2, 0.0], rtol=1e-6)


def test_lamb_moves_each_layer_by_lr_times_its_norm():
    params = {"w": jnp.array([3.0, 4.0]), "v": jnp.array([0.3, -0.4])}
    grads = {"w": jnp.array([1.0, -2.0]), "v": jnp.array([-5.0, 1e-2])}
    opt = jol.lamb(0.01)
    u, _ = opt.update(grads, opt.init(params), params)
    for k in params:
        np.testing.assert_allclose(
            np.linalg.norm(u[k]), 0.01 * np.linalg.norm(params[k]), rtol=1e-5
        )


def test_validation():
    for arg in ("min_norm", "trust_coefficient", "eps"):
        with pytest.raises(
            ValueError, match=rf"scale_by_trust_ratio: `{arg}` must lie"
        ):
            jol.scale_by_trust_ratio(**{arg: -1.0})
    with pytest.raises(ValueError, match="`update` needs the current `params`"):
        tx = jol.scale_by_trust_ratio()
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
    with pytest.raises(ValueError, match=r"fromage: `learning_rate` must lie"):
        jol.fromage(-0.1)
    with pytest.raises(ValueError, match="fromage: `min_norm` must lie"):
        jol.fromage(0.1, min_norm=float("nan"))
    with pytest.raises(TypeError, match="lars: `nesterov` must be True or False"):
        jol.lars(0.1, nesterov=None)
    with pytest.raises(ValueError, match=r"lars: `momentum` must lie in \[0, 1\)"):
        jol.lars(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="lamb: `weight_decay` must"):
        jol.lamb(0.1, weight_decay=-1.0)
