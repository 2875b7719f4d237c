"""One poller per workload: a ``coordination.k8s.io/v1`` Lease named after the workload (pure functions).

Every replica of a workload runs a syncer; only the Lease holder polls the registry and writes annotations, so registry
calls do not grow with the replica count. The holder renews the Lease on each poll; the others read it once per
interval and take it over (an update guarded by ``resourceVersion``, so exactly one wins) when it has expired or been
released. The Lease lasts two poll intervals plus 30 s: a slow poll (registry timeouts and retries) does not lose it,
and a crashed holder is replaced within about three intervals. On SIGTERM the holder releases it at once.
The Lease mechanics are kcd.lease's (shared with the controller's leader election); this module adds the syncer's
naming and timing, and what the holder records on it about its last poll (kcd.syncerhealth): ``recorded`` puts the
annotations into the body the renewal writes anyway, ``registry_error``/``api_error`` name a failure's class.
"""

from __future__ import annotations

import re
from typing import Any

from kcd import lease as _lease
from kcd import model, registries, syncerhealth
from kcd.lease import expired, holder
from kcd.syncerhealth import LABELS, lease_name
from sidecar import kubeapi

__all__ = [
    "LABELS",
    "api_error",
    "duration_for",
    "expired",
    "holder",
    "lease_name",
    "new_lease",
    "recorded",
    "registry_error",
    "released",
    "taken",
]

# The HTTP status in the transport's messages: "server error 503", "access denied (401 …)", "<where>: 418 …". Anchored
# on those shapes: a bare 3-digit search would find the "127" of a registry's address.
_STATUS = re.compile(r"(?:server error |\(|: )([45]\d\d)\b")
# A Retry-After differs on every 429: kept in the message, the error would look new on every poll.
_RETRY_AFTER = re.compile(r"\s*\(retry after [^)]*\)")


def duration_for(interval: float) -> int:
    return int(2 * interval + 30)


def new_lease(namespace: str, name: str, identity: str, now: float, interval: float) -> dict[str, Any]:
    return _lease.new_lease(namespace, name, identity, now, duration_for(interval), labels=LABELS)


def taken(lease: dict[str, Any], identity: str, now: float, interval: float) -> dict[str, Any]:
    return _lease.taken(lease, identity, now, duration_for(interval))


def released(lease: dict[str, Any], now: float) -> dict[str, Any]:
    """Given up at shutdown: no holder, so any replica takes it at once. Unlike the controller's Lease it keeps its
    duration: the Lease counts as "no live syncer" only when nobody took it over within two durations (a rolling
    restart is not an outage)."""
    body = _lease.released(lease, now)
    body["spec"]["leaseDurationSeconds"] = (lease.get("spec") or {}).get("leaseDurationSeconds") or 1
    return body


def recorded(lease: dict[str, Any], outcome: syncerhealth.Outcome | None) -> dict[str, Any]:
    """`lease` with the annotations of `outcome` merged in; None (no poll of this syncer yet) leaves them as they are.
    The syncer PUTs the whole Lease, so a key dropped here is removed on the server."""
    if outcome is None:
        return lease
    meta = dict(lease.get("metadata") or {})
    notes = dict(meta.get("annotations") or {})
    for key, value in syncerhealth.lease_annotations(outcome, notes).items():
        if value is None:
            notes.pop(key, None)
        else:
            notes[key] = value
    return {**lease, "metadata": {**meta, "annotations": notes}}


def registry_error(err: registries.RegistryError) -> tuple[str, str]:
    """(class, message): ``registry <HTTP status>``, ``registry timeout``, ``registry unreachable``, …"""
    text = _RETRY_AFTER.sub("", str(err))
    transient = isinstance(err, registries.Transient)
    status = _STATUS.search(text)
    if transient and ("Timeout" in text or "too slow" in text):
        what = "timeout"
    elif transient and "ConnectionError" in text:
        what = "unreachable"
    elif isinstance(err, registries.RateLimited):
        what = "429"  # ECR's throttling too: the meaning people know
    elif isinstance(err, registries.NotFound):
        what = "404"
    elif status is not None:
        what = status[1]
    elif isinstance(err, registries.AuthError):
        # The OCI transport raises it on a 401 challenge it cannot answer; ECR's denials mean the same.
        what = "401"
    elif isinstance(err, registries.BadResponse):
        what = "bad response"
    else:
        what = "unavailable" if transient else "error"
    return f"registry {what}", text


def api_error(err: Exception) -> tuple[str, str]:
    """(class, message) of a failure outside the registry: ``api <HTTP status>``, ``api timeout``, ``api unreachable``,
    ``kcd invalid`` (a KCD the syncer cannot follow) or ``internal`` (a bug)."""
    if isinstance(err, kubeapi.ApiError):
        text = str(err)
        if err.status:
            return f"api {err.status}", text
        if "Timeout" in text:
            return "api timeout", text
        # No status: the request failed (a requests exception's name ends the message) or the answer was unusable.
        return ("api bad response" if "response" in text.rpartition(": ")[2] else "api unreachable"), text
    if isinstance(err, model.SpecError):
        return "kcd invalid", str(err)
    return "internal", f"{type(err).__name__}: {err}"
