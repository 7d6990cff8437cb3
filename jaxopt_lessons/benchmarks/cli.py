"""`python -m jaxopt_lessons bench`: run the benchmarks, write table, JSON and plot."""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

SHAPES = ("large", "transformer", "medium", "many")
MODELS = ("probes", "deep_mlp", "transformer", "nnx")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m jaxopt_lessons bench",
        description="Whole training steps (forward, backward, update) of real "
        "models, then the optimizer update alone: step time, first-call time, "
        "kernels, HLO traffic and memory of jaxopt_lessons against Optax (and "
        "torch.optim when installed). The full run takes about an hour on 2 "
        "CPU cores (measured 65 min under load; most of it compiling the "
        "per-leaf steps of 2000 and 4000 leaves); --quick takes 2 to 3 minutes.",
    )
    p.add_argument("--quick", action="store_true", help="small models and shapes")
    p.add_argument(
        "--models",
        default=",".join(MODELS),
        help="whole-step models, comma list of probes,deep_mlp,transformer,nnx "
        "(nnx needs flax), or none",
    )
    p.add_argument(
        "--out", default="bench-output", help="folder for results (default %(default)s)"
    )
    p.add_argument(
        "--probe-leaves",
        type=int,
        default=None,
        help="leaves of the probes model (default 2000, 200 with --quick)",
    )
    p.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        help="update-only tree shapes, comma list of large,transformer,medium,many, "
        "or none",
    )
    p.add_argument(
        "--optimizers",
        default=None,
        help="comma list, or 'all' (every optimizer Optax also has); default "
        "sgd,momentum,rmsprop,adam,adamw (momentum,adam with --quick)",
    )
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    p.add_argument(
        "--steps", type=int, default=None, help="timed steps per case per round"
    )
    p.add_argument(
        "--warmup-ms", type=float, default=None, help="untimed warm-up per round"
    )
    p.add_argument("--no-torch", action="store_true", help="skip torch.optim")
    p.add_argument("--no-sweep", action="store_true", help="skip the sweep benchmark")
    p.add_argument(
        "--traffic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compiled bytes of every optimizer against Optax (default: on, off with --quick)",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # torch spins its OpenMP threads by default; on a shared CPU that makes its
    # steps bimodal. Must be set before torch is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import jax

    from jaxopt_lessons.benchmarks import cases as bench_cases
    from jaxopt_lessons.benchmarks import report, timing
    from jaxopt_lessons.benchmarks import shapes as bench_shapes
    from jaxopt_lessons.benchmarks import traffic as bench_traffic

    log = timing.log_to_stderr
    shapes = [s for s in args.shapes.split(",") if s and s != "none"]
    bad = [s for s in shapes if s not in SHAPES]
    if bad:
        raise SystemExit(f"bench: unknown shape(s) {bad}; choose from {SHAPES}.")
    model_names = [m for m in args.models.split(",") if m and m != "none"]
    bad = [m for m in model_names if m not in MODELS]
    if bad:
        raise SystemExit(f"bench: unknown model(s) {bad}; choose from {MODELS}.")
    chosen = args.optimizers or (
        "momentum,adam" if args.quick else ",".join(bench_cases.DEFAULT_OPTIMIZERS)
    )
    names = "all" if chosen == "all" else tuple(chosen.split(","))
    pairs = bench_cases.optimizer_pairs(names)
    rounds = args.rounds or (3 if args.quick else 6)
    steps = args.steps or (5 if args.quick else 5)
    warmup_s = (
        args.warmup_ms if args.warmup_ms is not None else (5 if args.quick else 25)
    ) / 1e3
    use_torch = not args.no_torch and bench_cases.torch_available()
    if use_torch:
        import torch

        torch.set_num_threads(min(2, os.cpu_count() or 1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trees = bench_shapes.shape_trees(args.quick)
    devices = jax.devices()
    machine = {
        "devices": [str(d) for d in devices],
        "backend": jax.default_backend(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "optax": __import__("optax").__version__,
        "torch": __import__("torch").__version__ if use_torch else None,
        "quick": args.quick,
        "rounds": rounds,
        "steps_per_round": steps,
        "warmup_ms": warmup_s * 1e3,
    }
    log(f"bench on {machine['devices']}: shapes {shapes}, optimizers {list(pairs)}")
    started = time.perf_counter()
    all_rows, checks, loads = [], {}, {}
    whole_rows, whole_checks = _whole_steps(
        model_names, args, rounds, steps, use_torch, loads, log
    )
    for shape in shapes:
        tree = trees[shape]
        log(f"[{shape}] {bench_shapes.describe_shape(tree)}: building and compiling")
        cases = bench_cases.build_cases(shape, tree, pairs, torch=use_torch)
        for case in cases:
            t = time.perf_counter()
            try:
                case.runner = case.build()
                case.stats = dict(case.runner.stats)
            except Exception as error:  # unsupported torch mode, refused grouping
                case.stats = {
                    "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"
                }
                log(f"  {case.label}: skipped ({case.stats['error'][:100]})")
                continue
            log(
                f"  {case.label}: ready in {time.perf_counter() - t:.1f} s "
                f"(compile {case.stats.get('compile_s', float('nan')):.2f} s)"
            )
        meter = timing.LoadMeter()
        timing.measure(cases, rounds, steps, warmup_s, log)
        loads[shape] = meter.foreign_cores()
        all_rows.extend(timing.summarize(cases))
        checks.update(timing.check_same_numbers(cases))
        for case in cases:  # free this shape's buffers before the next one
            case.runner = None
    traffic = None
    if args.traffic if args.traffic is not None else not args.quick:
        log("[traffic] compiled bytes of every optimizer, ours against Optax")
        traffic = bench_traffic.traffic_all(log)
    sweep = None
    if not args.no_sweep:
        from jaxopt_lessons.benchmarks.sweep_bench import run_sweep_bench

        log("[sweep] learning-rate sweep, compile included")
        meter = timing.LoadMeter()
        if args.quick:
            sweep = run_sweep_bench(3, 30, 2, log)
        else:
            sweep = run_sweep_bench(16, 200, 5, log)
        loads["sweep"] = meter.foreign_cores()
    machine["seconds"] = time.perf_counter() - started
    machine["foreign_load_cores"] = loads
    payload = {
        "machine": machine,
        "whole_step_rows": whole_rows,
        "whole_step_final_params_rel_diff": whole_checks,
        "rows": all_rows,
        "sweep": sweep,
        "max_abs_diff": checks,
    }
    report.write_json(out / "results.json", payload)
    text = (
        f"Measured on {machine['devices']} ({machine['cpu']}, {machine['cpu_count']} CPUs), "
        f"jax {machine['jax']}, optax {machine['optax']}, torch {machine['torch']}; "
        f"{rounds} interleaved rounds x {steps} steps; foreign load (cores) "
        + ", ".join(f"{k}: {v:.2f}" for k, v in loads.items() if v is not None)
        + "\n\n"
        + (report.whole_step_table(whole_rows, whole_checks) if whole_rows else "")
        + (
            "\nOptimizer update only (`update` + `apply_updates` on fixed gradients, "
            "no forward or backward pass):\n\n" + report.step_table(all_rows)
            if all_rows
            else ""
        )
    )
    if traffic:
        text += "\n" + report.traffic_table(traffic)
    if sweep:
        text += "\n" + report.sweep_table(sweep)
    if checks:
        worst = max(checks.values())
        text += f"\nLargest |Δ params| after one step against Optax, all paths: {worst:.2g}\n"
    (out / "results.md").write_text(text)
    if not args.no_plot and (all_rows or sweep):
        report.plot(out / "results.png", all_rows, sweep)
    if not args.no_plot and whole_rows:
        report.plot_whole_step(out / "whole_step.png", whole_rows)
    print(text)
    log(
        f"wrote {out}/results.md, results.json"
        + ("" if args.no_plot else ", results.png, whole_step.png")
    )
    return 0


def _whole_steps(
    names: list[str],
    args: argparse.Namespace,
    rounds: int,
    steps: int,
    use_torch: bool,
    loads: dict,
    log,
) -> tuple[list[dict], dict[str, float]]:
    """Times the whole training step of each model, all cases of one model
    interleaved; returns the rows and the final-parameter differences."""
    from jaxopt_lessons.benchmarks import models, timing, whole_step

    rows: list[dict] = []
    checks: dict[str, float] = {}
    quick = args.quick
    builders = models.models(quick, args.probe_leaves)
    for name in names:
        if name == "nnx":
            if not whole_step.nnx_available():
                log("[nnx] skipped: flax is not installed")
                continue
            depth, width, batch = (8, 16, 64) if quick else (64, 32, 256)
            cases = whole_step.nnx_cases(depth, width, batch)
            log(f"[nnx] Flax NNX residual MLP, {depth} blocks of {width}: compiling")
        else:
            model = builders[name]()
            problem = whole_step.map_count_problem(model)
            if problem:
                log(f"[{name}] skipped: {problem}")
                rows.append(
                    {
                        "shape": name,
                        "optimizer": "adam",
                        "impl": "all",
                        "error": problem,
                    }
                )
                continue
            log(f"[{name}] {model.description}: compiling")
            cases = whole_step.build_cases(model, torch=use_torch)
        for case in cases:
            t = time.perf_counter()
            try:
                case.runner = case.build()
                case.stats = dict(case.runner.stats)
            except Exception as error:  # e.g. an unsupported torch mode
                case.stats = {
                    "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"
                }
                log(f"  {case.label}: skipped ({case.stats['error'][:100]})")
                continue
            log(
                f"  {case.impl}: first call {case.stats['compile_s']:.1f} s "
                f"(ready in {time.perf_counter() - t:.1f} s)"
            )
        meter = timing.LoadMeter()
        # One warm-up step per round, so that every case takes the same
        # number of steps and their final parameters can be compared.
        timing.measure(cases, rounds, steps, 0.0, log, warmup_steps=1)
        loads[f"whole:{cases[0].shape}"] = meter.foreign_cores()
        rows.extend(timing.summarize(cases))
        checks.update(whole_step.final_differences(cases))
        for case in cases:
            case.runner = None
    return rows, checks
