"""Turning measured rows into a Markdown table, a JSON file and a plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _ratio(row: dict, key: str) -> str:
    if key not in row:
        return "–"
    lo, hi = row.get(f"{key}_min"), row.get(f"{key}_max")
    spread = f" ({lo:.2g}–{hi:.2g})" if lo is not None and hi is not None else ""
    return f"{row[key]:.2f}{spread}"


def step_table(rows: list[dict]) -> str:
    """One line per case; ratios against the row's reference (Optax, or per-leaf)."""
    head = (
        "| shape | optimizer | impl | step ms (min–max) | time / ref (per-round range) "
        "| compile s | compile / ref | HLO bytes / minimal | extra memory MiB |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['shape']} | {r['optimizer']} | {r['impl']} | "
                f"skipped: {r['error']} | | | | | |"
            )
            continue
        step = (
            f"{_fmt(r.get('step_ms'))} ({_fmt(r.get('step_ms_min'), 2)}–"
            f"{_fmt(r.get('step_ms_max'), 2)})"
            if "step_ms" in r
            else "–"
        )
        ref = f" vs {r['reference']}" if r.get("reference") else ""
        ratio = _ratio(r, "time_ratio") + ref if "time_ratio" in r else "–"
        if "vs_per_leaf" in r:
            ratio += f"; {_ratio(r, 'vs_per_leaf')} vs ours"
        extra = r.get("extra_memory_bytes")
        extra = "–" if extra is None else f"{extra / 2**20:.1f}"
        lines.append(
            f"| {r['shape']} | {r['optimizer']} | {r['impl']} | {step} | {ratio} | "
            f"{_fmt(r.get('compile_s'))} | {_fmt(r.get('compile_ratio'), 2)} | "
            f"{_fmt(r.get('traffic'), 3)} | {extra} |"
        )
    return head + "\n".join(lines) + "\n"


WHOLE_STEP_NOTE = (
    "Whole training step: forward pass, backward pass, Adam update and new "
    "parameters, jitted with params and state donated (torch: `zero_grad`, "
    'forward, `backward`, `Adam.step`). "ours grouped": `jol.grouped(jol.adam)` '
    'on the ordinary tree; "ours fast": `jol.group(params)` with '
    '`jol.grouped(jol.adam)` in `jol.make_train_step`; "forward+backward": the '
    "loss and its gradients only, no update. First call: trace, compile and "
    "one step, in wall-clock seconds and in CPU seconds of this process (the "
    "CPU-time ratio does not depend on other processes' load). Kernels: "
    "instructions of the compiled step other than "
    "parameters, constants and tuples. Params vs Optax: largest difference "
    "relative to the largest parameter, after the first step and after every "
    "timed step (the leaf named where it exceeds 1e-5).\n\n"
)


def whole_step_table(rows: list[dict], final_diffs: dict[str, dict]) -> str:
    """One line per (model, implementation), ratios against Optax per leaf."""
    head = WHOLE_STEP_NOTE + (
        "| model | impl | step ms (min–max) | step / Optax (per-round range) "
        "| first call s (CPU s) | first call / Optax (CPU) | kernels "
        "| params vs Optax: after 1 step; after all |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['shape']} | {r['impl']} | skipped: {r['error']} | | | | | |"
            )
            continue
        step = (
            f"{_fmt(r.get('step_ms'))} ({_fmt(r.get('step_ms_min'), 2)}–"
            f"{_fmt(r.get('step_ms_max'), 2)})"
        )
        found = final_diffs.get(f"{r['shape']}/{r['impl']}")
        first = None if found is None else found["first_step_max_rel"]
        diff = None if found is None else found["max_rel"]
        where = f" at {found['leaf']}" if found and diff > 1e-5 else ""
        steps = f" after {found['steps']}" if found else ""
        lines.append(
            f"| {r['shape']} | {r['impl']} | {step} | "
            f"{_ratio(r, 'time_ratio') if 'time_ratio' in r else '–'} | "
            f"{_fmt(r.get('compile_s'))} ({_fmt(r.get('compile_cpu_s'))}) | "
            f"{_fmt(r.get('compile_ratio'), 2)} ({_fmt(r.get('compile_cpu_ratio'), 2)}) | "
            f"{_fmt(r.get('kernels'))} | {'–' if diff is None else f'{first:.1g}; {diff:.1g}{steps}{where}'} |"
        )
    return head + "\n".join(lines) + "\n"


