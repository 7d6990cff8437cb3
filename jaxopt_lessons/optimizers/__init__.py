"""The optimizers: short chains of the blocks in `jaxopt_lessons.transforms`."""

from jaxopt_lessons.optimizers.adagrad import adagrad
from jaxopt_lessons.optimizers.adam import adam, adamw, amsgrad, nadam, nadamw
from jaxopt_lessons.optimizers.adamax import adamax, adamaxw
from jaxopt_lessons.optimizers.rmsprop import rmsprop
from jaxopt_lessons.optimizers.sgd import sgd

__all__ = [
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "amsgrad",
    "nadam",
    "nadamw",
    "rmsprop",
    "sgd",
]
