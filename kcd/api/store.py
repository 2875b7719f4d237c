"""The API's view of the cluster: a watch-backed cache of KCDs, workloads and syncer Leases, never a LIST per request.

One thread per resource (KCDs, each of ``kcd.kinds.WORKLOAD_KINDS``, the syncer Leases selected by
``app.kubernetes.io/component=kcd-syncer``) lists it in pages, then watches it from the list's resourceVersion with
bookmarks; a watch the API server ends is resumed from the last resourceVersion, a 410 Gone lists again, any other
failure retries with backoff (1 s doubling to 30 s). Objects are kept as slim projections (kcd.api.slim), so memory
follows what the pages show. Every change bumps `generation`, which is how the app knows a rendered response is stale.

The store is ready once every resource has been listed, and healthy while every thread is alive and has made
progress (an event, a bookmark, a new watch or a retry) within a watch's length plus a minute: a hung watch fails
/healthz. A history page GETs the one ``<workload>.history`` ConfigMap (``history``).

`Source` is what the app needs of a store; `StaticStore` is an in-memory one for tests and the dashboard's work.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter, Gauge

from kcd import history, kinds
from kcd.api import slim
from kcd.kube import rest

log = logging.getLogger("kcd.api.store")
SYNCER_LEASES = "app.kubernetes.io/component=kcd-syncer"
MAX_BACKOFF = 30.0
WATCH_RESTARTS = Counter(
    "kcd_api_watch_restarts_total", "Watches started again, by resource and why", ["resource", "reason"]
)
OBJECTS = Gauge("kcd_api_store_objects", "Objects held in the API's cache", ["resource"])

Body = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    kcds: list[Body]
    workloads: list[Body]
    leases: list[Body]


class Source(Protocol):
    """What the app reads: kcd.api.app renders from a snapshot and re-renders when `generation` moves."""

    namespace: str | None

    def generation(self) -> int: ...
    def snapshot(self) -> Snapshot: ...
    def ready(self) -> bool: ...
    def healthy(self) -> bool: ...
    def sizes(self) -> dict[str, int]: ...
    def history(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        """The workload's records, newest first (Record.to_dict()); None when it has no history ConfigMap."""
        ...


@dataclass(frozen=True)
class Resource:
    name: str  # "kcds", "deployments", "leases"
    group_version: str  # "kcd.io/v1", "apps/v1", "coordination.k8s.io/v1"
    plural: str
    project: Callable[[Mapping[str, Any]], Body]
    selector: str = ""

    def path(self, namespace: str | None) -> str:
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"/apis/{self.group_version}{scope}/{self.plural}"


def _workload(body: Mapping[str, Any], *, kind: str) -> Body:
    return slim.workload(body, kind)


def resources() -> list[Resource]:
    found = [Resource("kcds", "kcd.io/v1", "kcds", slim.kcd)]
    for k in kinds.WORKLOAD_KINDS:
        found.append(Resource(k.plural, k.api_version, k.plural, functools.partial(_workload, kind=k.name)))
    found.append(Resource("leases", "coordination.k8s.io/v1", "leases", slim.lease, SYNCER_LEASES))
    return found


