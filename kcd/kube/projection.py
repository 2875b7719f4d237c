"""The slim copy of a watched body that kcd.kube.cache keeps: what the engine reads, nothing else, compactly.

Bodies are projected to what the engine reads (kcd.engine.view, kcd.engine.workload): names, labels, kcd.io
annotations, the pod template's container names and images, rollout fields of spec and status, and who wrote each
container's image (from managedFields) — not the whole object with its managedFields, which is most of a Deployment's
size. The copy shares nothing with kopf's body, and its keys and short strings are interned: every Deployment's
projection has the same keys and mostly the same condition types, reasons and messages, and json decodes each body's
strings anew (about 75 strings per KCD and Deployment otherwise kept once per object).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from kcd.engine.view import MANAGERS_KEY
from kcd.kube.api import FIELD_MANAGER

Body = dict[str, Any]
_WORKLOAD_SPEC = ("replicas", "paused", "updateStrategy", "podManagementPolicy", "selector", "schedule", "suspend")
_SHARED_CHARS = 64  # strings up to this long are interned (names, label values, reasons); longer ones are unique


def lean(value: Any) -> Any:
    """A deep copy of decoded JSON with its keys and short strings interned."""
    if isinstance(value, dict):
        return {sys.intern(str(k)): lean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lean(v) for v in value]
    if isinstance(value, str) and len(value) <= _SHARED_CHARS:
        return sys.intern(value)
    return value


def _meta(meta: Mapping[str, Any], *, all_annotations: bool) -> Body:
    notes = meta.get("annotations") or {}
    kept = {k: v for k, v in notes.items() if all_annotations or k.startswith("kcd.io/candidate-")}
    keys = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "labels")
    slim = {k: meta[k] for k in keys if k in meta}
    slim["annotations"] = {k: v for k, v in kept.items() if not k.startswith("kcd.io/last-handled")}
    return slim


def _containers(template: Mapping[str, Any]) -> Body:
    spec = template.get("spec") or {}
    containers = [{"name": c.get("name"), "image": c.get("image")} for c in spec.get("containers") or []]
    return {
        "metadata": {"labels": (template.get("metadata") or {}).get("labels") or {}},
        "spec": {"containers": containers},
    }


def image_managers(meta: Mapping[str, Any], kind: str) -> dict[str, list[str]]:
    """container name -> field managers (other than kcd) that own its image field."""
    found: dict[str, list[str]] = {}
    for entry in meta.get("managedFields") or []:
        manager = str(entry.get("manager") or "")
        fields = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        if kind == "CronJob":
            fields = ((fields.get("f:jobTemplate") or {}).get("f:spec")) or {}
        containers = ((fields.get("f:template") or {}).get("f:spec") or {}).get("f:containers") or {}
        for key, value in containers.items():
            if manager != FIELD_MANAGER and key.startswith("k:") and "f:image" in (value or {}):
                name = key[2:].partition('"name":"')[2].partition('"')[0]
                found.setdefault(name, []).append(manager)
    return found


def project(body: Mapping[str, Any], kind: str) -> Body:
    """The slim copy of a body that the cache keeps (a copy: kopf's body objects are its own)."""
    meta = body.get("metadata") or {}
    if kind == "KCD":
        slim = {
            "kind": kind,
            "metadata": _meta(meta, all_annotations=True),
            "spec": body.get("spec"),
            "status": body.get("status"),
        }
        return dict(lean(slim))
    spec = body.get("spec") or {}
    slim_spec: Body = {k: spec[k] for k in _WORKLOAD_SPEC if k in spec}
    if kind == "CronJob":
        template = (((spec.get("jobTemplate") or {}).get("spec")) or {}).get("template") or {}
        slim_spec["jobTemplate"] = {"spec": {"template": _containers(template)}}
    else:
        slim_spec["template"] = _containers(spec.get("template") or {})
    status = dict(body.get("status") or {})
    status["conditions"] = [
        {k: c.get(k) for k in ("type", "status", "reason", "message")} for c in status.get("conditions") or []
    ]
    slim = {
        "kind": kind,
        "metadata": _meta(meta, all_annotations=False),
        "spec": slim_spec,
        "status": status,
        MANAGERS_KEY: image_managers(meta, kind),
    }
    return dict(lean(slim))
