"""Helpers the claim modules share for their reports."""

from __future__ import annotations

import numpy as np


def min_median_max(values) -> list[float]:
    """``[min, median, max]`` of `values`, as Python floats (for the JSON report)."""
    v = np.asarray(values, float)
    return [float(v.min()), float(np.median(v)), float(v.max())]
