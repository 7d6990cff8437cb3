"""Notebook 01, what plain SGD struggles with: a ravine, noise, uneven scales.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_PROBLEMS, code, md

CELLS = [
    md("""
# 1. What plain SGD struggles with

The update `w ← w − lr · g` uses one number, the learning rate, for every
direction and every step. This notebook measures three situations where that is
not enough, each with a problem from `jaxopt_lessons.problems`:

1. **a ravine**: steep walls, a shallow floor: GD bounces between the walls;
2. **noisy gradients**: with a constant step the iterate never settles;
3. **uneven scales**: one coordinate's gradient is 1000× another's, and the
   shallow one barely moves.

Each section states a claim, runs an experiment, prints the number, and plots it.
"""),
    code(SETUP_PROBLEMS),
    md("""
## 1.1 The ravine: bouncing between the walls

**Claim.** On f(x) = ½ xᵀAx with condition number κ = L/μ, gradient descent at
its best fixed step 2/(L+μ) overshoots the steep direction on *every* step,
and shrinks the error only by (κ−1)/(κ+1) per step, so it needs about κ steps.

**Experiment.** A 2-D ravine with κ = 100, GD wrapped in `diagnostics.diagnose`,
which records the share of coordinates whose update flips sign each step (the
zig-zag index).
"""),
    code("""
ravine = problems.make_ravine(kappa=100.0, dim=2, rotated=False, x0=jnp.array([-1.0, 0.5]))
lr = ravine.gd_step_size()
path, stats = diagnostics.run(jol.sgd(lr), ravine.grad, ravine.x0, 500)
error = np.linalg.norm(np.asarray(path), axis=1) / np.linalg.norm(ravine.x0)
steps = int(np.argmax(error < 1e-3)) + 1
closed_form = int(np.ceil(np.log(1e3) / np.log(101 / 99)))
print(f"steps to cut the error 1000x: {steps} (closed form ceil(ln 1e3 / ln(101/99)) = {closed_form})")
print(f"zig-zag index over those steps: {np.nanmean(stats.zigzag[1:steps]):.2f}")
"""),
    md("""
Along the steep axis the update flips sign on every step while the shallow
coordinate creeps: half the coordinates flip, so the index is 0.5, and the steep
one flips 100 % of the time.
"""),
    code("""
fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
ax[0].plot(np.asarray(path)[:60, 1], "-o", ms=3)
ax[0].axhline(0, color="k", lw=0.5)
ax[0].set(xlabel="step", ylabel="steep coordinate x₂", title="GD on a κ = 100 ravine: zig-zag")
ax[1].semilogy(error)
ax[1].axhline(1e-3, color="k", ls=":", label="target 1e-3")
ax[1].set(xlabel="step", ylabel="‖x‖ / ‖x₀‖", title="slow progress along the floor")
ax[1].legend()
fig.tight_layout()
"""),
    md("""
## 1.2 Noise: a floor instead of a minimum

**Claim.** With noisy gradients g = ∇f + σξ and a constant learning rate, SGD
does not converge: it hovers at a loss floor that grows with the learning rate.
For the quadratic the floor has an exact value (a discrete Lyapunov equation),
`NoisyQuadratic.stationary_loss`.

**Experiment.** 32 independent noise streams (σ = 0.5), 3000 steps of SGD at
two learning rates; the floor is the mean loss over the second half.
"""),
    code("""
noisy = problems.make_noisy_quadratic(kappa=10.0, dim=10, sigma=0.5, key=0)


@jax.jit
def sgd_losses(lr, keys):
    opt = jol.sgd(lr)  # built inside: lr is an argument, one compilation

    def one_stream(stream_keys):
        def step(carry, key):
            x, state = carry
            u, state = opt.update(noisy.noisy_grad(x, key), state, x)
            return (jol.apply_updates(x, u), state), noisy.loss(x)

        return jax.lax.scan(step, (noisy.x0, opt.init(noisy.x0)), stream_keys)[1]

    return jax.vmap(one_stream)(keys)


keys = jax.random.split(jax.random.key(0), (32, 3000))
curves = {lr: np.asarray(sgd_losses(lr, keys)) for lr in (0.05, 0.5)}
for lr, c in curves.items():
    print(f"lr {lr}: floor {c[:, 1500:].mean():.4f}   exact {noisy.stationary_loss(lr):.4f}")
"""),
    code("""
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for lr, c in curves.items():
    line, = ax.semilogy(c.mean(0), lw=0.8, label=f"SGD lr {lr}")
    ax.axhline(noisy.stationary_loss(lr), color=line.get_color(), ls=":", label=f"exact floor, lr {lr}")
ax.set(xlabel="step", ylabel="E f(x) over 32 streams", title="Noise sets a floor that grows with lr")
ax.legend(fontsize=8)
fig.tight_layout()
"""),
    md("""
A ten times larger step reaches the floor sooner but sits on a floor about ten
times higher: with a constant step, speed and final accuracy pull against each
other.

## 1.3 Uneven scales: the steepest coordinate sets the pace

**Claim.** On f = ½(1000 x₁² + x₂²), SGD is unstable for lr > 2/1000, so the
shallow coordinate x₂ moves by at most 0.2 % of itself per step.

**Experiment.** SGD just below and just above the limit, 200 steps from (1, 1).
"""),
    code("""
bowl = problems.make_scaled_bowl((1000.0, 1.0))
for lr in (1.9e-3, 2.1e-3):
    path, stats = diagnostics.run(jol.sgd(lr), bowl.grad, bowl.x0, 200)
    x = np.asarray(path[-1])
    print(f"lr {lr}: x after 200 steps = {x},  shallow progress 1 − |x₂|/|x₂,0| = {1 - abs(x[1]):.3f}")
print("effective learning rates differ by log10 spread:", float(stats.step_spread_log10[0]), "(one lr for all)")
"""),
    md("""
Just below the limit the shallow coordinate has covered only 32 % of its way
after 200 steps (exactly 1 − (1 − 0.0019)²⁰⁰); just above it the steep
coordinate blows up. The next two notebooks measure what momentum
(`02_momentum`) and per-coordinate scaling (`03_rmsprop`) do about these three
weaknesses, and where they do not help.
"""),
]
