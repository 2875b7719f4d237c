"""Tiny in-memory fakes at the syncer's own seams: the API (KCD, Lease, workload) and a registry; and a driver that
steps syncers on a shared fake clock the way their loops would."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kcd import registries
from sidecar import kubeapi
from sidecar.syncer import Settings, Syncer


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeApi:
    """One namespace: a KCD, Leases by name (shared between syncers to model replicas), one workload's annotations.

    `fail` raises from the next calls; `outages` are (start, end) clock times during which every call answers 503.
    """

    kcd: dict[str, Any]
    leases: dict[str, dict[str, Any]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    patches: list[dict[str, str]] = field(default_factory=list)
    fail: Exception | None = None
    clock: Clock | None = None
    outages: list[tuple[float, float]] = field(default_factory=list)
    _version: int = 0

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail
        now = self.clock.now if self.clock else 0.0
        if any(start <= now < end for start, end in self.outages):
            raise kubeapi.ApiError("GET: 503 the API server is down", 503)

    def get_kcd(self, namespace: str, name: str) -> dict[str, Any]:
        self._check()
        return copy.deepcopy(self.kcd)

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._check()
        return copy.deepcopy(self.leases.get(name))

    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check()
        name = body["metadata"]["name"]
        if name in self.leases:
            raise kubeapi.Conflict("exists", 409)
        return self._store(name, body)

    def update_lease(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check()
        if self.leases[name]["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
            raise kubeapi.Conflict("stale", 409)
        return self._store(name, body)

    def _store(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self._version)
        self.leases[name] = stored
        return copy.deepcopy(stored)

    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        self._check()
        return {"metadata": {"annotations": dict(self.annotations)}}

    def annotate_workload(self, namespace: str, kind: str, name: str, annotations: dict[str, str]) -> None:
        self._check()
        self.patches.append(dict(annotations))
        self.annotations.update(annotations)


@dataclass
class FakeRegistry:
    """tag -> digest, digest -> tags; `fail` raises from the next calls; `calls` records what was asked."""

    repo: str = "127.0.0.1:5000/team/app"
    tags: dict[str, str] = field(default_factory=dict)
    fail: Exception | None = None
    calls: list[str] = field(default_factory=list)
    closed: bool = False

    def push(self, digest: str, *tags: str) -> None:
        for tag in tags:
            self.tags[tag] = digest

    def digest(self, tag: str) -> str:
        self.calls.append(f"digest {tag}")
        if self.fail is not None:
            raise self.fail
        if tag not in self.tags:
            raise registries.NotFound(tag)
        return self.tags[tag]

    def version_tags(self, tag: str, digest: str, pattern: re.Pattern[str]) -> list[str]:
        self.calls.append(f"version_tags {tag}")
        return [t for t, d in self.tags.items() if d == digest and t != tag and pattern.fullmatch(t)]

    def tags_of(self, version: str) -> list[str]:
        raise NotImplementedError

    def add_tags(self, version: str, tags: Sequence[str]) -> None:
        raise NotImplementedError

    def remove_tags(self, tags: Sequence[str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


def kcd(
    repo: str = "127.0.0.1:5000/team/app", tag: str = "env-prod", interval: int | None = 60, **spec: Any
) -> dict[str, Any]:
    """A valid KCD body (`interval=None` leaves pollIntervalSeconds to the CRD's default)."""
    body: dict[str, Any] = {"imageRepo": repo, "tag": tag, "selector": {"app": "web"}, "container": {"name": "app"}}
    if interval is not None:
        body["pollIntervalSeconds"] = interval
    return {"metadata": {"name": "app", "namespace": "ns"}, "spec": {**body, **spec}}


def make_syncer(api: FakeApi, reg: FakeRegistry, clock: Clock, pod: str = "pod-a", rng: float = 0.5) -> Syncer:
    """A syncer for Deployment `web` in `ns`; rng 0.5 is the jitter's middle, so delays come out exact."""
    settings = Settings(namespace="ns", kcd="app", workload_kind="deployment", workload_name="web", pod_name=pod)
    return Syncer(settings, api, registry_factory=lambda repo: reg, clock=clock, rng=lambda: rng)


@dataclass
class Loops:
    """Steps `syncers` as their loops would, each after the delay its last step chose, on the shared fake clock."""

    syncers: Sequence[Syncer]
    reg: FakeRegistry
    clock: Clock
    due: list[float] = field(default_factory=list)

    def run(self, seconds: float) -> list[float]:
        """Run for `seconds` from now; the offsets from now at which the registry was asked."""
        start, asked = self.clock.now, []
        self.due = self.due or [start] * len(self.syncers)
        while min(self.due) - start < seconds:
            i = self.due.index(min(self.due))
            self.clock.now = self.due[i]
            before = len(self.reg.calls)
            self.due[i] = self.clock.now + self.syncers[i].step()
            if len(self.reg.calls) > before:
                asked.append(self.clock.now - start)
        return asked


def run(syncers: Sequence[Syncer], reg: FakeRegistry, clock: Clock, seconds: float) -> list[float]:
    """`Loops(...).run(seconds)` for a test that runs its loops once."""
    return Loops(syncers, reg, clock).run(seconds)


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
