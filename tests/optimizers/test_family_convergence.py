"""Each optimizer of the family solves Optax's two convergence problems.

The problems and the criterion are Optax's own (optax/_src/alias_test.py): a
parabola and the Rosenbrock function, 10,000 jitted float32 steps from a fixed
start, then every coordinate within rtol = atol = 3e-2 of the minimiser. The
hyperparameters are Optax's where it gives them; sign_sgd and signum need a
decaying learning rate to settle in Rosenbrock's curved valley (Optax skips
that case). adadelta with its default (no learning rate) also solves the
parabola here, where Optax 0.2.8 climbs; like Optax, we do not expect it to
cross Rosenbrock's valley in 10,000 steps (measured: it reaches (0.56, 0.41)).
"""

import jax
import optax
import pytest

import jaxopt_lessons as jol
from tests.optimizers import _family

DECAY = optax.exponential_decay(0.01, transition_steps=1000, decay_rate=0.5)

SETTINGS = {
    "adabelief": lambda: jol.adabelief(1e-2),
    "adadelta": lambda: jol.adadelta(0.1),
    "adafactor": lambda: jol.adafactor(5e-3),
    "adan": lambda: jol.adan(1e-1),
    "fromage": lambda: jol.fromage(5e-3),
    "lamb": lambda: jol.lamb(1e-3),
    "lars": lambda: jol.lars(1.0),
    "lion": lambda: jol.lion(1e-2, weight_decay=1e-4),
    "noisy_sgd": lambda: jol.noisy_sgd(1e-3, eta=1e-4, key=0),
    "novograd": lambda: jol.novograd(1e-3),
    "optimistic_adam_v2": lambda: jol.optimistic_adam_v2(2e-3),
    "optimistic_gradient_descent": lambda: jol.optimistic_gradient_descent(
        2e-3, alpha=0.7, beta=0.1
    ),
    "polyak_sgd": lambda: jol.polyak_sgd(max_learning_rate=1.0),
    "radam": lambda: jol.radam(5e-3),
    "rprop": lambda: jol.rprop(1e-1),
    "sign_sgd": lambda: jol.sign_sgd(DECAY),
    "signum": lambda: jol.signum(DECAY),
    "sm3": lambda: jol.sm3(1.0),
    "yogi": lambda: jol.yogi(1e-1),
}


@pytest.mark.parametrize("problem", ["parabola", "rosenbrock"])
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_solves(name, problem):
    _family.assert_solves(
        SETTINGS[name](), problem, pass_value=name.startswith("polyak")
    )


def test_adadelta_without_learning_rate_solves_the_parabola():
    _family.assert_solves(jol.adadelta(), "parabola")


def test_every_optimizer_of_the_family_is_tried():
    family = set(SETTINGS)
    assert {"fromage", "lamb", "lars", "sm3", "rprop", "adadelta"} <= family
    assert len(family) == 19
    assert all(callable(getattr(jol, name)) for name in family)
    assert jax.devices()
