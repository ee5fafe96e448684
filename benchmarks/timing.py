"""Small timing helpers shared by the benchmarks: repeated runs, medians, a plain table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def per_call_us(prepare: Callable[[], Callable[[], int]], repeats: int) -> list[float]:
    """µs per operation, once per repeat. ``prepare`` sets up untimed and returns the timed run,
    which performs and returns its number of operations (0 marks a broken run: reported as inf)."""
    samples = []
    for _ in range(repeats):
        run = prepare()
        started = time.perf_counter_ns()
        operations = run()
        elapsed_us = (time.perf_counter_ns() - started) / 1000
        samples.append(elapsed_us / operations if operations else float("inf"))
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
