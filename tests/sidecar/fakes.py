"""Tiny in-memory fakes at the syncer's own seams: the API (KCD, Lease, workload) and a registry."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kcd import registries
from sidecar import kubeapi


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeApi:
    """One namespace: a KCD, Leases by name (shared between syncers to model replicas), one workload's annotations."""

    kcd: dict[str, Any]
    leases: dict[str, dict[str, Any]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    patches: list[dict[str, str]] = field(default_factory=list)
    fail: Exception | None = None
    _version: int = 0

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    def get_kcd(self, namespace: str, name: str) -> dict[str, Any]:
        self._check()
        return copy.deepcopy(self.kcd)

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._check()
        return copy.deepcopy(self.leases.get(name))

    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if name in self.leases:
            raise kubeapi.Conflict("exists", 409)
        return self._store(name, body)

    def update_lease(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
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
    repo: str = "127.0.0.1:5000/team/app", tag: str = "env-prod", interval: int = 60, **spec: Any
) -> dict[str, Any]:
    return {"spec": {"imageRepo": repo, "tag": tag, "pollIntervalSeconds": interval, **spec}}


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
