"""The lesson's test problems, each deterministic from a PRNG key.

- `make_ravine`, `quadratic`, `make_scaled_bowl` (ravine.py): quadratic bowls
  with a chosen condition number or per-coordinate scales, rotated or not.
- `make_noisy_quadratic` (noisy.py): a ravine with additive gradient noise and
  its exact noise floor.
- `make_least_squares`, `diabetes_least_squares` (least_squares.py): linear
  least squares with minibatch gradients.
- `make_logistic_regression`, `breast_cancer_logistic` (logistic.py): logistic
  regression, e.g. on raw (badly scaled) breast-cancer features.
- `make_rosenbrock` (rosenbrock.py): the curved banana valley.

Every problem is a frozen dataclass registered as a pytree: pass it to a
jitted function as an argument instead of closing over its arrays.
"""

from jaxopt_lessons.problems.least_squares import (
    LeastSquares,
    diabetes_least_squares,
    make_least_squares,
)
from jaxopt_lessons.problems.logistic import (
    LogisticRegression,
    breast_cancer_logistic,
    make_logistic_regression,
)
from jaxopt_lessons.problems.noisy import NoisyQuadratic, make_noisy_quadratic
from jaxopt_lessons.problems.ravine import (
    Ravine,
    make_ravine,
    make_scaled_bowl,
    quadratic,
)
from jaxopt_lessons.problems.rosenbrock import Rosenbrock, make_rosenbrock

__all__ = [
    "LeastSquares",
    "LogisticRegression",
    "NoisyQuadratic",
    "Ravine",
    "Rosenbrock",
    "breast_cancer_logistic",
    "diabetes_least_squares",
    "make_least_squares",
    "make_logistic_regression",
    "make_noisy_quadratic",
    "make_ravine",
    "make_rosenbrock",
    "make_scaled_bowl",
    "quadratic",
]
