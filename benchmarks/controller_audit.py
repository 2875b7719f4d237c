"""The controller's API requests, as the API server's audit log records them (tests/env/audit.py).

The controller runs under its own user (a client cert for `kcd-controller`), the benchmark under `kcd-bench`, so the
log tells them apart without any counter inside kcd. A request belongs to a phase by its requestReceivedTimestamp;
to one workload's rollout when it names that workload (the KCD, the Deployment, `<name>.history`, or a list whose
labelSelector is the KCD's selector) or is about an Event (the other KCDs, idle, post none meanwhile).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.env import audit

CONTROLLER_USER = "kcd-controller"
BENCH_USER = "kcd-bench"


@dataclass(frozen=True)
class Request:
    user: str
    verb: str
    resource: str  # "deployments", "kcds/status", or the path for a non-resource request ("/apis")
    namespace: str
    name: str
    selector: str
    received: float
    completed: float
    code: int

    @property
    def what(self) -> str:
        return f"{self.verb} {self.resource}"


def _request(ev: audit.Event) -> Request:
    ref = ev.get("objectRef") or {}
    resource = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    uri = ev.get("requestURI", "")
    query = parse_qs(urlsplit(uri).query)
    return Request(
        user=(ev.get("user") or {}).get("username", ""),
        verb=ev.get("verb", ""),
        resource=resource or urlsplit(uri).path,
        namespace=ref.get("namespace", ""),
        name=ref.get("name", ""),
        selector=(query.get("labelSelector") or [""])[0],
        received=audit.stamp(ev),
        completed=audit.stamp(ev, "stageTimestamp"),
        code=int((ev.get("responseStatus") or {}).get("code", 0)),
    )


def load(log: Path, *, users: Iterable[str] = (CONTROLLER_USER, BENCH_USER)) -> list[Request]:
    wanted = set(users)
    found = (_request(ev) for ev in audit.read(log) if (ev.get("user") or {}).get("username") in wanted)
    return sorted(found, key=lambda r: r.received)


def between(requests: list[Request], start: float, end: float, *, user: str = CONTROLLER_USER) -> list[Request]:
    return [r for r in requests if r.user == user and start <= r.received < end]


def in_namespace(requests: list[Request], namespace: str) -> list[Request]:
    """Requests in `namespace`, and those of no namespace (discovery, cluster-scoped reads): the controller's too."""
    return [r for r in requests if r.namespace in ("", namespace)]


def of_workload(requests: list[Request], name: str, selector: str) -> list[Request]:
    """The requests of one workload's rollout: those naming it, and Events (no other KCD posts one meanwhile)."""
    names = {name, f"{name}.history"}
    return [r for r in requests if r.name in names or r.selector == selector or r.resource == "events"]


def by_what(requests: Iterable[Request]) -> Counter[str]:
    return Counter(r.what for r in requests)


def breakdown(counts: Counter[str], per: float) -> str:
    """`patch kcds/status 5.00, create events 3.00, …` per `per` units (KCDs, rollouts), most frequent first; what
    rounds to 0.00 per unit is summed up as the absolute count of other requests."""
    shown = [f"{what} {n / per:.2f}" for what, n in counts.most_common() if n / per >= 0.005]
    rest = sum(n for n in counts.values() if n / per < 0.005)
    if rest:
        shown.append(f"+ {rest} other requests in all")
    return ", ".join(shown) or "none"


@dataclass(frozen=True)
class Timeline:
    """One rollout sample on the audit log's clock (epoch seconds)."""

    sent: float  # the benchmark sends the candidate annotation
    committed: float  # the API server completes that PATCH
    first: float  # the controller's first request after it
    requests_before_patch: list[Request]
    patch_received: float  # the controller's image PATCH
    patch_completed: float
    seen: float  # the benchmark's watch sees the new image


