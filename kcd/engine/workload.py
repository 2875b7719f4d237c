"""Workloads as kcd sees them: where a kind keeps its pod template, how to patch a container's image, and whether a
rollout of it has finished or failed. Pure functions on raw API bodies (dicts); no client library.

Kinds: Deployment, StatefulSet, DaemonSet (apps/v1) and CronJob (batch/v1). Selection is by the workload's own metadata
labels, never by pods or ReplicaSets (the original matched those too and then patched Pods).

"Done" means every pod the workload wants runs the new template, because a done version becomes the live version and
the rollback target. Per kind and strategy:

- Status counts describe the observed generation only, so nothing counts until status.observedGeneration catches up.
- ``updateStrategy.type: OnDelete`` (StatefulSet, DaemonSet) is done only when every pod runs the new template and is
  ready; the message tells the operator to delete the old pods, since nothing else moves them. The StatefulSet check
  leaves out currentRevision: under OnDelete the controller never promotes it (kubernetes/kubernetes#73492).
- A StatefulSet ``rollingUpdate.partition`` >= replicas (replicas > 0) fails: no pod would ever run the new template.
  A lower partition is done when the pods at or above it are updated and all replicas are ready.
- A paused Deployment (``spec.paused``) reports paused, not failed, so the engine can stop its timeout clock until it
  is resumed; one whose pods already all run the template is done.
- A CronJob is done once patched (``applied_only``): the job template is what it runs and there is no pod to move,
  so the engine and history say "applied", not "rolled out".
- A StatefulSet with RollingUpdate and OrderedReady (both defaults) never replaces a broken pod, not even to roll back,
  until that pod is deleted (kubernetes/kubernetes#67250); ``stuck_on_rollback`` and ``pod_selector`` let the engine
  delete those pods.
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
    paused: bool = False  # the workload waits for its owner (Deployment spec.paused); no timeout runs meanwhile
    applied_only: bool = False  # done means patched, not rolled out (CronJob: the next scheduled job runs it)


_UNOBSERVED = Progress(False, message="waiting for the controller to observe the new generation")
_PAUSED = Progress(False, paused=True, message="paused (spec.paused): the rollout continues when it is resumed")
_APPLIED = Progress(True, applied_only=True, message="applied to the job template; the next scheduled job runs it")
_DELETE_HINT = "delete the old pods to roll them"


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


def pod_selector(body: Body) -> dict[str, str]:
    """spec.selector.matchLabels: the pods the workload owns (empty when it has none, or only matchExpressions)."""
    labels = ((body.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _n(fields: Body, key: str, default: int = 0) -> int:
    value = fields.get(key)
    return default if value is None else int(value)


def _strategy(spec: Body) -> str:
    return str((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate")


def _observed(body: Body) -> bool:
    status = body.get("status") or {}
    return _n(status, "observedGeneration") >= _n(body["metadata"], "generation")


def _deployment_counts(want: int, status: Body) -> Progress:
    updated, total, available = (_n(status, k) for k in ("updatedReplicas", "replicas", "availableReplicas"))
    if updated < want:
        return Progress(False, message=f"{updated} of {want} replicas updated")
    if total > updated:
        return Progress(False, message=f"{total - updated} old replicas pending termination")
    if available < updated:
        return Progress(False, message=f"{available} of {updated} updated replicas available")
    return Progress(True, message=f"{available} replicas available")


def _deployment(body: Body) -> Progress:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    # Conditions describe the observed generation only: right after a patch (e.g. a rollback) the old
    # ProgressDeadlineExceeded is still there and must not count against the new template.
    if not _observed(body):
        return _UNOBSERVED
    counts = _deployment_counts(_n(spec, "replicas", 1), status)
    if spec.get("paused") and not counts.done:
        return _PAUSED
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Progress(done=False, failed=True, message=f"progress deadline exceeded: {cond.get('message', '')}")
    return counts


def _on_delete(updated: int, healthy: int, want: int, noun: str) -> Progress:
    if updated < want:
        return Progress(False, message=f"OnDelete: {updated} of {want} pods run the new template; {_DELETE_HINT}")
    if healthy < want:
        return Progress(False, message=f"OnDelete: {healthy} of {want} pods {noun}")
    return Progress(True, message=f"OnDelete: all {want} pods run the new template")


def _statefulset(body: Body) -> Progress:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    want = _n(spec, "replicas", 1)
    partition = _n((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}, "partition")
    if want > 0 and partition >= want and _strategy(spec) == "RollingUpdate":
        message = f"rollingUpdate.partition {partition} >= replicas {want}: no pod would run the new template; "
        message += "lower the partition"
        return Progress(False, failed=True, message=message)
    if not _observed(body):
        return _UNOBSERVED
    updated, ready = _n(status, "updatedReplicas"), _n(status, "readyReplicas")
    if _strategy(spec) == "OnDelete":
        return _on_delete(updated, ready, want, "ready")
    if updated < want - partition:
        return Progress(False, message=f"{updated} of {want - partition} replicas updated")
    # currentRevision becomes updateRevision only when a rollout covers every pod, i.e. never with a partition.
    if partition == 0 and status.get("updateRevision") != status.get("currentRevision"):
        return Progress(False, message="waiting for the update revision to become current")
    if ready < want:
        return Progress(False, message=f"{ready} of {want} replicas ready")
    return Progress(True, message=f"{ready} replicas ready")


def _daemonset(body: Body) -> Progress:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if not _observed(body):
        return _UNOBSERVED
    desired, updated, available = (
        _n(status, k) for k in ("desiredNumberScheduled", "updatedNumberScheduled", "numberAvailable")
    )
    if desired == 0:
        return Progress(True, message="no node runs a pod of it (desiredNumberScheduled 0): nothing to roll")
    if _strategy(spec) == "OnDelete":
        return _on_delete(updated, available, desired, "available")
    if updated < desired:
        return Progress(False, message=f"{updated} of {desired} pods updated")
    if available < desired:
        return Progress(False, message=f"{available} of {desired} pods available")
    return Progress(True, message=f"{available} pods available")


def progress(body: Body) -> Progress:
    """Has the workload finished rolling out its current template? A CronJob's patch is its rollout (applied_only)."""
    kind = body.get("kind")
    if kind == "CronJob":
        return _APPLIED
    check = {"Deployment": _deployment, "StatefulSet": _statefulset, "DaemonSet": _daemonset}.get(str(kind))
    if check is None:
        return Progress(False, failed=True, message=f"kcd does not roll out a {kind}")
    return check(body)


def stuck_on_rollback(body: Body) -> bool:
    """Would rolling this back leave its broken pod in place? True for a StatefulSet with RollingUpdate and OrderedReady
    (the defaults) that is mid-update or has unready replicas: the controller waits on that pod forever (#67250)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if body.get("kind") != "StatefulSet" or _strategy(spec) != "RollingUpdate":
        return False
    if (spec.get("podManagementPolicy") or "OrderedReady") != "OrderedReady":
        return False
    if not _observed(body):  # the revisions still describe the template before the rollback's patch
        return False
    updating = status.get("updateRevision") != status.get("currentRevision")
    return updating or _n(status, "readyReplicas") < _n(spec, "replicas", 1)
