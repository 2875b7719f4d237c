"""One poller per workload: a ``coordination.k8s.io/v1`` Lease named after the workload (pure functions).

Every replica of a workload runs a syncer; only the Lease holder polls the registry and writes annotations, so registry
calls do not grow with the replica count. The holder renews the Lease on each poll; the others read it once per
interval and take it over (an update guarded by ``resourceVersion``, so exactly one wins) when it has expired or been
released. The Lease lasts two poll intervals plus 30 s: a slow poll (registry timeouts and retries) does not lose it,
and a crashed holder is replaced within about three intervals. On SIGTERM the holder releases it at once.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def lease_name(kind: str, name: str) -> str:
    """``kcd-syncer-<kind>-<name>``, shortened with a hash when longer than a DNS label."""
    full = f"kcd-syncer-{kind.lower()}-{name}"
    if len(full) <= 63:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return re.sub(r"[-.]+$", "", full[:54]) + "-" + digest


def duration_for(interval: float) -> int:
    return int(2 * interval + 30)


def micro_time(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime(MICRO)


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def holder(lease: dict[str, Any] | None) -> str:
    return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")


def expired(lease: dict[str, Any], now: float) -> bool:
    spec = lease.get("spec") or {}
    renewed = _parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime"))
    if not holder(lease) or renewed is None:
        return True
    return now > renewed + float(spec.get("leaseDurationSeconds") or 0)


def new_lease(namespace: str, name: str, identity: str, now: float, interval: float) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/component": "kcd-syncer"}},
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": duration_for(interval),
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": 0,
        },
    }


def taken(lease: dict[str, Any], identity: str, now: float, interval: float) -> dict[str, Any]:
    """The Lease as ``identity`` acquires (or renews) it; keeps ``resourceVersion`` so the update is guarded."""
    spec = dict(lease.get("spec") or {})
    if holder(lease) != identity:
        spec["acquireTime"] = micro_time(now)
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
    spec.update(holderIdentity=identity, renewTime=micro_time(now), leaseDurationSeconds=duration_for(interval))
    return {**lease, "spec": spec}


def released(lease: dict[str, Any], now: float) -> dict[str, Any]:
    spec = dict(lease.get("spec") or {})
    spec.update(holderIdentity=None, leaseDurationSeconds=1, renewTime=micro_time(now))
    return {**lease, "spec": spec}
