"""What the injection webhook adds to a pod: pure, no kopf, no client (the reads come in through `Lookups`).

A pod labelled ``kcd.io/inject: "true"`` and annotated ``kcd.io/kcd: <kcd>`` gets the syncer container as a native
sidecar (first init container, ``restartPolicy: Always``: it starts before the app and never keeps a Job pod alive).
The container is the chart's (kcd-syncer.container, read from the ``<fullname>-syncer`` ConfigMap); this module fills in
only the per-pod parts: KCD_NAME, KCD_WORKLOAD_KIND and KCD_WORKLOAD_NAME (by name), the image tag (``data.version`` of
the ``--configmap-key`` ConfigMap, so syncers follow a kcd upgrade) and the liveness probe's failureThreshold (the
KCD's ``livenessSeconds`` over the probe's period: /healthz failing that long restarts the syncer).

The workload is the pod's controller, followed up to a kind kcd manages: Pod → ReplicaSet → Deployment, Pod →
StatefulSet, Pod → DaemonSet, Pod → Job → CronJob. A pod without one (bare, a bare ReplicaSet or Job) is admitted as it
is, with a warning: a syncer must report to a workload the controller reads.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kcd import kinds, model, syncercontainer
from kcd.model import KCD

Body = Mapping[str, Any]

# Owner kinds the pod's controller may be, and how to get from each to the workload kcd manages.
_DIRECT = {"StatefulSet", "DaemonSet"}
_VIA = {"ReplicaSet": "Deployment", "Job": "CronJob"}


class Lookups(Protocol):
    """The reads an admission needs; None for an object that does not exist."""

    def owner(self, kind: str, namespace: str, name: str) -> Body | None: ...  # a ReplicaSet or a Job
    def kcd(self, namespace: str, name: str) -> Body | None: ...
    def version(self) -> str | None: ...  # data.version of the --configmap-key ConfigMap


@dataclass(frozen=True)
class Workload:
    kind: str  # a kcd.kinds name
    name: str


@dataclass(frozen=True)
class Decision:
    """`init_containers` is the pod's new spec.initContainers (None: leave the pod as it is)."""

    init_containers: list[dict[str, Any]] | None
    workload: Workload | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def controller_of(body: Body) -> tuple[str, str] | None:
    """(kind, name) of the object's controller owner reference."""
    for ref in (body.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return str(ref.get("kind", "")), str(ref.get("name", ""))
    return None


def workload_of(pod: Body, namespace: str, lookups: Lookups) -> Workload | None:
    ref = controller_of(pod)
    if ref is None:
        return None
    kind, name = ref
    if kind in _DIRECT:
        return Workload(kind, name)
    parent_kind = _VIA.get(kind)
    if parent_kind is None:
        return None
    owner = lookups.owner(kind, namespace, name)
    parent = controller_of(owner) if owner is not None else None
    if parent is None or parent[0] != parent_kind:
        return None
    return Workload(parent_kind, parent[1])


def has_syncer(pod: Body) -> bool:
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    return any(c.get("name") == syncercontainer.CONTAINER_NAME for c in containers)


def liveness_seconds(kcd_body: Body | None) -> int:
    if kcd_body is None:
        return model.DEFAULT_LIVENESS_SECONDS
    try:
        return KCD.from_body(kcd_body).spec.liveness_seconds
    except (ValueError, TypeError, KeyError):  # a KCD the controller refuses too: the CRD's default
        return model.DEFAULT_LIVENESS_SECONDS


def with_tag(image: str, tag: str | None) -> str:
    """`image` with its tag replaced by `tag` (digest-pinned images and an empty tag are left as they are)."""
    if not tag or "@" in image:
        return image
    colon = image.rfind(":")
    repo = image[:colon] if colon > image.rfind("/") else image
    return f"{repo}:{tag}"


def container_for(
    template: Body, *, kcd: str, workload: Workload, liveness: int, version: str | None
) -> dict[str, Any]:
    """The chart's container with this pod's values filled in by name."""
    container: dict[str, Any] = copy.deepcopy(dict(template))
    values = {
        syncercontainer.ENV_KCD: kcd,
        syncercontainer.ENV_WORKLOAD_KIND: workload.kind,
        syncercontainer.ENV_WORKLOAD_NAME: workload.name,
    }
    for env in container.get("env") or ():
        if env.get("name") in values:
            env["value"] = values[env["name"]]
    container["image"] = with_tag(str(container.get("image", "")), version)
    probe = container.get("livenessProbe")
    if probe:
        probe["failureThreshold"] = max(1, math.ceil(liveness / int(probe.get("periodSeconds") or 10)))
    return container


def decide(pod: Body, *, namespace: str, template: Body, lookups: Lookups) -> Decision:
    """What to add to `pod` (being created in `namespace`): the syncer as its first init container, or nothing."""
    if has_syncer(pod):
        return Decision(None)
    kcd_name = ((pod.get("metadata") or {}).get("annotations") or {}).get(model.KCD_NAME, "")
    if not kcd_name:
        return Decision(None, warnings=(f"kcd: no {model.KCD_NAME} annotation: no syncer injected",))
    workload = workload_of(pod, namespace, lookups)
    if workload is None or kinds.find(workload.kind) is None:
        return Decision(None, warnings=(f"kcd: no {'/'.join(kinds.NAMES)} owns this pod: no syncer injected",))
    container = container_for(
        template,
        kcd=kcd_name,
        workload=workload,
        liveness=liveness_seconds(lookups.kcd(namespace, kcd_name)),
        version=lookups.version(),
    )
    existing = list((pod.get("spec") or {}).get("initContainers") or ())
    return Decision([container, *existing], workload=workload)