def timeline(requests: list[Request], *, name: str, selector: str, sent: float, seen: float) -> Timeline | None:
    """The candidate-annotation PATCH by the benchmark after `sent`, then the controller's requests for this workload
    up to its image PATCH of `name`; None when the log lacks one of them."""
    announce = next((r for r in requests if r.user == BENCH_USER and r.received >= sent and r.verb == "patch"), None)
    if announce is None:
        return None
    mine = of_workload(between(requests, announce.completed, seen + 5), name, selector)
    named = [r for r in mine if r.resource != "events"]  # an Event is never what a step starts with
    patch = next((r for r in named if r.verb == "patch" and r.resource == "deployments" and r.name == name), None)
    if patch is None or not named:
        return None
    return Timeline(
        sent=sent,
        committed=announce.completed,
        first=named[0].received,
        requests_before_patch=[r for r in mine if named[0].received <= r.received < patch.received],
        patch_received=patch.received,
        patch_completed=patch.completed,
        seen=seen,
    )


SEGMENTS = (
    ("announce", "benchmark sends the annotation -> the API server has completed that PATCH"),
    ("wake", "-> controller's first request (watch event, kopf queueing, handlers, wake-up, thread pool)"),
    ("step", "-> controller sends the image PATCH (the step's reads and decision)"),
    ("step_api", "   of which inside the API server (sum of the step's requests)"),
    ("step_ctl", "   of which in the controller (HTTP client, JSON parsing, the decision)"),
    ("patch", "-> the API server has completed the image PATCH"),
    ("watch", "-> the benchmark's watch sees the new image"),
    ("total", "total: annotation sent -> image seen"),
)


def _parts(t: Timeline) -> dict[str, float]:
    in_api = sum(r.completed - r.received for r in t.requests_before_patch)
    return {
        "announce": t.committed - t.sent,
        "wake": t.first - t.committed,
        "step": t.patch_received - t.first,
        "step_api": in_api,
        "step_ctl": t.patch_received - t.first - in_api,
        "patch": t.patch_completed - t.patch_received,
        "watch": t.seen - t.patch_completed,
        "total": t.seen - t.sent,
    }


def segments(lines: list[Timeline]) -> list[tuple[str, float, float]]:
    """(what, median ms, p90 ms) of each segment of the annotation -> image-seen path."""
    parts = [_parts(t) for t in lines]
    out = []
    for key, what in SEGMENTS:
        values = sorted(p[key] for p in parts)
        p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
        out.append((what, statistics.median(values) * 1000, p90 * 1000))
    return out


class Tail:
    """New requests of one user since the last call, read from the end of a growing audit log."""

    def __init__(self, log: Path, user: str) -> None:
        self.file = open(log, encoding="utf-8")  # noqa: SIM115 - kept open across calls; closed by close()
        self.file.seek(0, 2)
        self.user, self.partial = user, ""

    def count_new(self) -> int:
        n = 0
        for line in self.file:
            if not line.endswith("\n"):  # the API server is still writing it
                self.partial += line
                break
            line, self.partial = self.partial + line, ""
            n += f'"username":"{self.user}"' in line
        return n

    def close(self) -> None:
        self.file.close()


def sequence(t: Timeline) -> str:
    return " -> ".join(r.what for r in t.requests_before_patch)


def offsets(lines: list[Timeline]) -> list[tuple[str, float, float]]:
    """For timelines with one same request sequence: (request, median ms received, median ms completed) after the
    annotation PATCH completed, ending with the image PATCH."""
    rows: list[tuple[str, float, float]] = []
    for i, r in enumerate(lines[0].requests_before_patch):
        rows.append(
            (
                r.what,
                statistics.median(t.requests_before_patch[i].received - t.committed for t in lines) * 1000,
                statistics.median(t.requests_before_patch[i].completed - t.committed for t in lines) * 1000,
            )
        )
    rows.append(
        (
            "patch deployments (the image)",
            statistics.median(t.patch_received - t.committed for t in lines) * 1000,
            statistics.median(t.patch_completed - t.committed for t in lines) * 1000,
        )
    )
    return rows
