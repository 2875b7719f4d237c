"""A syncer's health, carried on the Lease it renews every poll: pure functions, stdlib only.

The syncer already writes its Lease (``kcd-syncer-<kind>-<name>``) once per poll to stay the one poller of its workload.
It records the outcome of its previous poll in that same write as annotations, so the dashboard, ``kcd rd get`` and the
KCD's ``SyncerHealthy`` condition read how a syncer is doing at no extra request:

- ``kcd.io/syncer-last-success``: RFC 3339 time of the last poll the registry answered;
- ``kcd.io/syncer-error``: ``<class>: <message>`` of the last poll when it failed (class: ``registry 401``,
  ``registry timeout``, ``api 403``…), absent after a success;
- ``kcd.io/syncer-error-since``: when the current run of failures began (kept while the class stays the same);
- ``kcd.io/syncer-requests``: registry requests made since the syncer started (a decimal count).

``spec.renewTime`` is the last poll; the annotations describe the poll before it (they travel with the renewal, so
recording them costs no request). A Lease not renewed for two of its durations has no live syncer behind it. The
syncers' Leases carry ``LABELS``, so the controller watches them alone (``SELECTOR``, filtered by the API server).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcd.status import format_time, parse_time

LAST_SUCCESS = "kcd.io/syncer-last-success"
ERROR = "kcd.io/syncer-error"
ERROR_SINCE = "kcd.io/syncer-error-since"
REQUESTS = "kcd.io/syncer-requests"
KEYS = (LAST_SUCCESS, ERROR, ERROR_SINCE, REQUESTS)
MAX_MESSAGE = 200
LABELS = {"app.kubernetes.io/component": "kcd-syncer"}
SELECTOR = ",".join(f"{k}={v}" for k, v in LABELS.items())


def lease_name(kind: str, name: str) -> str:
    """``kcd-syncer-<kind>-<name>``, shortened with a hash when longer than a DNS label."""
    full = f"kcd-syncer-{kind.lower()}-{name}"
    if len(full) <= 63:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return re.sub(r"[-.]+$", "", full[:54]) + "-" + digest


@dataclass(frozen=True)
class Outcome:
    """What one poll ended with, as the syncer reports it."""

    at: datetime.datetime
    error_class: str = ""  # "" for a success
    message: str = ""
    requests: int = 0  # registry requests made so far


@dataclass(frozen=True)
class Health:
    last_poll: datetime.datetime | None
    last_success: datetime.datetime | None
    error: str  # "<class>: <message>", "" when the last poll succeeded
    error_since: datetime.datetime | None
    requests: int
    holder: str
    stale_after: float  # seconds after last_poll when nobody polls any more


def lease_annotations(outcome: Outcome, previous: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """The Lease annotations after `outcome` (a merge: None removes a key). `previous` are the Lease's current ones."""
    before = previous or {}
    notes: dict[str, str | None] = {REQUESTS: str(outcome.requests)}
    if not outcome.error_class:
        notes.update({LAST_SUCCESS: format_time(outcome.at), ERROR: None, ERROR_SINCE: None})
        return notes
    error = f"{outcome.error_class}: {outcome.message}".strip().rstrip(":")[:MAX_MESSAGE]
    same = (before.get(ERROR) or "").partition(":")[0] == outcome.error_class
    since = before.get(ERROR_SINCE) if same and before.get(ERROR_SINCE) else format_time(outcome.at)
    notes.update({ERROR: error, ERROR_SINCE: since})
    return notes


def _count(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0


def read(lease: Mapping[str, Any]) -> Health:
    meta = lease.get("metadata") or {}
    notes = meta.get("annotations") or {}
    spec = lease.get("spec") or {}
    duration = spec.get("leaseDurationSeconds")
    return Health(
        last_poll=parse_time(str(spec.get("renewTime") or "")),
        last_success=parse_time(str(notes.get(LAST_SUCCESS) or "")),
        error=str(notes.get(ERROR) or ""),
        error_since=parse_time(str(notes.get(ERROR_SINCE) or "")),
        requests=_count(notes.get(REQUESTS)),
        holder=str(spec.get("holderIdentity") or ""),
        stale_after=2.0 * float(duration) if isinstance(duration, int | float) and duration > 0 else 600.0,
    )


def state(health: Health | None, now: datetime.datetime) -> str:
    """``Healthy``, ``Failing`` (the last poll failed), ``Stale`` (nobody polls any more) or ``Missing`` (no Lease)."""
    if health is None:
        return "Missing"
    if health.last_poll is None or (now - health.last_poll).total_seconds() > health.stale_after:
        return "Stale"
    return "Failing" if health.error else "Healthy"


def _ago(then: datetime.datetime, now: datetime.datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def describe(health: Health | None, now: datetime.datetime) -> str:
    """One line for a person: "last poll 12 s ago", "registry 401: unauthorized since 10:02", "no syncer"."""
    current = state(health, now)
    if health is None:
        return "no syncer has reported (no Lease)"
    if current == "Stale":
        seen = f"last poll {_ago(health.last_poll, now)}" if health.last_poll else "never polled"
        return f"no live syncer: {seen}"
    if current == "Failing":
        since = health.error_since or health.last_poll
        return f"{health.error} since {since:%H:%M} UTC" if since else health.error
    assert health.last_poll is not None
    return f"last poll {_ago(health.last_poll, now)}"


def summary(health: Health | None, now: datetime.datetime) -> dict[str, Any]:
    """The ``Syncer`` value of a workloads item (kcd.overview): state, one line, and the raw times."""
    return {
        "State": state(health, now),
        "Message": describe(health, now),
        "LastPoll": format_time(health.last_poll) if health and health.last_poll else "",
        "LastSuccess": format_time(health.last_success) if health and health.last_success else "",
        "Error": health.error if health else "",
        "RegistryRequests": health.requests if health else 0,
    }
