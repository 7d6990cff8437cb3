"""Applies `expectations.py` to the Optax tests collected by `test_optax_suite.py`."""

from __future__ import annotations

import collections
import os

import pytest

from tests.optax_suite import expectations

FULL = os.environ.get("JOL_OPTAX_SUITE", "").lower() == "full"
_COUNTS: collections.Counter = collections.Counter()


def _describe(item: pytest.Item) -> tuple[str, str]:
    test = f"{item.parent.name}::{item.name}"
    params = getattr(getattr(item, "obj", None), "__x_params_repr__", "") or ""
    return test, params


def pytest_collection_modifyitems(config, items):
    kept, left_out = [], []
    for item in items:
        if "optax_suite" not in item.nodeid:
            kept.append(item)
            continue
        entry = expectations.expectation_for(*_describe(item))
        if entry is None:
            kept.append(item)
        elif entry.kind == "other" or (entry.kind == "slow" and not FULL):
            _COUNTS[entry.kind] += 1
            left_out.append(item)
        elif entry.kind == "xfail":
            item.add_marker(pytest.mark.xfail(reason=entry.reason, strict=True))
            kept.append(item)
        elif entry.kind == "baseline":
            item.add_marker(pytest.mark.xfail(reason=entry.reason, strict=False))
            kept.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    if not _COUNTS:
        return
    terminalreporter.write_line(
        "optax suite: left out {} tests of functions we do not export and {} slow "
        "tests ({}); see tests/optax_suite/expectations.py".format(
            _COUNTS["other"],
            _COUNTS["slow"],
            "run" if FULL else "JOL_OPTAX_SUITE=full runs them",
        )
    )
