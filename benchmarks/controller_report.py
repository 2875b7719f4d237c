"""The controller benchmark's figures of one size: latency, memory, storms, and the audit log's request counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from benchmarks import controller_audit as audit

MB = 1024 * 1024


@dataclass
class Sample:
    name: str
    version: str
    sent: float  # before the announce PATCH
    t0: float  # after it returned
    seen: float = 0.0
    available: float = 0.0
    success: float = 0.0


@dataclass
class Phases:
    started: float = 0.0  # first controller started
    ready: float = 0.0  # its start-up steps done
    live: float = 0.0  # all-live announcements start
    sampling: float = 0.0
    stopped: float = 0.0
    idle: tuple[float, float] = (0.0, 0.0)
    resync: float = 0.0
    idle_steps: float = 0.0  # reconcile steps in the idle window (the controller's /metrics)
    steps: float = 0.0  # reconcile steps of the first controller, start-up to the end of the samples
    step_seconds: float = 0.0  # time in them
    live_cpu: tuple[float, float] = (0.0, 0.0)  # controller CPU s in the all-live storm: event loop, other threads
    samples: list[Sample] = field(default_factory=list)


@dataclass
class Storm:
    """Seconds after a storm started (N Deployments patched, or N candidates announced, one after another as fast as
    the benchmark can) at which each workload showed the new image, became Available, and its KCD reached Success."""

    sent: float  # the benchmark's last PATCH of the storm returned
    image: list[float]
    available: list[float]
    success: list[float]
    requests: tuple[float, float] = (0.0, 0.0)  # (requests, writes) the API server answered, every client
    cpu: dict[str, float] = field(default_factory=dict)  # CPU s per process until the last one was done


def storm_detail(r: dict[str, Any]) -> list[str]:
    if "storms" not in r:
        return []

    def marks(values: list[float]) -> str:
        return f"p50 {pct(values, 50):.1f} s, last {max(values):.1f} s" if values else "-"

    base, live = r["storms"]
    return [
        f"  {r['size']} workloads, baseline: {r['size']} image patches sent by {base.sent:.1f} s; image seen "
        f"{marks(base.image)}; available {marks(base.available)}",
        f"  {r['size']} workloads, all live: {r['size']} candidates announced by {live.sent:.1f} s; image patched "
        f"{marks(live.image)}; available {marks(live.available)}; KCD Success {marks(live.success)}",
        f"  {r['size']} workloads, requests the API server answered in the storm (every client, watches not counted): "
        f"baseline {base.requests[0]:.0f} ({base.requests[1]:.0f} writes), all live {live.requests[0]:.0f} "
        f"({live.requests[1]:.0f} writes){_ratio(live.requests[0], base.requests[0])}",
        *_cpu_detail(r["size"], base, live),
    ]


def _cpu_detail(size: int, base: Storm, live: Storm) -> list[str]:
    if not base.cpu:  # a run from before the CPU was probed
        return []
    names = sorted(set(base.cpu) | set(live.cpu), key=lambda n: -live.cpu.get(n, 0.0))
    each = ", ".join(f"{n} {base.cpu.get(n, 0.0):.1f} / {live.cpu.get(n, 0.0):.1f}" for n in names)
    total = sum(base.cpu.values()), sum(live.cpu.values())
    # Busy cores = CPU seconds / wall seconds: near the machine's core count, the storm is CPU-bound.
    walls = max(base.available, default=0.0), max(live.success, default=0.0)
    busy = " / ".join(f"{cpu / wall:.2f}" if wall else "-" for cpu, wall in zip(total, walls, strict=True))
    return [
        f"  {size} workloads, CPU seconds per process, baseline / all live: {each}; "
        f"all {total[0]:.1f} / {total[1]:.1f}{_ratio(total[1], total[0])}; cores busy {busy}"
    ]


def _ratio(a: float, b: float) -> str:
    return f" = {a / b:.2f}x" if b else ""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms"


TIMING_HEAD = (
    f"{'workloads':>9} {'patch p50':>9} {'patch p99':>9} {'base p50':>8} {'base p99':>8} {'ratio':>6} "
    f"{'overhead p50':>12} {'overhead p99':>12} {'RSS':>6} {'all live':>8} {'baseline all':>12} {'live/base':>9}"
)
REQUESTS_HEAD = (
    f"{'workloads':>9} {'start-up/KCD':>12} {'all live/KCD':>12} {'per rollout':>11} {'idle/KCD/resync':>15} "
    f"{'idle steps/KCD/resync':>21} {'resync':>6} {'window':>6}"
)


def timing_row(r: dict[str, Any]) -> str:
    samples = r["phases"].samples
    patch = [s.seen - s.t0 for s in samples]
    overhead = [s.success - s.available for s in samples]
    base = r["base"]
    return (
        f"{r['size']:>9} {ms(pct(patch, 50)):>9} {ms(pct(patch, 99)):>9} {ms(pct(base, 50)):>8} "
        f"{ms(pct(base, 99)):>8} {pct(patch, 50) / pct(base, 50):>5.1f}x {ms(pct(overhead, 50)):>12} "
        f"{ms(pct(overhead, 99)):>12} {r['rss'] / MB:>4.0f}MB {r['all_live']:>7.1f}s {r['base_all']:>11.1f}s "
        f"{r['all_live'] / r['base_all']:>8.2f}x"
    )


def requests(r: dict[str, Any], reqs: list[audit.Request]) -> dict[str, Any]:
    """The controller's requests per phase, from the audit log."""
    ph, size = r["phases"], r["size"]
    ends = [s.sent for s in ph.samples[1:]] + [ph.stopped]
    rollouts: Counter[str] = Counter()
    for s, end in zip(ph.samples, ends, strict=True):
        rollouts += audit.by_what(audit.of_workload(audit.between(reqs, s.sent, end), s.name, f"kcdapp={s.name}"))
    idle = audit.by_what(audit.between(reqs, *ph.idle))
    intervals = (ph.idle[1] - ph.idle[0]) / ph.resync  # resync intervals in the window, per KCD
    return {
        "startup": audit.by_what(audit.between(reqs, ph.started, ph.ready or ph.live)),
        "live": audit.by_what(audit.between(reqs, ph.live, ph.sampling)),
        "rollout": rollouts,
        "rollouts": len(ph.samples),
        "idle": idle,
        "idle_per": size * intervals,  # KCD-resync-intervals in the window
        "idle_steps": ph.idle_steps / (size * intervals),
    }


