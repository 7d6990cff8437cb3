"""How the benchmarks time: interleaved rounds, each step timed alone, and the
rows made from the times.

The timing loop (`measure`) interleaves the cases of one shape round by
round, so that a burst of foreign load hits all of them alike, and keeps
every step's time.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from jaxopt_lessons.benchmarks.cases import Case, JaxRunner


class LoadMeter:
    """CPU time used by *other* processes, in cores, from /proc/stat."""

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = [float(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        busy = (sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)) / tick
        own = sum(os.times()[:4])
        return busy, own, time.monotonic()

    def foreign_cores(self) -> float | None:
        end = self._read()
        if self.start is None or end is None:
            return None
        busy = end[0] - self.start[0]
        own = end[1] - self.start[1]
        wall = end[2] - self.start[2]
        return max(0.0, (busy - own) / wall) if wall > 0 else None


def timed_steps(step: Callable[[], None], steps: int) -> list[float]:
    """Seconds of each of `steps` calls of `step`, with the garbage collector off
    (a collection inside one step would be timed as that step's)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    finally:
        if gc_was:
            gc.enable()
    return times


def measure(
    cases: list[Case],
    rounds: int,
    steps: int,
    warmup_s: float,
    log: Callable[[str], None],
    *,
    warmup_steps: int | None = None,
) -> None:
    """Interleaved timing: each round runs every case: warm-up, then `steps` timed steps.

    The warm-up lasts `warmup_s` seconds (at least one step), or exactly
    `warmup_steps` steps when given, so that every case takes the same number
    of steps and their final parameters can be compared.
    """
    for r in range(rounds):
        for case in cases:
            if case.runner is None:
                continue
            if warmup_steps is not None:
                for _ in range(warmup_steps):
                    case.runner.step()
                case.steps_run += warmup_steps
            else:
                deadline = time.perf_counter() + warmup_s
                case.runner.step()
                case.steps_run += 1
                while time.perf_counter() < deadline:
                    case.runner.step()
                    case.steps_run += 1
            times = timed_steps(case.runner.step, steps)
            case.steps_run += steps
            case.times.extend(times)
            case.round_medians.append(statistics.median(times))
        log(f"  round {r + 1}/{rounds} done")


def summarize(cases: list[Case]) -> list[dict]:
    """One row per case: medians, ratios against the reference (per-round spread)."""
    by_key = {(c.shape, c.optimizer, c.impl): c for c in cases}
    rows = []
    for case in cases:
        row = {
            "shape": case.shape,
            "optimizer": case.optimizer,
            "impl": case.impl,
            **{k: v for k, v in case.stats.items() if k != "error"},
        }
        if "error" in case.stats:
            row["error"] = case.stats["error"]
        if case.times:
            row["step_ms"] = 1e3 * statistics.median(case.times)
            row["step_ms_min"] = 1e3 * min(case.times)
            row["step_ms_max"] = 1e3 * max(case.times)
            row["steps_timed"] = len(case.times)
        ref = by_key.get((case.shape, case.optimizer, case.reference or ""))
        if ref is not None and ref.times and case.times:
            per_round = [a / b for a, b in zip(case.round_medians, ref.round_medians)]
            row["reference"] = ref.impl
            row["time_ratio"] = statistics.median(case.times) / statistics.median(
                ref.times
            )
            row["time_ratio_min"] = min(per_round)
            row["time_ratio_max"] = max(per_round)
            if "compile_s" in case.stats and "compile_s" in ref.stats:
                row["compile_ratio"] = case.stats["compile_s"] / ref.stats["compile_s"]
            if case.stats.get("compile_cpu_s") and ref.stats.get("compile_cpu_s"):
                row["compile_cpu_ratio"] = (
                    case.stats["compile_cpu_s"] / ref.stats["compile_cpu_s"]
                )
            if case.stats.get("hlo_bytes") and ref.stats.get("hlo_bytes"):
                row["traffic_ratio"] = case.stats["hlo_bytes"] / ref.stats["hlo_bytes"]
        per_leaf = by_key.get((case.shape, case.optimizer, "ours"))
        grouped_impls = ("ours grouped", "ours fast")
        if case.impl in grouped_impls and per_leaf is not None and per_leaf.times:
            if case.times:
                per_round = [
                    a / b for a, b in zip(case.round_medians, per_leaf.round_medians)
                ]
                row["vs_per_leaf"] = statistics.median(case.times) / statistics.median(
                    per_leaf.times
                )
                row["vs_per_leaf_min"] = min(per_round)
                row["vs_per_leaf_max"] = max(per_round)
        rows.append(row)
    return rows


def check_same_numbers(cases: list[Case]) -> dict[str, float]:
    """Largest |difference| of the params after the first step, against Optax's.

    Every JAX case of one (shape, optimizer) starts from the same params and
    gradients, so the results must agree to float32 rounding.
    """
    out = {}
    by_key = {(c.shape, c.optimizer, c.impl): c for c in cases}
    for case in cases:
        ref = by_key.get((case.shape, case.optimizer, "optax"))
        if (
            case.impl in ("optax",)
            or ref is None
            or not isinstance(case.runner, JaxRunner)
            or not isinstance(ref.runner, JaxRunner)
        ):
            continue
        pairs = zip(case.runner.first_step, ref.runner.first_step, strict=True)
        diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
        out[f"{case.shape}/{case.optimizer}/{case.impl}"] = diff
    return out


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
