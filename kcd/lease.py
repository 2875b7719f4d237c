"""coordination.k8s.io/v1 Lease bodies, as client-go's leader election treats them: pure functions, stdlib only.

Shared by the controller's leader election (kcd.kube.leader) and the syncer's one-poller-per-workload Lease
(sidecar.leases). Times are POSIX seconds in, MicroTime strings out. A holder renews by rewriting renewTime; anyone
may take a Lease whose holder is empty or whose renewTime + leaseDurationSeconds has passed. Callers write the
returned body with its resourceVersion, so of two candidates exactly one wins.
"""

from __future__ import annotations

import datetime
from typing import Any

from kcd.status import parse_time

MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def micro_time(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime(MICRO)


def _seconds(text: str | None) -> float | None:
    when = parse_time(text or "")
    return when.timestamp() if when else None


def holder(lease: dict[str, Any] | None) -> str:
    return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")


def expired(lease: dict[str, Any], now: float) -> bool:
    spec = lease.get("spec") or {}
    renewed = _seconds(spec.get("renewTime")) or _seconds(spec.get("acquireTime"))
    if not holder(lease) or renewed is None:
        return True
    return now > renewed + float(spec.get("leaseDurationSeconds") or 0)


def new_lease(
    namespace: str, name: str, identity: str, now: float, duration: int, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": duration,
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": 0,
        },
    }


def taken(lease: dict[str, Any], identity: str, now: float, duration: int) -> dict[str, Any]:
    """The Lease as `identity` acquires (or renews) it; keeps resourceVersion so the update is guarded."""
    spec = dict(lease.get("spec") or {})
    if holder(lease) != identity:
        spec["acquireTime"] = micro_time(now)
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
    spec.update(holderIdentity=identity, renewTime=micro_time(now), leaseDurationSeconds=duration)
    return {**lease, "spec": spec}


def released(lease: dict[str, Any], now: float) -> dict[str, Any]:
    """Given up by its holder: anyone may take it at once."""
    spec = dict(lease.get("spec") or {})
    spec.update(holderIdentity=None, leaseDurationSeconds=1, renewTime=micro_time(now))
    return {**lease, "spec": spec}
