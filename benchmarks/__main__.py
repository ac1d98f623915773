"""Run the benchmarks and print a table: ``python -m benchmarks [FILTER]``.

Every ``benchmarks/bench_*.py`` module contributes ``cases()``. FILTER keeps only groups whose
name contains it. Results depend on the machine: README notes the one they were taken on.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
import platform
import sys

from benchmarks.common import Case, Result, measure


def _load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        cases.extend(module.cases())
    return cases


def _fmt_time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} µs"


def main(argv: list[str]) -> int:
    """Measure every case (optionally filtered) and print one Markdown table."""
    wanted = argv[1] if len(argv) > 1 else ""
    cases = [c for c in _load_cases() if wanted in c.group]
    if not cases:
        print(f"no benchmark group matches {wanted!r}", file=sys.stderr)
        return 2
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    print()
    print("| group | case | time per call | CPU per call | calls/s | ratio to baseline |")
    print("| --- | --- | --- | --- | --- | --- |")
    results: dict[tuple[str, str], Result] = {}
    for case in cases:
        result = measure(case)
        results[(case.group, case.name)] = result
        ratio = ""
        if case.baseline is not None:
            base = results.get((case.group, case.baseline))
            if base is None:
                base = measure(
                    next(c for c in cases if (c.group, c.name) == (case.group, case.baseline))
                )
            ratio = f"{result.seconds_per_call / base.seconds_per_call:.2f}x {case.baseline}"
        print(
            f"| {case.group} | {case.name} | {_fmt_time(result.seconds_per_call)} "
            f"| {_fmt_time(result.cpu_seconds_per_call)} "
            f"| {1 / result.seconds_per_call:,.0f} {case.unit}/s | {ratio} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