def sweep_table(sweep: dict) -> str:
    head = (
        f"Sweep: {sweep['settings']} learning rates x {sweep['steps']} Adam steps, "
        f"compile included, {sweep['reps']} interleaved repetitions, backend "
        f'{sweep["backend"]}; "auto" picked **{sweep["auto_picked"]}**, fastest '
        f"measured: **{sweep['fastest_measured']}**.\n\n"
        "| method | seconds (min–max) | time / jit loop (range) | max |Δ final loss| |\n"
        "|---|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['method']} | {r['seconds']:.3g} ({r['seconds_min']:.3g}–"
        f"{r['seconds_max']:.3g}) | {r['ratio_to_loop']:.2f} ({r['ratio_min']:.2f}–"
        f"{r['ratio_max']:.2f}) | {r['max_abs_diff_final_loss']:.2g} |"
        for r in sweep["rows"]
    ]
    return head + "\n".join(lines) + "\n"


def traffic_table(rows: list[dict]) -> str:
    head = (
        "Compiled bytes of one step (update + apply), every optimizer Optax also has, "
        "on a 2^16 vector and a 64x32 matrix:\n\n"
        "| optimizer | ours / Optax bytes | ours kernels | Optax kernels | same program |\n"
        "|---|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['optimizer']} | not compiled: {r['error'][:60]} | | | |"
            )
        else:
            lines.append(
                f"| {r['optimizer']} | {r['ratio']:.3f} | {r['ours_kernels']} | "
                f"{r['optax_kernels']} | {'yes' if r['same_program'] else 'no'} |"
            )
    return head + "\n".join(lines) + "\n"


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=1, default=str))


def plot(path: Path, rows: list[dict], sweep: dict | None) -> None:
    """Step-time and compile-time ratios against Optax, one panel per shape."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    panels = len(shapes) + (1 if sweep else 0)
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.6), squeeze=False)
    colors = {
        "ours": "tab:blue",
        "ours grouped": "tab:olive",
        "ours fast": "tab:green",
        "torch foreach": "tab:orange",
        "torch fused": "tab:red",
        "ours no donation": "tab:gray",
    }
    for ax, shape in zip(axes[0], shapes, strict=False):
        sub = [r for r in rows if r["shape"] == shape and r.get("reference") == "optax"]
        optimizers = list(dict.fromkeys(r["optimizer"] for r in sub))
        impls = [i for i in colors if any(r["impl"] == i for r in sub)]
        width = 0.8 / max(1, len(impls))
        for k, impl in enumerate(impls):
            xs, ys, lo, hi = [], [], [], []
            for j, opt in enumerate(optimizers):
                match = [r for r in sub if r["impl"] == impl and r["optimizer"] == opt]
                if match and "time_ratio" in match[0]:
                    r = match[0]
                    xs.append(j + (k - (len(impls) - 1) / 2) * width)
                    ys.append(r["time_ratio"])
                    lo.append(max(0.0, r["time_ratio"] - r["time_ratio_min"]))
                    hi.append(max(0.0, r["time_ratio_max"] - r["time_ratio"]))
            ax.bar(
                xs, ys, width, yerr=[lo, hi], label=impl, color=colors[impl], capsize=2
            )
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(optimizers)), optimizers, rotation=30)
        ax.set_title(f"{shape}: step time / Optax")
        ax.legend(fontsize=7)
    if sweep:
        ax = axes[0][-1]
        names = [r["method"] for r in sweep["rows"]]
        values = [r["ratio_to_loop"] for r in sweep["rows"]]
        ax.barh(names, values, color="tab:purple")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_title("sweep time / jit loop (compile incl.)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_whole_step(path: Path, rows: list[dict]) -> None:
    """Whole-step time and first-call time against Optax, one group per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sub = [r for r in rows if "time_ratio" in r]
    model_names = list(dict.fromkeys(r["shape"] for r in sub))
    impls = list(dict.fromkeys(r["impl"] for r in sub))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), squeeze=False)
    width = 0.8 / max(1, len(impls))
    for ax, key, title in (
        (axes[0][0], "time_ratio", "whole step time / Optax"),
        (axes[0][1], "compile_cpu_ratio", "first call (compile), CPU time / Optax"),
    ):
        for k, impl in enumerate(impls):
            xs, ys, err = [], [], [[], []]
            for j, name in enumerate(model_names):
                match = [r for r in sub if r["impl"] == impl and r["shape"] == name]
                if not match or key not in match[0]:
                    continue
                r = match[0]
                xs.append(j + (k - (len(impls) - 1) / 2) * width)
                ys.append(r[key])
                lo, hi = r.get(f"{key}_min", r[key]), r.get(f"{key}_max", r[key])
                err[0].append(max(0.0, r[key] - lo))
                err[1].append(max(0.0, hi - r[key]))
            if xs:
                ax.bar(xs, ys, width, yerr=err, label=impl, capsize=2)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(model_names)), model_names)
        ax.set_title(title)
    axes[0][0].legend(fontsize=7, loc="upper left", framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
