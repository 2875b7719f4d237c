"""The managed workloads as people look at them: one item per workload a KCD selects. Pure, stdlib only.

One definition for ``GET /v1/kcd/workloads`` (kcd.api), the dashboard and ``kcd rd get -o json``, so all three show the
same items with the same keys. The original kcd's keys come first, exactly as its README shows them: ``Namespace``,
``Name``, ``Type`` (the workload kind), ``Container``, ``Version`` (the version the workload's container runs now),
``AvailablePods``, ``CV`` (the KCD's name) and ``Tag``; then ``Status`` (the KCD's currStatus), ``LiveVersion``
(successVersion), ``CandidateVersion`` (what the syncer reported), ``UpdatedAt`` (currStatusTime) and ``Syncer``
(kcd.syncerhealth.summary of the syncer's Lease), and for the dashboard ``FailedVersions`` (quarantined),
``HeldVersions`` (rolled back from by a person), ``Paused``, ``Rollout`` (the rollout in flight: Phase, Version,
StartedAt, Message; null when idle) and ``Message`` (why the KCD is not fine: Stalled, or Ready not True).

Inputs are API bodies or the slim projections of them: a KCD needs metadata, spec and status; a workload needs kind,
metadata (labels, annotations), its pod template's containers and the status counts; a Lease needs metadata and spec.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from kcd import images, model, syncerhealth
from kcd.engine.workload import container_image, matches

Body = Mapping[str, Any]
KEYS = (
    "Namespace",
    "Name",
    "Type",
    "Container",
    "Version",
    "AvailablePods",
    "CV",
    "Tag",
    "Status",
    "LiveVersion",
    "CandidateVersion",
    "UpdatedAt",
    "Syncer",
    "FailedVersions",
    "HeldVersions",
    "Paused",
    "Rollout",
    "Message",
)


def version_of(image: str | None) -> str:
    """The tag (or digest) an image reference names: "web:1.2" -> "1.2"; "" when there is none."""
    if not image:
        return ""
    try:
        ref = images.parse(image)
    except images.InvalidReference:
        return ""
    return ref.digest or ref.tag or ""


def available_pods(workload: Body) -> int:
    status = workload.get("status") or {}
    if workload.get("kind") == "DaemonSet":
        value = status.get("numberAvailable")
    elif workload.get("kind") == "CronJob":
        return len(status.get("active") or [])
    else:
        value = status.get("availableReplicas")
    return int(value) if isinstance(value, int) else 0


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def rollout(status: Body) -> dict[str, str] | None:
    """The rollout in flight (status.rollout): phase, version, when it started and its message; None when idle."""
    raw = status.get("rollout")
    if not isinstance(raw, Mapping) or not raw.get("phase"):
        return None
    keys = {"Phase": "phase", "Version": "version", "StartedAt": "startedAt", "Message": "message"}
    return {mine: str(raw.get(theirs) or "") for mine, theirs in keys.items()}


def message(status: Body) -> str:
    """Why the KCD is not fine: the message of a True Stalled condition, else of a Ready condition that is not True."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    for kind, bad in (("Stalled", {"True"}), ("Ready", {"False", "Unknown"})):
        for c in conditions:
            if c.get("type") == kind and c.get("status") in bad and c.get("message"):
                return str(c["message"])
    return ""


def item(kcd: Body, workload: Body, lease: Body | None, now: datetime.datetime) -> dict[str, Any]:
    spec, status = kcd.get("spec") or {}, kcd.get("status") or {}
    meta = workload.get("metadata") or {}
    container = str((spec.get("container") or {}).get("name") or "")
    health = syncerhealth.read(lease) if lease is not None else None
    return {
        "Namespace": str(meta.get("namespace") or ""),
        "Name": str(meta.get("name") or ""),
        "Type": str(workload.get("kind") or ""),
        "Container": container,
        "Version": version_of(container_image(dict(workload), container)),
        "AvailablePods": available_pods(workload),
        "CV": str((kcd.get("metadata") or {}).get("name") or ""),
        "Tag": str(spec.get("tag") or ""),
        "Status": str(status.get("currStatus") or ""),
        "LiveVersion": str(status.get("successVersion") or ""),
        "CandidateVersion": str((meta.get("annotations") or {}).get(model.CANDIDATE_VERSION) or ""),
        "UpdatedAt": str(status.get("currStatusTime") or ""),
        "Syncer": syncerhealth.summary(health, now),
        "FailedVersions": _strings(status.get("failedVersions")),
        "HeldVersions": _strings(status.get("heldVersions")),
        "Paused": ((kcd.get("metadata") or {}).get("annotations") or {}).get(model.PAUSED) == "true",
        "Rollout": rollout(status),
        "Message": message(status),
    }


def _lease_key(workload: Body) -> tuple[str, str]:
    meta = workload.get("metadata") or {}
    return str(meta.get("namespace") or ""), syncerhealth.lease_name(str(workload.get("kind") or ""), meta["name"])


def items(
    kcds: Iterable[Body],
    workloads: Iterable[Body],
    leases: Iterable[Body],
    now: datetime.datetime,
    *,
    namespace: str | None = None,
) -> list[dict[str, Any]]:
    """Every (KCD, selected workload) pair, sorted by namespace, name and kind; `namespace` keeps one namespace.

    Workloads are indexed by (namespace, label, value) and each KCD looks up its selector's first pair: pairing every
    KCD with every workload of its namespace took 5 s for 2,000 of each; this is linear.
    """
    by_label: dict[tuple[str, str, str], list[Body]] = {}
    for w in workloads:
        meta = w.get("metadata") or {}
        ns = str(meta.get("namespace") or "")
        if namespace is None or ns == namespace:
            for k, v in (meta.get("labels") or {}).items():
                by_label.setdefault((ns, str(k), str(v)), []).append(w)
    leased = {
        (str(m.get("namespace") or ""), str(m.get("name") or "")): lz
        for lz in leases
        for m in [lz.get("metadata") or {}]
    }
    found = []
    for kcd in kcds:
        ns = str((kcd.get("metadata") or {}).get("namespace") or "")
        selector = dict((kcd.get("spec") or {}).get("selector") or {})
        if not selector:
            continue  # an empty selector selects nothing (kcd.engine.workload.matches)
        first = next(iter(selector.items()))
        for w in by_label.get((ns, str(first[0]), str(first[1])), ()):
            if matches((w.get("metadata") or {}).get("labels"), selector):
                found.append(item(kcd, w, leased.get(_lease_key(w)), now))
    return sorted(found, key=lambda i: (i["Namespace"], i["Name"], i["Type"], i["CV"]))
