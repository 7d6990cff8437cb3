"""`python -m jaxopt_lessons`: measure every claim of the SGD-variants lesson.

Runs each claim of `jaxopt_lessons.lessons.CLAIM_IDS` (the lesson's ravine,
noise, scales, lr_sensitivity, tradeoff, wrong_gradients, knowledge_check;
then lr_free, schedule_free, muon and quasi_newton, which measure what newer
methods promise) with a progress bar, prints a table (claim, what was measured, whether it holds, seconds),
writes every claim's plots as PNG files to ``--out`` and, with ``--json
PATH``, a report ``{claim_id: {"holds": bool, "measured": str, "seconds":
float, ...numbers}}``. The exit code is 0 when every claim holds, 1 when one
does not (or fails to run).

``--quick`` runs the small versions (one seed, fewer settings) that the tests
and notebooks use; ``--only`` picks claims, as a comma list (``--only
ravine,noise``), as separate words (``--only ravine noise``) or both;
``--seed`` shifts every seed.

The other command of the package, ``python -m jaxopt_lessons bench``, is
dispatched by ``jaxopt_lessons/__main__.py`` before this parser runs; the help
text below names it so that ``--help`` shows both.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import textwrap
import time
import traceback

import numpy as np

from jaxopt_lessons.lessons import CLAIM_IDS, get, plots_of


def _jsonable(value):
    """Plain-JSON copy: NumPy to Python, non-finite floats as strings, str keys."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf", "nan"
    return value


def _table(rows: list[tuple[str, str, str, str]], width: int = 72) -> str:
    """A plain-text table; the "measured" column wraps at `width` characters."""
    header = ("claim", "measured", "holds", "seconds")
    first = max(len(header[0]), *(len(r[0]) for r in rows))
    lines = [
        f"{header[0]:<{first}}  {header[1]:<{width}}  {header[2]:<5}  {header[3]}",
        f"{'-' * first}  {'-' * width}  {'-' * 5}  {'-' * 7}",
    ]
    for claim, measured, holds, seconds in rows:
        wrapped = textwrap.wrap(measured, width) or [""]
        lines.append(
            f"{claim:<{first}}  {wrapped[0]:<{width}}  {holds:<5}  {seconds:>7}"
        )
        lines.extend(f"{'':<{first}}  {more}" for more in wrapped[1:])
    return "\n".join(lines)


# Measured with `time python -m jaxopt_lessons --out DIR` (and `--quick`); see
# `_EPILOG`. Kept next to the help text that quotes them.
_EPILOG = """\
run times (2 CPU cores, jax on the CPU):
  full run     about 1.5 minutes, 17 plots (measured 90 s wall, 115 s CPU);
               mostly XLA compiling
  --quick      about 55 seconds (one seed, fewer settings)
  --only       runs a subset: --only ravine,noise  or  --only ravine noise

other command:
  python -m jaxopt_lessons bench [--quick] [--help]
      benchmarks whole training steps (forward, backward, update) and the
      optimizer update alone against Optax and torch.optim (when installed):
      step time, first-call time, memory. The full benchmark takes about an
      hour on 2 CPU cores (measured 65 min under load), bench --quick about 2
      to 3 minutes.
"""


class _ClaimList(argparse.Action):
    """Collects claim ids from comma lists and/or separate words.

    ``--only ravine,noise``, ``--only ravine noise``, ``--only ravine,noise
    scales`` and a repeated ``--only`` all add to one list; an unknown name is
    refused with the list of valid ones.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        chosen = list(getattr(namespace, self.dest) or [])
        for value in values:
            for name in (part.strip() for part in value.split(",")):
                if not name:
                    continue
                if name not in CLAIM_IDS:
                    parser.error(
                        f"{option_string}: unknown claim {name!r}; choose from "
                        f"{', '.join(CLAIM_IDS)}"
                    )
                if name not in chosen:
                    chosen.append(name)
        if not chosen:
            parser.error(f"{option_string}: name at least one claim")
        setattr(namespace, self.dest, chosen)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jaxopt_lessons",
        description="Measure every claim of the SGD-variants lesson: print a table\n"
        "(claim, what was measured, whether it holds) and write the plots.\n"
        "The subcommand `python -m jaxopt_lessons bench` runs the benchmarks\n"
        "instead (see below).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="small versions (about 55 s in all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--out",
        default="lesson-output",
        help="folder for the PNG plots (default: lesson-output)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON")
    parser.add_argument(
        "--only",
        nargs="+",
        action=_ClaimList,
        metavar="CLAIM",
        help="run only these claims, comma- or space-separated, from: "
        f"{', '.join(CLAIM_IDS)}",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG files")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line; ``only`` is None or a list of claim ids.

    Raises:
        SystemExit: an unknown claim, no claim after ``--only``, a negative
            ``--seed`` (argparse's usage error, exit code 2).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    return args


def _run_claim(claim: str, args: argparse.Namespace, out_dir: pathlib.Path):
    """Runs one claim; returns its report entry, its table row and its plots.

    A claim that cannot run does not hold: its entry and row carry the error.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    try:
        module = get(claim)
        result = module.run(quick=args.quick, seed=args.seed)
        plots = [] if args.no_plots else plots_of(claim).plot(result, out_dir)
        seconds = time.perf_counter() - t0
        entry = {
            "holds": bool(result.holds),
            "measured": result.measured,
            "seconds": round(seconds, 2),
        }
        entry.update(_jsonable(result.numbers()))
        holds = "yes" if result.holds else "NO"
        return entry, (claim, result.measured, holds, f"{seconds:.1f}"), plots
    except Exception as error:  # a claim that cannot run does not hold
        seconds = time.perf_counter() - t0
        message = f"{type(error).__name__}: {error}"
        tqdm.write(f"{claim}: failed to run\n{traceback.format_exc()}", sys.stderr)
        entry = {
            "holds": False,
            "measured": f"error: {message}",
            "seconds": round(seconds, 2),
            "error": message,
        }
        return entry, (claim, f"error: {message}", "NO", f"{seconds:.1f}"), []


def main(argv: list[str] | None = None) -> int:
    """Runs the claims; returns the exit code (0: every claim holds)."""
    from tqdm import tqdm

    args = parse_args(argv)
    claims = [c for c in CLAIM_IDS if not args.only or c in args.only]
    out_dir = pathlib.Path(args.out)
    report, rows, plots = {}, [], []
    start = time.perf_counter()
    bar = tqdm(claims, desc="claims", unit="claim", file=sys.stderr)
    for claim in bar:
        bar.set_postfix_str(claim)
        report[claim], row, claim_plots = _run_claim(claim, args, out_dir)
        rows.append(row)
        plots.extend(claim_plots)
    bar.close()
    total = time.perf_counter() - start

    print(_table(rows))
    n_hold = sum(entry["holds"] for entry in report.values())
    mode = "quick" if args.quick else "full"
    print(f"\n{n_hold}/{len(report)} claims hold ({mode} run, {total:.1f} s).")
    if plots:
        print(f"{len(plots)} plots in {out_dir}/: " + ", ".join(p.name for p in plots))
    if args.json:
        path = pathlib.Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
        print(f"report: {path}")
    return 0 if n_hold == len(report) else 1
