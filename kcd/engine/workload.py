"""Workloads as kcd sees them: where a kind keeps its pod template, how to patch a container's image, and whether a
rollout of it has finished or failed. Pure functions on raw API bodies (dicts); no client library.

Kinds: Deployment, StatefulSet, DaemonSet (apps/v1) and CronJob (batch/v1). Selection is by the workload's own metadata
labels, never by pods or ReplicaSets (the original matched those too and then patched Pods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True)
class Progress:
    done: bool
    failed: bool = False
    message: str = ""


def ref(body: Body) -> str:
    """A short name for logs, events and history: 'deployment/web'."""
    return f"{body.get('kind', 'Workload').lower()}/{body['metadata']['name']}"


def pod_template(body: Body) -> Body:
    spec = body.get("spec") or {}
    if body.get("kind") == "CronJob":
        return dict(((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {})
    return dict(spec.get("template") or {})


def container_image(body: Body, container: str) -> str | None:
    """The image of the named container (regular containers only), or None when the workload has no such container."""
    for c in (pod_template(body).get("spec") or {}).get("containers") or []:
        if c.get("name") == container:
            return str(c.get("image") or "")
    return None


def image_patch(kind: str, container: str, image: str) -> Body:
    """A strategic-merge patch setting one container's image (containers merge by name, so others are untouched)."""
    template = {"spec": {"containers": [{"name": container, "image": image}]}}
    if kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": template}}}}
    return {"spec": {"template": template}}


def matches(labels: dict[str, str] | None, selector: dict[str, str]) -> bool:
    have = labels or {}
    return bool(selector) and all(have.get(k) == v for k, v in selector.items())


def _observed(body: Body) -> bool:
    status = body.get("status") or {}
    return int(status.get("observedGeneration") or 0) >= int(body["metadata"].get("generation") or 0)


def _deployment(body: Body) -> Progress:
    status = body.get("status") or {}
    # Conditions describe the observed generation only: right after a patch (e.g. a rollback) the old
    # ProgressDeadlineExceeded is still there and must not count against the new template.
    if not _observed(body):
        return Progress(False, message="waiting for the controller to observe the new generation")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Progress(done=False, failed=True, message=f"progress deadline exceeded: {cond.get('message', '')}")
    want = int((body.get("spec") or {}).get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < want:
        return Progress(False, message=f"{updated} of {want} replicas updated")
    if total > updated:
        return Progress(False, message=f"{total - updated} old replicas pending termination")
    if available < updated:
        return Progress(False, message=f"{available} of {updated} updated replicas available")
    return Progress(True, message=f"{available} replicas available")


def _statefulset(body: Body) -> Progress:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Progress(True, message="OnDelete: pods take the new image when they are deleted")
    if not _observed(body):
        return Progress(False, message="waiting for the controller to observe the new generation")
    want = int(spec.get("replicas", 1))
    partition = int(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    if updated < want - partition:
        return Progress(False, message=f"{updated} of {want - partition} replicas updated")
    if partition == 0 and status.get("updateRevision") != status.get("currentRevision"):
        return Progress(False, message="waiting for the update revision to become current")
    if ready < want:
        return Progress(False, message=f"{ready} of {want} replicas ready")
    return Progress(True, message=f"{ready} replicas ready")


def _daemonset(body: Body) -> Progress:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Progress(True, message="OnDelete: pods take the new image when they are deleted")
    if not _observed(body):
        return Progress(False, message="waiting for the controller to observe the new generation")
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return Progress(False, message=f"{updated} of {desired} pods updated")
    if available < desired:
        return Progress(False, message=f"{available} of {desired} pods available")
    return Progress(True, message=f"{available} pods available")


def progress(body: Body) -> Progress:
    """Has the workload finished rolling out its current template? A CronJob's patch is its rollout."""
    kind = body.get("kind")
    if kind == "Deployment":
        return _deployment(body)
    if kind == "StatefulSet":
        return _statefulset(body)
    if kind == "DaemonSet":
        return _daemonset(body)
    return Progress(True, message="the next scheduled job uses the new image")
