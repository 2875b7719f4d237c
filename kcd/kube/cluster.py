"""Kubernetes-backed adapters for the pure modules: the history ConfigMaps, the config ConfigMap, workload writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcd import history
from kcd.engine.workload import image_patch
from kcd.errors import Conflict, NotFound
from kcd.kube.api import CONFIGMAPS, PODS, STRATEGIC, WORKLOADS, Kube


class ConfigMapHistory:
    """history.History on ConfigMaps `<workload>.history`; writes carry the resourceVersion (no lost updates)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def load(self, namespace: str, workload: str) -> list[history.Record]:
        try:
            cm = self.kube.get(CONFIGMAPS, namespace, history.configmap_name(workload))
        except NotFound:
            return []
        return history.decode((cm.get("data") or {}).get(history.DATA_KEY))

    def add(self, namespace: str, workload: str, record: history.Record, *, max_entries: int) -> None:
        name = history.configmap_name(workload)
        for _ in range(5):
            try:
                cm: dict[str, Any] | None = self.kube.get(CONFIGMAPS, namespace, name)
            except NotFound:
                cm = None
            old = history.decode(((cm or {}).get("data") or {}).get(history.DATA_KEY))
            new = history.add(old, record, max_entries)
            if new == old:
                return  # a repeat of the newest record: the step ran before a restart
            body = history.configmap(namespace=namespace, workload=workload, records=new)
            try:
                if cm is None:
                    self.kube.create(CONFIGMAPS, namespace, body)
                else:
                    body["metadata"]["resourceVersion"] = cm["metadata"]["resourceVersion"]
                    body["metadata"]["labels"] = {**(cm["metadata"].get("labels") or {}), **body["metadata"]["labels"]}
                    self.kube.replace(CONFIGMAPS, namespace, name, body)
                return
            except Conflict:
                continue
        raise Conflict(409, "Conflict", f"history ConfigMap {namespace}/{name} kept changing")


def set_config(kube: Kube, namespace: str, name: str, key: str, value: str) -> bool:
    """spec.config: data[key] = value on the ConfigMap, creating it if needed. False when it already held the value."""
    try:
        cm = kube.get(CONFIGMAPS, namespace, name)
    except NotFound:
        kube.create(
            CONFIGMAPS,
            namespace,
            {
                "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "kcd"}},
                "data": {key: value},
            },
        )
        return True
    if (cm.get("data") or {}).get(key) == value:
        return False
    kube.patch(CONFIGMAPS, namespace, name, {"data": {key: value}})
    return True


def set_image(kube: Kube, namespace: str, kind: str, name: str, container: str, image: str) -> dict[str, Any]:
    """Strategic merge patch of one container's image; the workload as the API server now has it."""
    return kube.patch(WORKLOADS[kind], namespace, name, image_patch(kind, container, image), content_type=STRATEGIC)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def delete_stuck_pods(kube: Kube, namespace: str, selector: Mapping[str, str], update_revision: str) -> list[str]:
    """Delete the not-ready pods of a StatefulSet that are not on `update_revision` (its rollback target): under
    OrderedReady the StatefulSet controller never replaces a broken pod by itself. The names deleted."""
    deleted = []
    for pod in kube.list(PODS, namespace, labels=selector):
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get("controller-revision-hash") != update_revision and not _ready(pod):
            name = str(pod["metadata"]["name"])
            try:
                kube.delete(PODS, namespace, name)
            except NotFound:
                continue
            deleted.append(name)
    return deleted
