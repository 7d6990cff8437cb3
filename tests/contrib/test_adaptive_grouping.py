"""`grouped` runs the global-sum methods on flat buffers and refuses Mechanic.

Their blocks' declarations are checked against their traces in
tests/test_grouping_declarations.py (with the per-leaf numbers of each
partition-invariant block); here, the whole optimizers.
"""

from __future__ import annotations

import optax
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import contrib
from jaxopt_lessons import grouping as g
from tests import helpers

VALUE = {"value": 1.0}


@pytest.mark.parametrize(
    "name", ["prodigy", "dadapt_adamw", "dog", "dowg", "momo", "momo_adam"]
)
def test_global_sum_methods_group(name):
    assert (
        g.problems_of(getattr(contrib, name)(), helpers.mixed_tree(), extra_args=VALUE)
        == ()
    )


def test_reduce_on_plateau_groups_after_an_optimizer():
    tx = optax.chain(jol.adam(0.1), contrib.reduce_on_plateau())
    assert g.problems_of(tx, helpers.mixed_tree(), extra_args=VALUE) == ()


def test_mechanize_is_refused_with_its_reason():
    problems = g.problems_of(contrib.mechanize(jol.sgd(0.1)), helpers.mixed_tree())
    assert any("num_betas scale factors" in p for p in problems), problems
