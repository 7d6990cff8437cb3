"""`python -m jaxopt_lessons`: the lesson comparison; `... bench`: the benchmarks."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        from jaxopt_lessons.benchmarks.cli import main as bench_main

        return bench_main(argv[1:])
    from jaxopt_lessons.lessons.cli import main as lesson_main

    return lesson_main(argv)


if __name__ == "__main__":
    sys.exit(main())
