"""Results of the scenario benchmarks, printed as one Markdown table at the end of the run."""

from __future__ import annotations

from dataclasses import dataclass
import os
import platform


@dataclass(frozen=True, slots=True)
class Row:
    """One measured quantity next to its goal."""

    scenario: str
    quantity: str
    value: str
    goal: str = ""
    met: bool | None = None


ROWS: list[Row] = []
NOTES: list[str] = []


def add(scenario: str, quantity: str, value: str, goal: str = "", met: bool | None = None) -> None:
    """Record one row (and echo it, so ``-s`` shows progress)."""
    ROWS.append(Row(scenario, quantity, value, goal, met))
    print(f"  {scenario} | {quantity}: {value} {f'(goal {goal})' if goal else ''}", flush=True)


def note(text: str) -> None:
    """Record a line printed under the table."""
    NOTES.append(text)
    print(f"  note: {text}", flush=True)


def machine() -> str:
    """The machine the numbers were taken on."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )


def render() -> str:
    """The Markdown table of every row recorded so far."""
    if not ROWS:
        return ""
    lines = [
        f"Machine: {machine()}",
        "",
        "| scenario | quantity | value | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in ROWS:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.scenario} | {row.quantity} | {row.value} | {row.goal} | {met} |")
    if NOTES:
        lines.append("")
        lines.extend(f"- {text}" for text in NOTES)
    return "\n".join(lines)
