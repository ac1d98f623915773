"""Shared pieces of the benchmark runner.

A benchmark module is ``benchmarks/bench_<topic>.py`` exposing ``cases() -> list[Case]``. Cases in
one group are measured in the same run and printed side by side; a case may name a ``baseline``
in its group (the bare library call it wraps, or a competing implementation), and the table then
shows the ratio ours/baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time
import timeit


@dataclass(frozen=True, slots=True)
class Case:
    """One measured operation."""

    group: str
    name: str
    func: Callable[[], object]
    baseline: str | None = None
    unit: str = "op"  # what one call of func does, e.g. "message", "node"


@dataclass(frozen=True, slots=True)
class Result:
    """Best-of-N wall and CPU time for one call of a case."""

    case: Case
    seconds_per_call: float
    cpu_seconds_per_call: float


def measure(case: Case, repeat: int = 5, min_time: float = 0.2) -> Result:
    """Time ``case.func``: calibrate a loop count, then keep the best of ``repeat`` runs."""
    timer = timeit.Timer(case.func)
    number, _ = timer.autorange()
    while number * _estimate(timer, number) < min_time and number < 10_000_000:
        number *= 2
    best_wall = float("inf")
    best_cpu = float("inf")
    for _ in range(repeat):
        cpu0 = time.process_time()
        wall = timer.timeit(number)
        cpu = time.process_time() - cpu0
        best_wall = min(best_wall, wall / number)
        best_cpu = min(best_cpu, cpu / number)
    return Result(case, best_wall, best_cpu)


def _estimate(timer: timeit.Timer, number: int) -> float:
    return timer.timeit(number) / number
