"""A small multilayer perceptron in plain JAX, for the lessons' classifiers.

The parameters are a tuple of layers, each a dict ``{"w": (n_in, n_out),
"b": (n_out,)}``; the hidden layers use a leaky ReLU whose negative slope is
an ordinary (traceable) argument, so one compiled program can train both a
ReLU network (``slope=0``) and the same network with its nonlinearity removed
(``slope=1``: every layer linear, so the whole net is one linear map).

- `init(key, sizes)`: He-normal weights, std √(2 / n_in) (He, Zhang, Ren,
  Sun, "Delving Deep into Rectifiers", ICCV 2015), zero biases.
- `apply(params, x, slope)`: the logits.
- `loss(params, x, y, slope)`: mean softmax cross-entropy against integer
  labels.
- `accuracy(params, x, y, slope)`: share of correct arg-max predictions.
- `backprop(params, x, y, slope, ...)`: the same gradient as `jax.grad(loss)`
  written out by hand (the chain rule layer by layer), with switches that
  plant the classic backprop bugs, for the "wrong gradients" lesson.
- `fit(optimizer, params, x, y, key, steps, batch_size, grad_fn)`: minibatch
  training as one `lax.scan`, for use inside `jit`/`vmap`; the batches are
  drawn from `key` only, so every optimizer and learning rate sees the same
  sequence of batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import optax

__all__ = ["accuracy", "apply", "backprop", "fit", "init", "loss", "n_params"]


def init(key: jax.Array, sizes: Sequence[int] = (64, 64, 10)) -> tuple[dict, ...]:
    """He-normal weights and zero biases for layer sizes ``(n_in, ..., n_out)``.

    Raises:
        ValueError: fewer than two sizes, or a size < 1.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"mlp.init: `sizes` must hold at least two sizes >= 1, got {sizes}."
        )
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(
        {
            "w": jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in),
            "b": jnp.zeros((n_out,)),
        }
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    )


def n_params(params: Sequence[dict]) -> int:
    """Number of scalar parameters."""
    return sum(int(a.size) for a in jax.tree.leaves(params))


def _leaky_relu(z: jax.Array, slope) -> jax.Array:
    return jnp.where(z > 0, z, slope * z)


def apply(params: Sequence[dict], x: jax.Array, slope=0.0) -> jax.Array:
    """The logits; hidden layers use max(z, 0) (slope 0) or z (slope 1)."""
    h = x
    for layer in params[:-1]:
        h = _leaky_relu(h @ layer["w"] + layer["b"], slope)
    return h @ params[-1]["w"] + params[-1]["b"]


def loss(params: Sequence[dict], x: jax.Array, y: jax.Array, slope=0.0) -> jax.Array:
    """Mean softmax cross-entropy of the logits against integer labels `y`."""
    logits = apply(params, x, slope)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def accuracy(
    params: Sequence[dict], x: jax.Array, y: jax.Array, slope=0.0
) -> jax.Array:
    """Share of samples whose arg-max logit is the label."""
    return jnp.mean(jnp.argmax(apply(params, x, slope), axis=-1) == y)


def backprop(
    params: Sequence[dict],
    x: jax.Array,
    y: jax.Array,
    slope=0.0,
    *,
    sign=1.0,
    first_layer_sign=1.0,
    relu_derivative=1.0,
):
    """`loss` and its gradient by the chain rule, with switchable bugs.

    The backward pass: δ = (softmax(logits) − onehot(y)) / n at the output;
    for each layer, ∂w = hᵀδ and ∂b = Σδ over the batch, then
    δ ← (δ wᵀ) · σ'(z) for the layer below, where σ' is 1 where z > 0 and
    `slope` elsewhere.

    Every switch is a number, so it can be traced and vmapped; the defaults
    give the correct gradient (equal to `jax.grad(loss)` up to float32
    rounding).

    Args:
        params, x, y, slope: as for `loss`.
        sign: multiplies every gradient; -1 is the classic sign bug (the
            optimizer then climbs the loss).
        first_layer_sign: multiplies the first layer's gradients only.
        relu_derivative: 1 uses σ'(z); 0 forgets it (treats every unit as
            active, σ' = 1), a bug that can stay silent; values in between
            blend the two.

    Returns:
        ``(loss, grads)`` with grads shaped like `params`.
    """
    hs, zs = [x], []
    for layer in params[:-1]:
        z = hs[-1] @ layer["w"] + layer["b"]
        zs.append(z)
        hs.append(_leaky_relu(z, slope))
    logits = hs[-1] @ params[-1]["w"] + params[-1]["b"]
    value = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    onehot = jax.nn.one_hot(y, logits.shape[-1], dtype=logits.dtype)
    delta = (jax.nn.softmax(logits) - onehot) / x.shape[0]
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        grads[i] = {"w": hs[i].T @ delta, "b": delta.sum(0)}
        if i > 0:
            true_derivative = jnp.where(zs[i - 1] > 0, 1.0, slope)
            derivative = relu_derivative * true_derivative + (1 - relu_derivative)
            delta = (delta @ params[i]["w"].T) * derivative
    grads[0] = jax.tree.map(lambda g: first_layer_sign * g, grads[0])
    grads = jax.tree.map(lambda g: sign * g, tuple(grads))
    return value, grads


def fit(
    optimizer: optax.GradientTransformation,
    params: Sequence[dict],
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    steps: int,
    batch_size: int,
    grad_fn: Callable | None = None,
    n_samples=None,
    *,
    return_state: bool = False,
):
    """Trains with minibatches drawn (with replacement) from `key`.

    Args:
        optimizer: any Optax-compatible transform.
        params: the starting parameters.
        x, y: training features and integer labels.
        key: PRNG key for the batch indices (the same key gives the same
            batches whatever the optimizer).
        steps: number of updates (static).
        batch_size: samples per update (static).
        grad_fn: ``grad_fn(params, xb, yb) -> (loss, grads)``; defaults to
            ``jax.value_and_grad(loss)``. Pass a hand-written backward pass
            (or a deliberately broken one) here.
        n_samples: draw batches from the first `n_samples` rows only (may be
            traced, so padded data sets of different sizes share one
            compiled program); defaults to all rows.
        return_state: also return the optimizer's final state (to read what
            an optimizer estimated during the run, e.g. its step size).

    Returns:
        ``(params, losses)``: the final parameters and the minibatch loss
        before each update, shape ``(steps,)``; with `return_state`,
        ``(params, losses, state)``.
    """
    if grad_fn is None:
        grad_fn = jax.value_and_grad(loss)
    n = x.shape[0] if n_samples is None else n_samples
    idx = jax.random.randint(key, (steps, batch_size), 0, n)

    def step(carry, batch):
        p, state = carry
        value, g = grad_fn(p, x[batch], y[batch])
        updates, state = optimizer.update(g, state, p)
        return (optax.apply_updates(p, updates), state), value

    (params, state), losses = jax.lax.scan(step, (params, optimizer.init(params)), idx)
    return (params, losses, state) if return_state else (params, losses)
