"""Watched state: slim projections of the KCDs and workloads kopf delivers, so that a step reads no API server.

kopf watches every KCD and workload kind; its event handlers (kcd.controller) `put` each body here and the responses
of our own writes go in too, so the next step sees what we wrote before its watch event arrives. An older
resourceVersion never replaces a newer one (a late watch event after our write). Bodies are kept as slim projections
of what the engine reads (kcd.kube.projection), not whole objects with their managedFields.

The syncers' Leases (label ``app.kubernetes.io/component=kcd-syncer``) are kept read (kcd.syncerhealth.Health) by
name; `Leases.put` tells whether a KCD's SyncerHealthy could change with the new one, so a mere renewal wakes nothing.

`prime(kube, namespace)` lists everything once at start (one LIST per kind, paged): kopf gives no signal when its own
initial listing is complete, and a step must never mistake "not listed yet" for "deleted".
"""

from __future__ import annotations

import datetime
import marshal
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from kcd import kinds, syncerhealth
from kcd.engine.verify import VERIFY_FOR
from kcd.engine.view import status_facts
from kcd.engine.workload import matches
from kcd.kube.api import ENDPOINTSLICES, JOBS, KCDS, LEASES, SERVICES, WORKLOADS, Kube
from kcd.kube.jobs import Jobs
from kcd.kube.projection import Body, project
from kcd.kube.services import Services

PRIME_PAGE = 250  # objects per LIST page at start: bounds the transient memory of a full Deployment list
Key = tuple[str, str, str]  # (kind, namespace, name)


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


class _Entry(NamedTuple):
    """What the cache keeps of one object: one bytes object instead of the projection's few dozen dicts and strings
    (a third of the memory, and no small objects of every watched body left scattered over the heap)."""

    rv: str
    labels: dict[str, str]  # a workload's labels, a KCD's selector: what the indexes are keyed on
    services: tuple[str, ...]  # a KCD's Services (blue-green)
    blob: bytes  # marshal of the projection without its resourceVersion
    # A hash of what a step decides on: the projection without its status, and the status facts it reads
    # (kcd.engine.view.status_facts). Equal: no KCD needs waking, though the new projection is kept.
    decides: int


def _pack(kind: str, slim: Body) -> _Entry:
    rv = str(slim["metadata"].pop("resourceVersion", "") or "")
    kcd = kind == "KCD"
    labels = selector_of(slim) if kcd else _labels(slim)
    blob = marshal.dumps(slim)
    if kcd:
        return _Entry(rv, labels, service_names(slim), blob, hash(blob))
    spec_only = marshal.dumps({k: v for k, v in slim.items() if k != "status"})
    return _Entry(rv, labels, (), blob, hash((spec_only, status_facts(slim))))


def _unpack(entry: _Entry) -> Body:
    """A fresh copy each time: callers may keep or change it."""
    body: Body = marshal.loads(entry.blob)  # noqa: S302 - our own bytes, never from outside the process
    if entry.rv:
        body["metadata"]["resourceVersion"] = entry.rv
    return body


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
        self._objects: dict[Key, _Entry] = {}
        self._workload_labels: dict[tuple[str, str, str], set[Key]] = {}  # (ns, label, value) -> workloads
        self._kcd_selectors: dict[tuple[str, str, str], set[Key]] = {}  # (ns, label, value) -> KCDs selecting it
        self._kcd_services: dict[tuple[str, str], set[Key]] = {}  # (ns, Service name) -> KCDs routing with it
        self._lease_owners: dict[tuple[str, str], Key] = {}  # (ns, syncer Lease name) -> its workload
        self.services = Services()
        self.jobs = Jobs()
        self.leases = Leases()
        self.ready = threading.Event()

    def _index(self, key: Key, entry: _Entry, *, add: bool) -> None:
        if key[0] != "KCD":
            lease = (key[1], syncerhealth.lease_name(key[0], key[2]))
            if add:
                self._lease_owners[lease] = key
            else:
                self._lease_owners.pop(lease, None)
        if key[0] == "KCD":
            for name in entry.services:
                users = self._kcd_services.setdefault((key[1], name), set())
                users.add(key) if add else users.discard(key)
        index = self._kcd_selectors if key[0] == "KCD" else self._workload_labels
        for label, value in entry.labels.items():
            pair = (key[1], label, value)
            if add:
                index.setdefault(pair, set()).add(key)
            elif pair in index:
                index[pair].discard(key)
                if not index[pair]:
                    del index[pair]

    def put(self, body: Mapping[str, Any], kind: str | None = None) -> bool:
        """Keep the body's projection; True when what a step decides on differs from the one kept before (a status
        update that leaves the rollout's verdict alone, or the watch event of our own write whose response is here
        already, changes nothing a step would decide on: no KCD needs waking for it)."""
        kind = kind or str(body.get("kind"))
        meta = body.get("metadata") or {}
        key = (kind, str(meta.get("namespace") or ""), str(meta.get("name")))
        new = _pack(kind, project(body, kind))
        with self._lock:
            old = self._objects.get(key)
            if old is not None and not _newer(new.rv, old.rv):
                return False
            if old is not None:
                self._index(key, old, add=False)
            self._objects[key] = new
            self._index(key, new, add=True)
        return old is None or old.decides != new.decides

    def remove(self, kind: str, namespace: str, name: str) -> None:
        key = (kind, namespace, name)
        with self._lock:
            old = self._objects.pop(key, None)
            if old is not None:
                self._index(key, old, add=False)

    def get(self, kind: str, namespace: str, name: str) -> Body | None:
        with self._lock:
            entry = self._objects.get((kind, namespace, name))
        return _unpack(entry) if entry is not None else None

    def workloads(self, namespace: str, selector: Mapping[str, str]) -> list[Body]:
        """The workloads in `namespace` whose own labels match `selector` (equality on every pair)."""
        want = {str(k): str(v) for k, v in selector.items()}
        if not want:
            return []
        with self._lock:
            postings = [self._workload_labels.get((namespace, k, v), set()) for k, v in want.items()]
            smallest = min(postings, key=len)
            found = [self._objects[key] for key in smallest]
        return [_unpack(e) for e in found if matches(e.labels, want)]

    def kcds_selecting(self, namespace: str, labels: Mapping[str, str]) -> list[Body]:
        """The KCDs in `namespace` whose selector matches a workload with `labels`."""
        have = {str(k): str(v) for k, v in labels.items()}
        with self._lock:
            keys = set().union(*(self._kcd_selectors.get((namespace, k, v), set()) for k, v in have.items()))
            found = [self._objects[key] for key in keys]
        return [_unpack(e) for e in found if matches(have, e.labels)]

    def kcds_of_lease(self, namespace: str, lease: str) -> list[Body]:
        """The KCDs selecting the workload whose syncer holds this Lease."""
        with self._lock:
            owner = self._lease_owners.get((namespace, lease))
            entry = self._objects.get(owner) if owner is not None else None
        return self.kcds_selecting(namespace, entry.labels) if entry is not None else []

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
