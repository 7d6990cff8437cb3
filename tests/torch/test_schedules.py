"""torch's LR schedulers as schedules: every step against torch running.

torch's side is a real `torch.optim.SGD` with the scheduler attached, stepped
as a training loop steps it (``optimizer.step()`` then ``scheduler.step()``);
the lr of step t is ``param_groups[0]["lr"]`` after t scheduler steps. Ours is
the schedule at ``count = t``, jitted and vmapped over all counts, in float64.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
import jaxopt_lessons.torch as tt
from tests.torch import harness

# Largest |ours − torch| allowed, relative to the schedule's largest lr. The
# recursive products torch forms (γ·γ·…, ratios of cosines) round once per
# step; ours are closed expressions of the same numbers. Measured over these
# cases: at most 1.2e-14 of the lr (ExponentialLR over 4000 steps).
TOL = 1e-13


def _torch():
    return pytest.importorskip(
        "torch",
        reason="comparing with torch's schedulers needs torch (pip install torch==2.13.0)",
    )


def torch_lrs(torch, make, steps, lr=0.1):
    """The lr of steps 0 … `steps` from `make(optimizer)`, stepped after each
    optimizer step."""
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=lr)
    scheduler = make(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        out.append(opt.param_groups[0]["lr"])
    return np.asarray(out, np.float64), scheduler


def ours(schedule, steps):
    with jax.enable_x64(True):
        return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps + 1)))


# (id, ours, torch class, torch kwargs, steps). The optimizer's lr is 0.1.
CASES = [
    ("step", lambda: tt.step_lr(0.1, 30), "StepLR", {"step_size": 30}, 1000),
    (
        "step_halving",
        lambda: tt.step_lr(0.1, 7, gamma=0.5),
        "StepLR",
        {"step_size": 7, "gamma": 0.5},
        2000,
    ),
    (
        "multistep_defaults",
        lambda: tt.multi_step_lr(0.1, [100, 200]),
        "MultiStepLR",
        {"milestones": [100, 200]},
        1000,
    ),
    (
        "multistep_repeated_unsorted_zero",
        lambda: tt.multi_step_lr(0.1, [300, 80, 80, 0, 1500], gamma=0.3),
        "MultiStepLR",
        {"milestones": [300, 80, 80, 0, 1500], "gamma": 0.3},
        2000,
    ),
    (
        "exponential",
        lambda: tt.exponential_lr(0.1, 0.999),
        "ExponentialLR",
        {"gamma": 0.999},
        4000,
    ),
    (
        "exponential_fast",
        lambda: tt.exponential_lr(0.1, 0.95),
        "ExponentialLR",
        {"gamma": 0.95},
        4000,
    ),
    (
        "cosine",
        lambda: tt.cosine_annealing_lr(0.1, 300),
        "CosineAnnealingLR",
        {"T_max": 300},
        4000,
    ),
    (
        "cosine_eta_min",
        lambda: tt.cosine_annealing_lr(0.1, 1000, eta_min=1e-4),
        "CosineAnnealingLR",
        {"T_max": 1000, "eta_min": 1e-4},
        4000,
    ),
    (
        # 1 + cos(π (T+1)/T) and 1 − cos(π/T) differ most for this T < 2000.
        "cosine_past_t_max",
        lambda: tt.cosine_annealing_lr(0.1, 1984),
        "CosineAnnealingLR",
        {"T_max": 1984},
        6000,
    ),
    (
        "cosine_t_max_1",
        lambda: tt.cosine_annealing_lr(0.1, 1, eta_min=0.01),
        "CosineAnnealingLR",
        {"T_max": 1, "eta_min": 0.01},
        100,
    ),
    (
        "cosine_short",
        lambda: tt.cosine_annealing_lr(0.1, 7, eta_min=0.01),
        "CosineAnnealingLR",
        {"T_max": 7, "eta_min": 0.01},
        1000,
    ),
    ("linear_defaults", lambda: tt.linear_lr(0.1), "LinearLR", {}, 1000),
    (
        "linear_warmup",
        lambda: tt.linear_lr(0.1, 0.25, 1.0, 500),
        "LinearLR",
        {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 500},
        3000,
    ),
    (
        "linear_decay_to_zero",
        lambda: tt.linear_lr(0.1, 1.0, 0.0, 777),
        "LinearLR",
        {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 777},
        3000,
    ),
    (
        "onecycle_defaults",
        lambda: tt.one_cycle_lr(0.5, total_steps=3000),
        "OneCycleLR",
        {"max_lr": 0.5, "total_steps": 3000},
        3000,
    ),
    (
        "onecycle_linear",
        lambda: tt.one_cycle_lr(0.5, 1000, anneal_strategy="linear"),
        "OneCycleLR",
        {"max_lr": 0.5, "total_steps": 1000, "anneal_strategy": "linear"},
        1000,
    ),
    (
        "onecycle_three_phase_epochs",
        lambda: tt.one_cycle_lr(
            0.5,
            epochs=10,
            steps_per_epoch=123,
            pct_start=0.25,
            div_factor=10.0,
            final_div_factor=100.0,
            three_phase=True,
        ),
        "OneCycleLR",
        {
            "max_lr": 0.5,
            "epochs": 10,
            "steps_per_epoch": 123,
            "pct_start": 0.25,
            "div_factor": 10.0,
            "final_div_factor": 100.0,
            "three_phase": True,
        },
        1230,
    ),
    (
        "onecycle_three_phase_linear_no_warmup",
        lambda: tt.one_cycle_lr(
            0.5, 1000, pct_start=0.0, anneal_strategy="linear", three_phase=True
        ),
        "OneCycleLR",
        {
            "max_lr": 0.5,
            "total_steps": 1000,
            "pct_start": 0.0,
            "anneal_strategy": "linear",
            "three_phase": True,
        },
        1000,
    ),
]


@pytest.mark.parametrize(
    "make_ours, name, kwargs, steps",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_equals_torch_at_every_step(make_ours, name, kwargs, steps):
    torch = _torch()
    cls = getattr(torch.optim.lr_scheduler, name)
    want, _ = torch_lrs(torch, lambda opt: cls(opt, **kwargs), steps)
    got = ours(make_ours(), steps)
    assert got.dtype == np.float64
    scale = np.max(np.abs(want))
    err = np.max(np.abs(got - want))
    assert err <= TOL * scale, (
        f"{name}{kwargs}: max |ours − torch| = {err:.3g} over {steps} steps, "
        f"more than {TOL} × {scale:g}"
    )


def test_cosine_follows_torchs_recursion_not_its_closed_form():
    """Past T_max torch's step() restarts from (1 − cos(π/T))/2 and scales by
    ratios of 1 + cos(πt/T); its own closed form (used by the deprecated
    step(epoch)) drifts from that by ~1e-10 relative at T = 1984. Ours stays on
    the recursion."""
    torch = _torch()
    T, steps = 1984, 6000
    want, scheduler = torch_lrs(
        torch, lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T), steps
    )
    closed = []
    for t in range(steps + 1):  # torch's closed form, as step(epoch) uses it
        scheduler.last_epoch = t
        closed.append(scheduler._get_closed_form_lr()[0])
    closed = np.asarray(closed)
    got = ours(tt.cosine_annealing_lr(0.1, T), steps)
    first, later = slice(0, T + 1), slice(T + 1, None)
    # Up to T_max the forms agree; after it the closed form is off …
    assert np.max(np.abs(closed[first] - want[first])) <= TOL * 0.1
    assert np.max(np.abs(closed[later] - want[later])) > 100 * TOL * 0.1
    # … and ours is not.
    assert np.max(np.abs(got - want)) <= TOL * 0.1


def test_multistep_negative_milestone_is_refused_where_torch_forms_disagree():
    torch = _torch()
    make = lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, [-5, 10])  # noqa: E731
    stepped, scheduler = torch_lrs(torch, make, 20)
    scheduler.last_epoch = 0
    closed_at_0 = scheduler._get_closed_form_lr()[0]
    assert stepped[0] == 0.1 and closed_at_0 == pytest.approx(0.01)  # torch disagrees
    with pytest.raises(ValueError, match=r"`milestones\[0\]` must be an integer >= 0"):
        tt.multi_step_lr(0.1, [-5, 10])


def test_one_cycle_past_the_end_keeps_torchs_last_value():
    torch = _torch()
    n = 50
    want, scheduler = torch_lrs(
        torch, lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, 0.5, n), n
    )
    with pytest.raises(ValueError, match="Tried to step"):  # torch stops here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler.step()
    got = ours(tt.one_cycle_lr(0.5, n), n + 10)
    np.testing.assert_allclose(got[: n + 1], want, rtol=1e-14)
    assert np.all(got[n:] == got[n])


def test_one_cycle_zero_length_phase_is_refused_where_torch_divides_by_zero():
    torch = _torch()
    make = lambda opt: torch.optim.lr_scheduler.OneCycleLR(  # noqa: E731
        opt, 0.5, total_steps=10, pct_start=0.1
    )
    with pytest.raises(ZeroDivisionError):
        torch_lrs(torch, make, 10)
    with pytest.raises(ValueError, match="phase 1 of the cycle must have steps"):
        tt.one_cycle_lr(0.5, total_steps=10, pct_start=0.1)


# torch arguments with no counterpart: the optimizer (ours takes its `lr`),
# `last_epoch` (the count is in the optimizer state), OneCycleLR's momentum.
NOT_TAKEN = {
    "self",
    "optimizer",
    "last_epoch",
    "cycle_momentum",
    "base_momentum",
    "max_momentum",
}
TORCH_CLASSES = {
    "step_lr": "StepLR",
    "multi_step_lr": "MultiStepLR",
    "exponential_lr": "ExponentialLR",
    "cosine_annealing_lr": "CosineAnnealingLR",
    "linear_lr": "LinearLR",
    "one_cycle_lr": "OneCycleLR",
}


def test_every_schedule_is_listed():
    assert set(tt.SCHEDULES) == set(TORCH_CLASSES)
    assert not set(tt.SCHEDULES) & set(tt.PRESETS)


@pytest.mark.parametrize("fn", sorted(TORCH_CLASSES))
def test_signature_is_torchs(fn):
    torch = _torch()
    cls = getattr(torch.optim.lr_scheduler, TORCH_CLASSES[fn])
    want = [
        (p.name, p.default)
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name not in NOT_TAKEN
    ]
    got = [
        (p.name, p.default)
        for p in inspect.signature(getattr(tt, fn)).parameters.values()
    ]
    if fn != "one_cycle_lr":  # the optimizer's lr comes first
        assert got[0] == ("lr", inspect.Parameter.empty)
        got = got[1:]
    assert got == want


def test_float32_without_x64():
    torch = _torch()
    want, _ = torch_lrs(
        torch, lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, 100), 300
    )
    got = jax.jit(jax.vmap(tt.cosine_annealing_lr(0.1, 100)))(jnp.arange(301))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-7)


def test_eager_scalar_counts():
    with jax.enable_x64(True):
        schedule = tt.step_lr(0.1, 3, gamma=0.5)
        assert [float(schedule(t)) for t in range(7)] == [0.1] * 3 + [0.05] * 3 + [
            0.025
        ]


def test_inside_inject_hyperparams():
    """The schedule as `learning_rate=` of an optimizer wrapped in
    `optax.inject_hyperparams`: the lr of every step is torch's."""
    torch = _torch()
    steps = 60
    want, _ = torch_lrs(
        torch, lambda opt: torch.optim.lr_scheduler.StepLR(opt, 7, 0.5), steps
    )
    with jax.enable_x64(True):
        opt = optax.inject_hyperparams(jol.sgd)(learning_rate=tt.step_lr(0.1, 7, 0.5))
        params = jnp.zeros(3)
        state = opt.init(params)

        @jax.jit
        def step(params, state):
            updates, state = opt.update(jnp.ones(3), state, params)
            return optax.apply_updates(params, updates), state

        used = []
        for _ in range(steps):
            params, state = step(params, state)
            used.append(float(state.hyperparams["learning_rate"]))
    np.testing.assert_allclose(used, want[:steps], rtol=1e-15)
    # sgd(lr_t) moves each coordinate by −lr_t per step: the sum of torch's lrs.
    np.testing.assert_allclose(np.asarray(params), -want[:steps].sum(), rtol=1e-13)


