"""Watched state: slim projections of the KCDs and workloads kopf delivers, so that a step reads no API server.

kopf watches every KCD and workload kind; its event handlers (kcd.controller) `put` each body here and the responses
of our own writes go in too, so the next step sees what we wrote before its watch event arrives. An older
resourceVersion never replaces a newer one (a late watch event after our write). Bodies are projected to what the
engine reads (kcd.engine.view, kcd.engine.workload): names, labels, kcd.io annotations, the pod template's container
names and images, rollout fields of spec and status, and who wrote each container's image (from managedFields) —
not the whole object with its managedFields, which is most of a Deployment's size.

The syncers' Leases (label ``app.kubernetes.io/component=kcd-syncer``) are kept read (kcd.syncerhealth.Health) by
name; `Leases.put` tells whether a KCD's SyncerHealthy could change with the new one, so a mere renewal wakes nothing.

`prime(kube, namespace)` lists everything once at start (one LIST per kind, paged): kopf gives no signal when its own
initial listing is complete, and a step must never mistake "not listed yet" for "deleted".
"""

from __future__ import annotations

import copy
import datetime
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from kcd import kinds, syncerhealth
from kcd.engine.verify import VERIFY_FOR
from kcd.engine.view import MANAGERS_KEY
from kcd.engine.workload import matches
from kcd.kube.api import ENDPOINTSLICES, FIELD_MANAGER, JOBS, KCDS, LEASES, SERVICES, WORKLOADS, Kube
from kcd.kube.jobs import Jobs
from kcd.kube.services import Services

Body = dict[str, Any]
PRIME_PAGE = 250  # objects per LIST page at start: bounds the transient memory of a full Deployment list
Key = tuple[str, str, str]  # (kind, namespace, name)
_TEMPLATE_SPEC = ("containers",)
_WORKLOAD_SPEC = ("replicas", "paused", "updateStrategy", "podManagementPolicy", "selector", "schedule", "suspend")


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
    """The slim copy of a body that the cache keeps."""
    meta = body.get("metadata") or {}
    if kind == "KCD":
        return {
            "kind": kind,
            "metadata": _meta(meta, all_annotations=True),
            # A copy: kopf's body objects are its own, and the cache outlives the event.
            "spec": copy.deepcopy(body.get("spec")),
            "status": copy.deepcopy(body.get("status")),
        }
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
    return {
        "kind": kind,
        "metadata": _meta(meta, all_annotations=False),
        "spec": slim_spec,
        "status": status,
        MANAGERS_KEY: image_managers(meta, kind),
    }


def _newer(new: str, old: str) -> bool:
    if new.isdigit() and old.isdigit():
        return int(new) >= int(old)
    return True


def _labels(body: Body) -> dict[str, str]:
    return {str(k): str(v) for k, v in (body["metadata"].get("labels") or {}).items()}


def service_names(kcd: Mapping[str, Any]) -> tuple[str, ...]:
    """The Services a KCD's strategy routes with (blue-green: the live and the verification Service)."""
    blue_green = ((kcd.get("spec") or {}).get("strategy") or {}).get("blueGreen") or {}
    names = (blue_green.get("serviceName"), blue_green.get("verificationServiceName"))
    return tuple(str(n) for n in names if n)


