"""The blue-green benchmark's figures: percentiles of the measured rollouts, as a Markdown table.

p99 of 20 values, by linear interpolation between closest ranks, lies between the two largest: read it as "the
worst rollout but one, nearly the worst".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol


class Measured(Protocol):
    """What a rollout holds (monotonic seconds; NaN when the moment was not seen)."""

    started: float
    ready: float
    complete: float
    switch: float


def pct(values: list[float], q: float) -> float:
    """Percentile by linear interpolation between closest ranks (q in 0..100); moments not seen (NaN) left out."""
    xs = sorted(v for v in values if not math.isnan(v))
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x * 1000:.0f} ms"


def row(label: str, values: list[float]) -> str:
    missing = sum(1 for v in values if math.isnan(v))
    label += f" ({missing} not seen)" if missing else ""
    return f"| {label} | {ms(pct(values, 50))} | {ms(pct(values, 99))} | {ms(pct(values, 100))} |"


def report(kcd: Sequence[Measured], base: Sequence[Measured]) -> None:
    lat = [r.switch - r.ready for r in kcd]
    floor = [r.switch - r.ready for r in base]
    status_lag = [r.complete - r.ready for r in kcd]
    reaction = [r.switch - max(r.ready, r.complete) if r.complete == r.complete else math.nan for r in kcd]
    announced = [r.switch - r.started for r in kcd]
    print(f"\nblue-green switch, n = {len(kcd)} rollouts each (warm-up excluded)")
    print("| measure | p50 | p99 | max |\n|---|---|---|---|")
    print(row("kcd: last new endpoint ready -> live selector switched", lat))
    print(row("baseline: same, selector patched by the benchmark on sight", floor))
    print(row("kcd, part: last endpoint ready -> new colour's Deployment complete", status_lag))
    print(row("kcd, part: the later of the two -> live selector switched", reaction))
    print(row("kcd: candidate annotation -> live selector switched", announced))
    p50, p99 = pct(lat, 50) / pct(floor, 50), pct(lat, 99) / pct(floor, 99)
    print(f"ratio kcd / baseline: p50 {p50:.1f}x, p99 {p99:.1f}x")
    goal = pct(lat, 99) <= 1.0
    print(f"goal: switch latency p99 <= 1 s -> {'met' if goal else 'NOT met'} (the original kcd polled every 15 s)")