class Reflector:
    """One resource kept in memory by LIST + WATCH (see the module docstring)."""

    def __init__(
        self, client: rest.Client, resource: Resource, *, namespace: str | None, on_change: Callable[[], None]
    ) -> None:
        self.client, self.resource, self.on_change = client, resource, on_change
        self.path = resource.path(namespace)
        self.params = {"labelSelector": resource.selector} if resource.selector else {}
        self.objects: dict[tuple[str, str], Body] = {}
        self.lock = threading.Lock()
        self.listed = threading.Event()
        self.beat = time.monotonic()
        self.stream: rest.Stream | None = None
        self.version = ""  # the resourceVersion to resume from; "" lists again
        self.watch_seconds = rest.WATCH_SECONDS

    def run(self, stop: threading.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            self.beat = started = time.monotonic()
            try:
                if not self.version:
                    self._list()
                self._watch()
                WATCH_RESTARTS.labels(self.resource.name, "ended").inc()
                backoff = 1.0
                if time.monotonic() - started < 1.0:  # a watch that ends at once must not become a busy loop
                    stop.wait(1.0)
            except rest.Gone:
                WATCH_RESTARTS.labels(self.resource.name, "gone").inc()
                self.version = ""
            except Exception as err:  # noqa: BLE001 - a watch thread must never die: logged, retried with backoff
                if stop.is_set():
                    return
                WATCH_RESTARTS.labels(self.resource.name, "error").inc()
                log.warning("%s: %s; retrying in %.0f s", self.resource.name, err, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _list(self) -> None:
        fresh: dict[tuple[str, str], Body] = {}
        project = self.resource.project

        def keep(body: dict[str, Any]) -> None:
            fresh[slim.key(body)] = project(body)

        version = self.client.list(self.path, keep, params=self.params)
        with self.lock:
            self.objects = fresh
        self.version = version
        self.listed.set()
        self._changed()

    def _watch(self) -> None:
        """Apply the events of one watch; `version` follows them, so a failed watch resumes where it stopped."""
        self.stream = self.client.watch(
            self.path, resource_version=self.version, params=self.params, seconds=self.watch_seconds
        )
        for event in self.stream:
            self.beat = time.monotonic()
            version = str((event.object.get("metadata") or {}).get("resourceVersion") or "")
            if event.type != "BOOKMARK":
                key = slim.key(event.object)
                with self.lock:
                    if event.type == "DELETED":
                        self.objects.pop(key, None)
                    else:
                        self.objects[key] = self.resource.project(event.object)
                self._changed()
            self.version = version or self.version

    def _changed(self) -> None:
        OBJECTS.labels(self.resource.name).set(len(self.objects))
        self.on_change()

    def values(self) -> list[Body]:
        with self.lock:
            return list(self.objects.values())

    def stalled(self, now: float) -> bool:
        return now - self.beat > self.watch_seconds + 60


class Store:
    """The watch-backed Source. `start()` starts the threads (in the serving process, after gunicorn's fork)."""

    def __init__(self, client: rest.Client, *, namespace: str | None = None) -> None:
        self.client, self.namespace = client, namespace
        self._generation = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.reflectors = {r.name: Reflector(client, r, namespace=namespace, on_change=self._bump) for r in resources()}
        self.threads: list[threading.Thread] = []

    def _bump(self) -> None:
        with self._lock:
            self._generation += 1

    def start(self) -> Store:
        for name, reflector in self.reflectors.items():
            thread = threading.Thread(target=reflector.run, args=(self._stop,), name=f"watch-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for reflector in self.reflectors.values():
            if reflector.stream is not None:
                reflector.stream.close()
        for thread in self.threads:
            thread.join(timeout=5)

    def generation(self) -> int:
        return self._generation

    def ready(self) -> bool:
        return all(r.listed.is_set() for r in self.reflectors.values())

    def healthy(self) -> bool:
        now = time.monotonic()
        alive = len(self.threads) == len(self.reflectors) and all(t.is_alive() for t in self.threads)
        return alive and not any(r.stalled(now) for r in self.reflectors.values())

    def sizes(self) -> dict[str, int]:
        return {name: len(r.objects) for name, r in self.reflectors.items()}

    def snapshot(self) -> Snapshot:
        workloads = [w for k in kinds.WORKLOAD_KINDS for w in self.reflectors[k.plural].values()]
        return Snapshot(self.reflectors["kcds"].values(), workloads, self.reflectors["leases"].values())

    def history(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        path = f"/api/v1/namespaces/{namespace}/configmaps/{history.configmap_name(name)}"
        try:
            cm = self.client.get(path)
        except rest.NotFound:
            return None
        return [r.to_dict() for r in history.decode((cm.get("data") or {}).get(history.DATA_KEY))]


class StaticStore:
    """A Source held in memory: bodies (full or slim) and history records; `set` replaces them (a change)."""

    def __init__(
        self,
        *,
        kcds: Iterable[Mapping[str, Any]] = (),
        workloads: Iterable[Mapping[str, Any]] = (),
        leases: Iterable[Mapping[str, Any]] = (),
        histories: Mapping[tuple[str, str], list[dict[str, Any]]] | None = None,
        namespace: str | None = None,
        ready: bool = True,
    ) -> None:
        self.namespace, self.is_ready = namespace, ready
        self._generation = 0
        self.histories: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.set(kcds=kcds, workloads=workloads, leases=leases, histories=histories or {})

    def set(
        self,
        *,
        kcds: Iterable[Mapping[str, Any]],
        workloads: Iterable[Mapping[str, Any]],
        leases: Iterable[Mapping[str, Any]] = (),
        histories: Mapping[tuple[str, str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._snapshot = Snapshot(
            [slim.kcd(k) for k in kcds],
            [slim.workload(w, str(w.get("kind") or "")) for w in workloads],
            [slim.lease(lz) for lz in leases],
        )
        if histories is not None:
            self.histories = dict(histories)
        self._generation += 1

    def generation(self) -> int:
        return self._generation

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def ready(self) -> bool:
        return self.is_ready

    def healthy(self) -> bool:
        return True

    def sizes(self) -> dict[str, int]:
        snap = self._snapshot
        return {"kcds": len(snap.kcds), "workloads": len(snap.workloads), "leases": len(snap.leases)}

    def history(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        return self.histories.get((namespace, name))
