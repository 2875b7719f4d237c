"""Slim projections of API bodies: only what ``kcd.overview.items`` and the pages read. Pure, stdlib only.

The store keeps every watched object for the life of the process, so what it keeps bounds the API's memory: a
Deployment body is ~4 KB of JSON (managedFields, the full pod spec, conditions), its projection a few hundred bytes.
Strings repeated across thousands of objects (namespaces, kinds, label values) are interned.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

Body = dict[str, Any]
_PREFIX = "kcd.io/"
_COUNTS = ("availableReplicas", "numberAvailable", "observedGeneration")
_LEASE_SPEC = ("holderIdentity", "renewTime", "leaseDurationSeconds")


def key(body: Mapping[str, Any]) -> tuple[str, str]:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _intern(value: Any) -> str:
    return sys.intern(str(value or ""))


def _meta(body: Mapping[str, Any], *, labels: bool) -> Body:
    meta = body.get("metadata") or {}
    notes = {k: str(v) for k, v in (meta.get("annotations") or {}).items() if k.startswith(_PREFIX)}
    slim: Body = {"name": str(meta.get("name") or ""), "namespace": _intern(meta.get("namespace"))}
    if labels:
        slim["labels"] = {_intern(k): _intern(v) for k, v in (meta.get("labels") or {}).items()}
    if notes:
        slim["annotations"] = notes
    return slim


def _containers(template: Mapping[str, Any]) -> list[Body]:
    found = (template.get("spec") or {}).get("containers") or []
    return [{"name": _intern(c.get("name")), "image": str(c.get("image") or "")} for c in found if isinstance(c, dict)]


def workload(body: Mapping[str, Any], kind: str) -> Body:
    """kind, metadata (name, namespace, labels, kcd.io/* annotations), the pod template's container names and
    images where kcd.engine.workload.pod_template looks for them, and the status counts of the items."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        slim_spec: Body = {"jobTemplate": {"spec": {"template": {"spec": {"containers": _containers(template)}}}}}
        slim_status: Body = {"active": [{}] * len(status.get("active") or [])}
    else:
        slim_spec = {"template": {"spec": {"containers": _containers(spec.get("template") or {})}}}
        slim_status = {k: status[k] for k in _COUNTS if isinstance(status.get(k), int)}
    return {"kind": _intern(kind), "metadata": _meta(body, labels=True), "spec": slim_spec, "status": slim_status}


def kcd(body: Mapping[str, Any]) -> Body:
    """The KCD's spec and status as they are (small), metadata without managedFields."""
    meta = _meta(body, labels=False)
    meta["uid"] = str((body.get("metadata") or {}).get("uid") or "")
    return {"kind": "KCD", "metadata": meta, "spec": body.get("spec") or {}, "status": body.get("status") or {}}


def lease(body: Mapping[str, Any]) -> Body:
    """A syncer Lease: metadata with the kcd.io/syncer-* annotations, and the spec fields kcd.syncerhealth reads."""
    spec = body.get("spec") or {}
    return {"metadata": _meta(body, labels=False), "spec": {k: spec[k] for k in _LEASE_SPEC if k in spec}}
