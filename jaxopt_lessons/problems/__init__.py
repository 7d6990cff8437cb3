"""The lesson's test problems, each deterministic from a PRNG key."""

from jaxopt_lessons.problems.ravine import Ravine, make_ravine

__all__ = ["Ravine", "make_ravine"]