@pytest.mark.parametrize(
    "preset, torch_name, kwargs, scheduler_name, scheduler_kwargs",
    [
        (
            lambda: tt.sgd(lr=tt.step_lr(0.05, 13, 0.5), momentum=0.9),
            "SGD",
            {"lr": 0.05, "momentum": 0.9},
            "StepLR",
            {"step_size": 13, "gamma": 0.5},
        ),
        (
            lambda: tt.adam(lr=tt.cosine_annealing_lr(1e-2, 30, eta_min=1e-4)),
            "Adam",
            {"lr": 1e-2},
            "CosineAnnealingLR",
            {"T_max": 30, "eta_min": 1e-4},
        ),
        (
            lambda: tt.adamw(lr=tt.one_cycle_lr(1e-2, 100)),
            "AdamW",
            {"lr": 1e-2},
            "OneCycleLR",
            # The momentum cycle changes β₁, which the preset keeps fixed.
            {"max_lr": 1e-2, "total_steps": 100, "cycle_momentum": False},
        ),
        (
            lambda: tt.rmsprop(lr=tt.linear_lr(1e-2, 0.1, 1.0, 40), momentum=0.5),
            "RMSprop",
            {"lr": 1e-2, "momentum": 0.5},
            "LinearLR",
            {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 40},
        ),
    ],
    ids=["sgd_step", "adam_cosine", "adamw_onecycle", "rmsprop_linear"],
)
def test_presets_with_schedules_follow_torch(
    x64, preset, torch_name, kwargs, scheduler_name, scheduler_kwargs
):
    torch = _torch()
    cls = getattr(torch.optim.lr_scheduler, scheduler_name)
    harness.assert_matches_torch(
        torch,
        preset(),
        torch_name,
        kwargs,
        harness.small_params(jnp.float64),
        scheduler=lambda opt: cls(opt, **scheduler_kwargs),
    )


