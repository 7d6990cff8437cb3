"""The bundled data sets: shapes, determinism, stratification, standardisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_lessons.problems import datasets


def _arrays(d):
    return [np.asarray(a) for a in (d.x_train, d.y_train, d.x_test, d.y_test)]


@pytest.mark.parametrize(
    "load, n, d, classes",
    [
        (lambda s: datasets.load_digits(s), 1797, 64, 10),
        (lambda s: datasets.load_breast_cancer(False, s), 569, 30, 2),
        (lambda s: datasets.load_diabetes(s), 442, 10, 0),
        (lambda s: datasets.make_circles(s), 600, 2, 2),
    ],
    ids=["digits", "breast_cancer", "diabetes", "circles"],
)
def test_shapes_determinism_and_splits(load, n, d, classes):
    a, b, other = load(0), load(0), load(1)
    x_tr, y_tr, x_te, y_te = _arrays(a)
    assert x_tr.shape[0] + x_te.shape[0] == n
    assert x_tr.shape[1] == x_te.shape[1] == d == a.n_features
    assert x_tr.dtype == np.float32
    assert a.n_classes == classes
    if classes:
        assert y_tr.dtype == np.int32
        assert set(np.unique(y_tr)) == set(range(classes))
        # Stratified: class shares in train and test agree within one sample.
        share_tr = np.bincount(y_tr, minlength=classes) / len(y_tr)
        share_te = np.bincount(y_te, minlength=classes) / len(y_te)
        np.testing.assert_allclose(share_tr, share_te, atol=1.5 / len(y_te) + 0.01)
    for u, v in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(np.asarray(other.x_test), x_te)
    # No sample in both parts.
    train_rows = {r.tobytes() for r in x_tr}
    overlap = sum(r.tobytes() in train_rows for r in x_te)
    assert overlap <= (5 if d == 64 else 0)  # digits has a few duplicate images


def test_digits_scaling_and_subset():
    full = datasets.load_digits(0)
    assert float(full.x_train.min()) == 0.0 and float(full.x_train.max()) == 1.0
    assert full.x_train.shape[0] == 1347 and full.x_val.shape[0] == 0
    small = datasets.load_digits(0, n_train=300)
    assert small.x_train.shape[0] == 300
    assert small.x_val.shape[0] == 1347 - 300
    np.testing.assert_array_equal(small.x_test, full.x_test)  # same test part
    assert set(np.unique(np.asarray(small.y_train))) == set(range(10))


def test_breast_cancer_raw_and_standardized():
    raw = datasets.load_breast_cancer(standardize=False, seed=0)
    means = np.abs(np.asarray(raw.x_train)).mean(0)
    assert means.max() / means.min() > 1e4  # badly scaled, as the lesson needs
    std = datasets.load_breast_cancer(standardize=True, seed=0)
    x = np.asarray(std.x_train)
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-4)
    np.testing.assert_array_equal(raw.y_test, std.y_test)


def test_diabetes_standardized_features_raw_target():
    d = datasets.load_diabetes(0)
    x = np.asarray(d.x_train)
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-4)
    assert d.y_train.dtype == np.float32 and float(d.y_train.max()) > 100


def test_circles_not_linearly_separable():
    from sklearn.linear_model import LogisticRegression

    d = datasets.make_circles(0)
    clf = LogisticRegression().fit(np.asarray(d.x_train), np.asarray(d.y_train))
    assert clf.score(np.asarray(d.x_test), np.asarray(d.y_test)) < 0.7


def test_dataset_is_a_pytree():
    d = datasets.make_circles(0, n=40)
    leaves, treedef = jax.tree.flatten(d)
    assert len(leaves) == 6
    again = jax.tree.unflatten(treedef, leaves)
    assert again.name == "circles" and again.n_classes == 2
    total = jax.jit(lambda ds: ds.x_train.sum() + ds.x_test.sum())(d)
    np.testing.assert_allclose(
        total, np.asarray(d.x_train).sum() + np.asarray(d.x_test).sum(), rtol=1e-5
    )


@pytest.mark.parametrize(
    "call, error, text",
    [
        (lambda: datasets.load_digits(-1), ValueError, "`seed` must be >= 0, got -1"),
        (lambda: datasets.load_digits(0.5), TypeError, "`seed` must be an int"),
        (lambda: datasets.load_digits(0, n_train=5), ValueError, "`n_train` must be"),
        (lambda: datasets.load_digits(0, n_train=2.0), TypeError, "`n_train` must"),
        (lambda: datasets.load_breast_cancer("yes"), TypeError, "`standardize` must"),
        (lambda: datasets.make_circles(0, n=3), ValueError, "`n` must be >= 20"),
        (lambda: datasets.load_diabetes(True), TypeError, "load_diabetes: `seed`"),
    ],
)
def test_invalid_input(call, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(")):
        call()


# The small MLP that the digits and circles lessons train.


def test_mlp_shapes_init_scale_and_accuracy():
    from jaxopt_lessons.problems import mlp

    params = mlp.init(jax.random.PRNGKey(0), (64, 128, 10))
    assert [p["w"].shape for p in params] == [(64, 128), (128, 10)]
    assert mlp.n_params(params) == 64 * 128 + 128 + 128 * 10 + 10
    np.testing.assert_allclose(np.std(params[0]["w"]), np.sqrt(2 / 64), rtol=0.05)
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (32, 64)))
    y = jnp.argmax(jax.jit(mlp.apply)(params, x), axis=-1)
    assert float(jax.jit(mlp.accuracy)(params, x, y)) == 1.0
    # Slope 1 removes the nonlinearity: the net is one linear map.
    lin = jax.jit(mlp.apply)(params, x, 1.0)
    w0, w1 = (np.asarray(p["w"], np.float64) for p in params)
    np.testing.assert_allclose(lin, x @ w0 @ w1, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="mlp.init: `sizes` must"):
        mlp.init(jax.random.PRNGKey(0), (64,))


@jax.jit
def _all_gradients(params, x, y, slope):
    from jaxopt_lessons.problems import mlp

    return {
        "ours": mlp.backprop(params, x, y, slope),
        "ref": jax.value_and_grad(mlp.loss)(params, x, y, slope),
        "flipped": mlp.backprop(params, x, y, slope, sign=-1.0)[1],
        "slip": mlp.backprop(params, x, y, slope, first_layer_sign=-1.0)[1],
        "forgot": mlp.backprop(params, x, y, slope, relu_derivative=0.0)[1],
    }


@pytest.mark.parametrize("slope", [0.0, 0.3])
def test_mlp_backprop_equals_jax_grad_and_bugs_differ(slope):
    from jaxopt_lessons.problems import mlp

    params = mlp.init(jax.random.PRNGKey(0), (5, 7, 6, 3))
    x = jax.random.normal(jax.random.PRNGKey(1), (16, 5))
    y = jax.random.randint(jax.random.PRNGKey(2), (16,), 0, 3)
    out = _all_gradients(params, x, y, slope)
    (value, grads), (ref_value, ref) = out["ours"], out["ref"]
    np.testing.assert_allclose(value, ref_value, rtol=1e-6)
    for g, r in zip(jax.tree.leaves(grads), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)
    for g, r in zip(jax.tree.leaves(out["flipped"]), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(g, -r, rtol=1e-4, atol=1e-6)
    slip, forgot = out["slip"], out["forgot"]
    np.testing.assert_allclose(slip[0]["w"], -ref[0]["w"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(slip[2]["w"], ref[2]["w"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(forgot[2]["w"], ref[2]["w"], rtol=1e-4, atol=1e-6)
    assert not np.allclose(forgot[0]["w"], ref[0]["w"], rtol=1e-2)


def test_mlp_fit_same_batches_for_every_optimizer():
    import optax

    from jaxopt_lessons.problems import mlp

    d = datasets.make_circles(0, n=200)
    params = mlp.init(jax.random.PRNGKey(0), (2, 16, 2))
    key = jax.random.PRNGKey(3)

    @jax.jit
    def both(params, x, y, key):
        _, trained = mlp.fit(optax.adam(1e-2), params, x, y, key, 200, 32)
        _, frozen = mlp.fit(optax.sgd(0.0), params, x, y, key, 200, 32)
        idx = jax.random.randint(key, (200, 32), 0, x.shape[0])
        return trained, frozen, mlp.loss(params, x[idx[7]], y[idx[7]])

    losses, zero, loss7 = both(params, d.x_train, d.y_train, key)
    assert losses.shape == (200,)
    assert float(losses[-20:].mean()) < 0.5 * float(losses[:5].mean())
    # lr 0: the losses are those of the initial params on the same batches.
    np.testing.assert_allclose(zero[7], loss7, rtol=1e-5)


def test_mlp_fit_returns_the_final_state_on_request():
    import optax

    from jaxopt_lessons.problems import mlp

    d = datasets.make_circles(0, n=200)
    params = mlp.init(jax.random.PRNGKey(0), (2, 8, 2))
    key = jax.random.PRNGKey(1)
    opt = optax.adam(1e-2)
    p1, l1 = mlp.fit(opt, params, d.x_train, d.y_train, key, 30, 16)
    p2, l2, state = mlp.fit(
        opt, params, d.x_train, d.y_train, key, 30, 16, return_state=True
    )
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(p1[0]["w"], p2[0]["w"])
    assert int(state[0].count) == 30  # Adam's step count after 30 updates