def selector_of(kcd: Body) -> dict[str, str]:
    return {str(k): str(v) for k, v in ((kcd.get("spec") or {}).get("selector") or {}).items()}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Leases:
    """Thread-safe: the syncers' Leases, read, by (namespace, Lease name)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._health: dict[tuple[str, str], syncerhealth.Health] = {}

    def put(self, body: Mapping[str, Any], now: datetime.datetime | None = None) -> bool:
        """Keep it; True when SyncerHealthy may change with it: a new Lease, another error (or its start), or a
        renewal of a Lease that had gone stale. A renewal of a live Lease with the same outcome is False."""
        meta = body.get("metadata") or {}
        key, new = (str(meta.get("namespace") or ""), str(meta.get("name"))), syncerhealth.read(body)
        with self._lock:
            old, self._health[key] = self._health.get(key), new
        if old is None or (old.error, old.error_since) != (new.error, new.error_since):
            return True
        return syncerhealth.state(old, now or _now()) == "Stale"

    def remove(self, namespace: str, name: str) -> bool:
        with self._lock:
            return self._health.pop((namespace, name), None) is not None

    def get(self, namespace: str, name: str) -> syncerhealth.Health | None:
        with self._lock:
            return self._health.get((namespace, name))


class Cache:
    """Thread-safe: kopf's handlers put from the event loop, steps read from the thread pool.

    Indexed so that no lookup scans the cache: workloads by (namespace, label, value), KCDs by the (label, value) pairs
    of their selectors. A step then costs the same with 10 or 10,000 objects watched.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[Key, Body] = {}
        self._workload_labels: dict[tuple[str, str, str], set[Key]] = {}  # (ns, label, value) -> workloads
        self._kcd_selectors: dict[tuple[str, str, str], set[Key]] = {}  # (ns, label, value) -> KCDs selecting it
        self._kcd_services: dict[tuple[str, str], set[Key]] = {}  # (ns, Service name) -> KCDs routing with it
        self._lease_owners: dict[tuple[str, str], Key] = {}  # (ns, syncer Lease name) -> its workload
        self.services = Services()
        self.jobs = Jobs()
        self.leases = Leases()
        self.ready = threading.Event()

    def _pairs(self, key: Key, body: Body) -> tuple[dict[tuple[str, str, str], set[Key]], dict[str, str]]:
        if key[0] == "KCD":
            return self._kcd_selectors, selector_of(body)
        return self._workload_labels, _labels(body)

    def _index(self, key: Key, body: Body, *, add: bool) -> None:
        if key[0] != "KCD":
            lease = (key[1], syncerhealth.lease_name(key[0], key[2]))
            if add:
                self._lease_owners[lease] = key
            else:
                self._lease_owners.pop(lease, None)
        if key[0] == "KCD":
            for name in service_names(body):
                users = self._kcd_services.setdefault((key[1], name), set())
                users.add(key) if add else users.discard(key)
        index, pairs = self._pairs(key, body)
        for label, value in pairs.items():
            entry = (key[1], label, value)
            if add:
                index.setdefault(entry, set()).add(key)
            elif entry in index:
                index[entry].discard(key)
                if not index[entry]:
                    del index[entry]

    def put(self, body: Mapping[str, Any], kind: str | None = None) -> None:
        kind = kind or str(body.get("kind"))
        meta = body.get("metadata") or {}
        key = (kind, str(meta.get("namespace") or ""), str(meta.get("name")))
        slim = project(body, kind)
        rv = str(meta.get("resourceVersion") or "")
        with self._lock:
            old = self._objects.get(key)
            if old is not None and not _newer(rv, str(old["metadata"].get("resourceVersion") or "")):
                return
            if old is not None:
                self._index(key, old, add=False)
            self._objects[key] = slim
            self._index(key, slim, add=True)

    def remove(self, kind: str, namespace: str, name: str) -> None:
        key = (kind, namespace, name)
        with self._lock:
            old = self._objects.pop(key, None)
            if old is not None:
                self._index(key, old, add=False)

    def get(self, kind: str, namespace: str, name: str) -> Body | None:
        with self._lock:
            return self._objects.get((kind, namespace, name))

    def workloads(self, namespace: str, selector: Mapping[str, str]) -> list[Body]:
        """The workloads in `namespace` whose own labels match `selector` (equality on every pair)."""
        want = {str(k): str(v) for k, v in selector.items()}
        if not want:
            return []
        with self._lock:
            postings = [self._workload_labels.get((namespace, k, v), set()) for k, v in want.items()]
            smallest = min(postings, key=len)
            found = [self._objects[key] for key in smallest]
        return [b for b in found if matches(_labels(b), want)]

    def kcds_selecting(self, namespace: str, labels: Mapping[str, str]) -> list[Body]:
        """The KCDs in `namespace` whose selector matches a workload with `labels`."""
        have = {str(k): str(v) for k, v in labels.items()}
        with self._lock:
            keys = set().union(*(self._kcd_selectors.get((namespace, k, v), set()) for k, v in have.items()))
            found = [self._objects[key] for key in keys]
        return [b for b in found if matches(have, selector_of(b))]

    def kcds_of_lease(self, namespace: str, lease: str) -> list[Body]:
        """The KCDs selecting the workload whose syncer holds this Lease."""
        with self._lock:
            owner = self._lease_owners.get((namespace, lease))
            body = self._objects.get(owner) if owner is not None else None
        return self.kcds_selecting(namespace, _labels(body)) if body is not None else []

    def kcds_routing(self, namespace: str, service: str) -> list[str]:
        """The names of the KCDs whose strategy routes traffic with this Service."""
        with self._lock:
            return sorted(key[2] for key in self._kcd_services.get((namespace, service), set()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def prime(self, kube: Kube, namespace: str | None) -> None:
        """One LIST per kind (KCDs and the workload kinds), then steps may run."""
        for kind in ("KCD", *kinds.NAMES):
            res = KCDS if kind == "KCD" else WORKLOADS[kind]
            for page in kube.pages(res, namespace, page=PRIME_PAGE):
                self.put_all(page, kind)
        for page in kube.pages(JOBS, namespace, selector=VERIFY_FOR, page=PRIME_PAGE):  # only verification Jobs
            for body in page:
                self.jobs.put(body)
        for res in (SERVICES, ENDPOINTSLICES):
            for page in kube.pages(res, namespace, page=PRIME_PAGE):
                for body in page:
                    self.services.put(body, res.kind)
        for page in kube.pages(LEASES, namespace, selector=syncerhealth.SELECTOR, page=PRIME_PAGE):  # no node Leases
            for body in page:
                self.leases.put(body)
        self.ready.set()

    def put_all(self, bodies: Iterable[Mapping[str, Any]], kind: str) -> None:
        for body in bodies:
            self.put(body, kind)
