"""Kubernetes-backed adapters for the pure modules: the history ConfigMaps, the config ConfigMap, workload writes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

from kcd import history
from kcd.engine.workload import image_patch
from kcd.errors import Conflict, NotFound
from kcd.kube.api import CONFIGMAPS, PODS, STRATEGIC, WORKLOADS, Kube


class _Known(NamedTuple):
    """A history ConfigMap as our last write (or read) left it."""

    rv: str
    labels: Mapping[str, str]
    data: str


class ConfigMapHistory:
    """history.History on ConfigMaps `<workload>.history`; writes carry the resourceVersion (no lost updates).

    One request per record in the common case, not a GET before each write: the ConfigMap as our last write left it
    is remembered (up to REMEMBER_BYTES of data in all, the least recently written forgotten first), and a ConfigMap
    not remembered is created (a workload's first record; after a restart the create finds it there). A 409 (it
    exists, or someone changed it since) reads it and writes again. Labels that others put on it are kept.
    """

    REMEMBER_BYTES = 4 * 2**20

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._lock = threading.Lock()
        self._known: OrderedDict[tuple[str, str], _Known] = OrderedDict()
        self._bytes = 0

    def load(self, namespace: str, workload: str) -> list[history.Record]:
        found = self._read(namespace, history.configmap_name(workload))
        return history.decode(found.data) if found else []

    def add(self, namespace: str, workload: str, record: history.Record, *, max_entries: int) -> None:
        name = history.configmap_name(workload)
        with self._lock:
            known = self._known.get((namespace, name))
        for _ in range(5):
            old = history.decode(known.data) if known else []
            new = history.add(old, record, max_entries)
            if known and new == old:
                return  # a repeat of the newest record: the step ran before a restart
            body = history.configmap(namespace=namespace, workload=workload, records=new)
            try:
                if known is None:
                    written = self.kube.create(CONFIGMAPS, namespace, body)
                else:
                    body["metadata"]["resourceVersion"] = known.rv
                    body["metadata"]["labels"] = {**known.labels, **body["metadata"]["labels"]}
                    written = self.kube.replace(CONFIGMAPS, namespace, name, body)
            except Conflict:
                known = self._read(namespace, name)
                continue
            self._remember(namespace, name, written)
            return
        raise Conflict(409, "Conflict", f"history ConfigMap {namespace}/{name} kept changing")

    def _read(self, namespace: str, name: str) -> _Known | None:
        try:
            cm = self.kube.get(CONFIGMAPS, namespace, name)
        except NotFound:
            return None
        return _known(cm)

    def _remember(self, namespace: str, name: str, cm: Mapping[str, Any]) -> None:
        key, known = (namespace, name), _known(cm)
        with self._lock:
            old = self._known.pop(key, None)
            self._bytes += len(known.data) - (len(old.data) if old else 0)
            self._known[key] = known
            while self._bytes > self.REMEMBER_BYTES and len(self._known) > 1:
                self._bytes -= len(self._known.popitem(last=False)[1].data)


def _known(cm: Mapping[str, Any]) -> _Known:
    meta = cm.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    return _Known(
        str(meta.get("resourceVersion") or ""), labels, str((cm.get("data") or {}).get(history.DATA_KEY) or "")
    )


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
