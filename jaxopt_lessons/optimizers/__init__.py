"""The optimizers: short chains of the blocks in `jaxopt_lessons.transforms`."""

from jaxopt_lessons.optimizers.adadelta import adadelta
from jaxopt_lessons.optimizers.adagrad import adagrad
from jaxopt_lessons.optimizers.adam import adam, adamw, amsgrad, nadam, nadamw
from jaxopt_lessons.optimizers.adamax import adamax, adamaxw
from jaxopt_lessons.optimizers.adan import adan
from jaxopt_lessons.optimizers.belief import adabelief
from jaxopt_lessons.optimizers.factored import adafactor
from jaxopt_lessons.optimizers.lbfgs import lbfgs
from jaxopt_lessons.optimizers.lion import lion
from jaxopt_lessons.optimizers.noise import noisy_sgd
from jaxopt_lessons.optimizers.novograd import novograd
from jaxopt_lessons.optimizers.optimistic import (
    optimistic_adam_v2,
    optimistic_gradient_descent,
)
from jaxopt_lessons.optimizers.polyak import polyak_sgd
from jaxopt_lessons.optimizers.radam import radam
from jaxopt_lessons.optimizers.rmsprop import rmsprop
from jaxopt_lessons.optimizers.rprop import rprop
from jaxopt_lessons.optimizers.sgd import sgd
from jaxopt_lessons.optimizers.sign import sign_sgd, signum
from jaxopt_lessons.optimizers.sm3 import sm3
from jaxopt_lessons.optimizers.trust_ratio import fromage, lamb, lars
from jaxopt_lessons.optimizers.yogi import yogi

__all__ = [
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "amsgrad",
    "fromage",
    "lamb",
    "lars",
    "lbfgs",
    "lion",
    "nadam",
    "nadamw",
    "noisy_sgd",
    "novograd",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "sign_sgd",
    "signum",
    "sm3",
    "yogi",
]