def _total(counts: Counter[str]) -> int:
    return sum(counts.values())


def requests_row(r: dict[str, Any], q: dict[str, Any]) -> str:
    size, ph = r["size"], r["phases"]
    return (
        f"{size:>9} {_total(q['startup']) / size:>12.2f} {_total(q['live']) / size:>12.2f} "
        f"{_total(q['rollout']) / q['rollouts']:>11.2f} {_total(q['idle']) / q['idle_per']:>15.2f} "
        f"{q['idle_steps']:>21.2f} {ph.resync:>5.0f}s {ph.idle[1] - ph.idle[0]:>5.0f}s"
    )


def requests_detail(r: dict[str, Any], q: dict[str, Any]) -> list[str]:
    size, ph = r["size"], r["phases"]
    return [
        *storm_detail(r),
        f"  {size} workloads, start-up, per KCD: {audit.breakdown(q['startup'], size)}",
        f"  {size} workloads, all live, per KCD: {audit.breakdown(q['live'], size)}",
        f"  {size} workloads, per sampled rollout: {audit.breakdown(q['rollout'], q['rollouts'])}",
        f"  {size} workloads, idle, per KCD per resync interval: {audit.breakdown(q['idle'], q['idle_per'])}",
        f"  {size} workloads, reconcile steps (start-up to the end of the samples; the controller's /metrics): "
        f"{ph.steps:.0f}, {ph.steps / size:.1f} per KCD, mean {1000 * ph.step_seconds / max(ph.steps, 1):.1f} ms",
        f"  {size} workloads, controller CPU in the all-live storm ({r['all_live']:.1f} s): event loop "
        f"{ph.live_cpu[0]:.1f} s, other threads (steps, HTTP) {ph.live_cpu[1]:.1f} s",
    ]


def latency_detail(r: dict[str, Any], reqs: list[audit.Request]) -> list[str]:
    lines = [
        audit.timeline(reqs, name=s.name, selector=f"kcdapp={s.name}", sent=s.sent, seen=s.seen)
        for s in r["phases"].samples
    ]
    found = [t for t in lines if t is not None]
    if not found:
        return [f"  {r['size']} workloads: no sample found in the audit log"]
    common = Counter(audit.sequence(t) for t in found).most_common(1)[0][0]
    same = [t for t in found if audit.sequence(t) == common]
    out = [f"  {r['size']} workloads ({len(found)} of {len(lines)} samples):"]
    out += [f"    {what:<92} {p50:>6.1f} ms  (p90 {p90:.1f})" for what, p50, p90 in audit.segments(found)]
    out.append(f"    the controller's requests, ms after the annotation PATCH completed ({len(same)} samples alike):")
    for what, rec, done in audit.offsets(same):
        out.append(f"      {what:<40} received +{rec:>6.1f}  completed +{done:>6.1f}")
    return out
