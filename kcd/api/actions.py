"""Write actions on a KCD for an authorised caller: rollback, clear, pause, resume — the patches the CLI makes
(``kcd.operations``), applied conditionally on the KCD as read, and audited as a Normal Event on the KCD naming the
caller (``reason: ManualAction``), an Event body from kcd.eventbodies like the controller's.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcd import eventbodies, history, operations
from kcd.api.auth import Caller
from kcd.api.store import Source
from kcd.engine.workload import matches
from kcd.kube import rest

log = logging.getLogger("kcd.api.actions")
ACTIONS = ("rollback", "clear", "pause", "resume")
ATTEMPTS = 5  # conditional writes lost to another writer (the controller) before giving up
COMPONENT = "kcd-api"
REASON = "ManualAction"


class Busy(Exception):
    """The KCD kept changing under every attempt (409)."""


@dataclass(frozen=True)
class Request:
    action: str
    namespace: str
    name: str
    version: str | None = None  # rollback: the target (None: the previous live version); clear: only this one

    @property
    def path(self) -> str:
        return f"/apis/kcd.io/v1/namespaces/{self.namespace}/kcds/{self.name}"


def subresource(action: str) -> str:
    """What the action patches, for the caller's SubjectAccessReview: clear writes the status subresource."""
    return "status" if action == "clear" else ""


def _records(source: Source, kcd: Mapping[str, Any]) -> list[history.Record]:
    """The history of the KCD's selected workloads (the cache's workloads; one GET per history ConfigMap)."""
    meta, selector = kcd.get("metadata") or {}, dict((kcd.get("spec") or {}).get("selector") or {})
    names = {
        w["metadata"]["name"]
        for w in source.snapshot().workloads
        if w["metadata"]["namespace"] == meta.get("namespace") and matches(w["metadata"].get("labels"), selector)
    }
    raw = [r for n in sorted(names) for r in source.history(str(meta.get("namespace")), n) or []]
    return [r for r in map(history.Record.from_dict, raw) if r is not None]


def change(source: Source, req: Request, kcd: Mapping[str, Any], caller: Caller) -> operations.Change:
    if req.action == "rollback":
        records = _records(source, kcd) if req.version is None else []
        now = datetime.datetime.now(datetime.UTC)
        return operations.rollback(kcd, records, to=req.version, who=caller.username, now=now)
    if req.action == "clear":
        return operations.clear(kcd, version=req.version)
    return operations.pause(kcd) if req.action == "pause" else operations.resume(kcd)


def run(client: rest.Client, source: Source, req: Request, caller: Caller) -> dict[str, Any]:
    """Apply the action; raises rest.NotFound, operations.OperationError, Busy or rest.ApiError."""
    for _attempt in range(ATTEMPTS):
        kcd = client.get(req.path)
        made = change(source, req, kcd, caller)
        patch = dict(made.patch)
        patch.setdefault("metadata", {})["resourceVersion"] = kcd["metadata"]["resourceVersion"]
        try:
            client.patch(req.path + ("/status" if made.status else ""), patch)
        except rest.Conflict:
            continue
        audited = audit(client, kcd, req, caller, made.summary)
        key = f"{req.namespace}/{req.name}"
        return {"kcd": key, "action": req.action, "by": caller.username, "summary": made.summary, "audited": audited}
    raise Busy(f"kcd {req.namespace}/{req.name} kept changing ({ATTEMPTS} conflicting writes); nothing was changed")


def audit(client: rest.Client, kcd: Mapping[str, Any], req: Request, caller: Caller, summary: str) -> bool:
    """The Normal Event naming the caller; False (logged) when it could not be posted: the change stands."""
    what = f"{req.action} {req.version}" if req.version else req.action
    message = f"{caller.username} asked to {what}: {summary}"
    try:
        client.post(f"/api/v1/namespaces/{req.namespace}/events", event(kcd, message))
    except rest.ApiError as err:
        log.warning("could not post the audit event of %s on %s/%s: %s", req.action, req.namespace, req.name, err)
        return False
    log.info(message, extra={"kcd": f"{req.namespace}/{req.name}", "reason": REASON, "by": caller.username})
    return True


def event(kcd: Mapping[str, Any], message: str) -> dict[str, Any]:
    meta = kcd.get("metadata") or {}
    return eventbodies.body(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        reason=REASON,
        message=message,
        warning=False,
        component=COMPONENT,
    )