BAD = [
    (
        lambda: tt.step_lr(0.1, 0),
        ValueError,
        "step_lr",
        "step_size",
        "be a positive integer",
    ),
    (lambda: tt.step_lr(0.1, 2.5), TypeError, "step_lr", "step_size", "be an integer"),
    (lambda: tt.step_lr(0.1, True), TypeError, "step_lr", "step_size", "be an integer"),
    (lambda: tt.step_lr(-0.1, 3), ValueError, "step_lr", "lr", r"lie in \[0, inf\)"),
    (lambda: tt.step_lr(0.1, 3, gamma=-1.0), ValueError, "step_lr", "gamma", "lie in"),
    (
        lambda: tt.multi_step_lr(0.1, [10, -1]),
        ValueError,
        "multi_step_lr",
        r"milestones\[1\]",
        "be an integer >= 0",
    ),
    (
        lambda: tt.multi_step_lr(0.1, 10),
        TypeError,
        "multi_step_lr",
        "milestones",
        "be a list",
    ),
    (
        lambda: tt.exponential_lr(0.1, math.nan),
        ValueError,
        "exponential_lr",
        "gamma",
        "lie in",
    ),
    (
        lambda: tt.cosine_annealing_lr(0.1, 0),
        ValueError,
        "cosine_annealing_lr",
        "T_max",
        "be a positive integer",
    ),
    (
        lambda: tt.cosine_annealing_lr(0.1, 10, eta_min=-1e-3),
        ValueError,
        "cosine_annealing_lr",
        "eta_min",
        "lie in",
    ),
    (
        lambda: tt.linear_lr(0.1, start_factor=0.0),
        ValueError,
        "linear_lr",
        "start_factor",
        r"lie in \(0, 1\]",
    ),
    (
        lambda: tt.linear_lr(0.1, end_factor=1.5),
        ValueError,
        "linear_lr",
        "end_factor",
        r"lie in \[0, 1\]",
    ),
    (
        lambda: tt.linear_lr(0.1, total_iters=0),
        ValueError,
        "linear_lr",
        "total_iters",
        "be a positive integer",
    ),
    (
        lambda: tt.one_cycle_lr(0.1),
        ValueError,
        "one_cycle_lr",
        "total_steps",
        "be given",
    ),
    (
        lambda: tt.one_cycle_lr(0.1, total_steps=0),
        ValueError,
        "one_cycle_lr",
        "total_steps",
        "be a positive integer",
    ),
    (
        lambda: tt.one_cycle_lr(0.1, epochs=2, steps_per_epoch=0),
        ValueError,
        "one_cycle_lr",
        "steps_per_epoch",
        "be a positive integer",
    ),
    (
        lambda: tt.one_cycle_lr(0.1, 100, pct_start=1.5),
        ValueError,
        "one_cycle_lr",
        "pct_start",
        r"lie in \[0, 1\]",
    ),
    (
        lambda: tt.one_cycle_lr(0.1, 100, anneal_strategy="cosine"),
        ValueError,
        "one_cycle_lr",
        "anneal_strategy",
        "be 'cos' or 'linear'",
    ),
    (
        lambda: tt.one_cycle_lr(0.1, 100, div_factor=0.0),
        ValueError,
        "one_cycle_lr",
        "div_factor",
        "be positive",
    ),
    (
        lambda: tt.one_cycle_lr(0.1, 100, three_phase=1),
        TypeError,
        "one_cycle_lr",
        "three_phase",
        "",
    ),
]


@pytest.mark.parametrize("make, error, fn, arg, rule", BAD)
def test_bad_arguments_are_refused_with_a_clear_message(make, error, fn, arg, rule):
    with pytest.raises(error) as info:
        make()
    message = str(info.value)
    pattern = rf"^jaxopt_lessons\.torch\.{fn}: `{arg}` must {rule}.*, got .+\.$"
    assert re.match(pattern, message, re.DOTALL), message
