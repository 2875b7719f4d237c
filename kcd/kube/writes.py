"""The writes a plan makes to workloads and Services (kcd.engine.plan's workload and traffic actions).

Each response goes into the watched state at once, so the next step sees the write before its watch event arrives.
A write refused for good (4xx other than 404/409/429: forbidden, invalid, denied by admission) raises Refused, which
the reconciler turns into the engine's decision (kcd.engine.rollout.api_failed).
"""

from __future__ import annotations

import logging

from kcd import metrics
from kcd.engine import plan as actions
from kcd.errors import ApiError, Conflict
from kcd.kube import cluster
from kcd.kube.api import JOBS, SERVICES, WORKLOADS, Kube
from kcd.kube.cache import Cache
from kcd.model import KCD

log = logging.getLogger("kcd.reconciler")
WorkloadAction = actions.SetImage | actions.DeleteStuckPods | actions.Scale | actions.PatchSelector | actions.CreateJob
WORKLOAD_ACTIONS = actions.WORKLOAD_WRITES


class Refused(Exception):
    """A workload or Service write refused for good: the engine decides what that means for the rollout."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def permanent(err: ApiError) -> bool:
    return 400 <= err.status < 500 and err.status not in (404, 409, 429)


def _target(action: WorkloadAction) -> str:
    if isinstance(action, actions.PatchSelector):
        return f"service/{action.service}"
    if isinstance(action, actions.CreateJob):
        return f"job/{action.name}"
    return f"{action.kind.lower()}/{action.name}"


def apply(kube: Kube, cache: Cache, kcd: KCD, action: WorkloadAction) -> None:
    try:
        _apply(kube, cache, kcd, action)
    except ApiError as err:
        if permanent(err):
            raise Refused(f"{_target(action)}: {err.status} {err.message}") from None
        raise


def forget(cache: Cache, namespace: str, action: WorkloadAction) -> None:
    """The target is gone (404): out of the watched state, so the next decision knows."""
    if isinstance(action, actions.PatchSelector):
        cache.services.remove("Service", namespace, action.service)
    elif isinstance(action, actions.CreateJob):
        return
    else:
        cache.remove(action.kind, namespace, action.name)


def _apply(kube: Kube, cache: Cache, kcd: KCD, action: WorkloadAction) -> None:
    ns = kcd.namespace
    if isinstance(action, actions.SetImage):
        cache.put(cluster.set_image(kube, ns, action.kind, action.name, action.container, action.image), action.kind)
        metrics.IMAGE_PATCHES.inc()
        log.info("image set", extra={"kcd": kcd.key, "workload": action.ref, "image": action.image})
    elif isinstance(action, actions.Scale):
        scale = {"spec": {"replicas": action.replicas}}
        cache.put(kube.patch(WORKLOADS[action.kind], ns, action.name, scale), action.kind)
        log.info("scaled", extra={"kcd": kcd.key, "workload": _target(action), "replicas": action.replicas})
    elif isinstance(action, actions.CreateJob):
        created = _create_job(kube, cache, ns, action)
        log.info(
            f"verification job {'created' if created else 'found again'}", extra={"kcd": kcd.key, "job": action.name}
        )
    elif isinstance(action, actions.PatchSelector):
        selector = {"spec": {"selector": dict(action.selector)}}
        cache.services.put(kube.patch(SERVICES, ns, action.service, selector), "Service")
        log.info("selector set", extra={"kcd": kcd.key, "service": action.service, "selector": dict(action.selector)})
    else:
        cached = cache.get(action.kind, ns, action.name) or {}
        revision = str((cached.get("status") or {}).get("updateRevision") or "")
        deleted = cluster.delete_stuck_pods(kube, ns, action.selector, revision)
        log.info("stuck pods deleted", extra={"kcd": kcd.key, "workload": action.name, "pods": deleted})


def _create_job(kube: Kube, cache: Cache, namespace: str, action: actions.CreateJob) -> bool:
    """True when created; False when it existed (a step retried after a crash found its Job again)."""
    try:
        cache.jobs.put(kube.create(JOBS, namespace, dict(action.body)))
        return True
    except Conflict:
        cache.jobs.put(kube.get(JOBS, namespace, action.name))
        return False
