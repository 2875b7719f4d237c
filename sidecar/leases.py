"""One poller per workload: a ``coordination.k8s.io/v1`` Lease named after the workload (pure functions).

Every replica of a workload runs a syncer; only the Lease holder polls the registry and writes annotations, so registry
calls do not grow with the replica count. The holder renews the Lease on each poll; the others read it once per
interval and take it over (an update guarded by ``resourceVersion``, so exactly one wins) when it has expired or been
released. The Lease lasts two poll intervals plus 30 s: a slow poll (registry timeouts and retries) does not lose it,
and a crashed holder is replaced within about three intervals. On SIGTERM the holder releases it at once.
The Lease mechanics are kcd.lease's (shared with the controller's leader election); this module adds the syncer's
naming and timing.
"""

from __future__ import annotations

from typing import Any

from kcd import lease as _lease
from kcd.lease import expired, holder, released
from kcd.syncerhealth import lease_name

__all__ = ["duration_for", "expired", "holder", "lease_name", "new_lease", "released", "taken"]

LABELS = {"app.kubernetes.io/component": "kcd-syncer"}


def duration_for(interval: float) -> int:
    return int(2 * interval + 30)


def new_lease(namespace: str, name: str, identity: str, now: float, interval: float) -> dict[str, Any]:
    return _lease.new_lease(namespace, name, identity, now, duration_for(interval), labels=LABELS)


def taken(lease: dict[str, Any], identity: str, now: float, interval: float) -> dict[str, Any]:
    return _lease.taken(lease, identity, now, duration_for(interval))
