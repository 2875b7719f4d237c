"""The kopf side of the controller: the only module that imports kopf.

kopf watches KCDs and the workload kinds and keeps an index of the KCDs' selectors. Each KCD has a reconcile
loop (kcd.controller.loops) that runs one persisted step of the rollout at a time (kcd.kube.reconciler) and then
sleeps until an event on the KCD or on one of its selected workloads wakes it (or a short poll while a rollout is in
flight). The first event of a KCD starts its loop, its DELETED event ends it. We never write a watch loop: kopf's
event handlers feed the loops. kopf's own bookkeeping (progress, diff-base) stays in annotations; nothing is posted
as an Event by kopf (our transitions are posted by kcd.kube.events).

The syncers' Leases are watched for SyncerHealthy with a label selector that kopf sends to the API server
(``settings.watching.label_selectors``): the node Leases of kube-node-lease (one renewal per node every 10 s) and the
controller's own Lease never reach us. A Lease event wakes a KCD only when its syncer's outcome changed, not on the
renewal every poll; a Lease going quiet is noticed by the KCD's periodic resync.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from kcd import kinds, kopfsession, syncerhealth
from kcd.controller import probes
from kcd.controller.loops import Loops
from kcd.engine.verify import VERIFY_FOR
from kcd.kube.api import Kube
from kcd.kube.cache import Cache
from kcd.kube.reconciler import Reconciler
from kcd.kube.services import SERVICE_NAME
from kcd.settings import Settings

log = logging.getLogger("kcd.controller")
# Watch streams hold one each (KCDs, four workload kinds, Jobs, Services, EndpointSlices, syncer Leases, CRDs: ten);
# kopf's few other calls (finalizer removal) need connections besides them.
KOPF_CONNECTIONS = 13


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff base: kcd registers event handlers and an index only, never change handlers, so kopf's diff of each
    object is never used. Building it deep-copies every watched body: 46 % of kopf's per-event time in the
    benchmark's 1,000-rollout storm (BENCHMARKS.md)."""

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        return {}

    def fetch(self, *, body: Any) -> Any:
        return None

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None


def build_registry(settings: Settings, kube: Kube, reconciler: Reconciler) -> kopf.OperatorRegistry:
    """Register every handler on a fresh registry (no import-time globals: tests run several controllers)."""
    registry = kopf.OperatorRegistry()
    cache = reconciler.cache
    pool = ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="kcd-step")
    # Periodic re-checks (drift, missed events) of idle KCDs get their own small pool: with a thousand KCDs a resync
    # wave must never queue in front of a step that an event asked for (a new candidate, a workload's progress).
    resync_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kcd-resync")
    loops = Loops(reconciler.step, settings, pool, resync_pool)

    watch_one_namespace = settings.namespace is not None

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False
        # Following CRDs needs cluster-wide read of customresourcedefinitions, which a namespaced install's Role
        # cannot grant; the KCD CRD is installed before the controller anyway.
        settings.scanning.disabled = watch_one_namespace
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kcd.io")
        settings.persistence.diffbase_storage = NoDiffBase()
        # No handler needs a finalizer now; kopf removes this one from KCDs that a kcd with a daemon per KCD marked.
        settings.persistence.finalizer = "kcd.io/controller"
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.execution.max_workers = settings.execution.max_workers or 8
        settings.networking.request_timeout = 60
        # The first list of a large cluster's Deployments arrives in pages, not as one response of every object.
        settings.watching.chunk_size = 500
        # Filtered by the API server, not by kopf after receiving every Lease of the cluster (node heartbeats).
        settings.watching.label_selectors["coordination.k8s.io", "leases"] = syncerhealth.SELECTOR

    kopf.on.login(registry=registry)(kopfsession.login(kube, connections=KOPF_CONNECTIONS))

    @kopf.on.startup(registry=registry)
    async def prime(**_: Any) -> None:
        # Before kopf's watches start: steps read the watched state only, so it must hold everything first.
        await asyncio.to_thread(cache.prime, kube, settings.namespace)

    @kopf.on.event("kcd.io", "v1", "kcds", registry=registry)
    async def kcd_event(namespace: str | None, name: str, meta: kopf.Meta, body: kopf.Body, **kwargs: Any) -> None:
        key = (namespace or "", name)
        if kwargs["type"] == "DELETED":
            cache.remove("KCD", key[0], name)
            loops.stop(key)
            return
        changed = cache.put(body, "KCD")
        loops.ensure(key)
        # Our own status write comes back as an event: stepping again for it would only re-read what we wrote.
        if changed and not reconciler.own_write(key[0], name, meta.get("resourceVersion")):
            loops.wake(key)

    def workload_handler(kind: str) -> Callable[..., Any]:
        async def workload_event(namespace: str | None, name: str, body: kopf.Body, **kwargs: Any) -> None:
            ns = namespace or ""
            before = cache.get(kind, ns, name)
            if kwargs["type"] == "DELETED":
                cache.remove(kind, ns, name)
            elif not cache.put(body, kind):
                return  # nothing a step reads changed (or our own write's echo): no KCD to wake
            # Wake the KCDs that select it now and those that selected it before a label change.
            labels = [dict((body.get("metadata") or {}).get("labels") or {})]
            if before is not None:
                labels.append(dict(before["metadata"].get("labels") or {}))
            for have in labels:
                for kcd in cache.kcds_selecting(ns, have):
                    loops.wake((ns, str(kcd["metadata"]["name"])))

        return workload_event

    def traffic_handler(kind: str) -> Callable[..., Any]:
        async def traffic_event(namespace: str | None, name: str, body: kopf.Body, **kwargs: Any) -> None:
            ns = namespace or ""
            if kwargs["type"] == "DELETED":
                cache.services.remove(kind, ns, name)
            else:
                cache.services.put(body, kind)
            labels = (body.get("metadata") or {}).get("labels") or {}
            service = name if kind == "Service" else str(labels.get(SERVICE_NAME) or "")
            for kcd_name in cache.kcds_routing(ns, service):
                loops.wake((ns, kcd_name))

        return traffic_event

    kopf.on.event("", "v1", "services", registry=registry, id="wake-services")(traffic_handler("Service"))
    kopf.on.event("discovery.k8s.io", "v1", "endpointslices", registry=registry, id="wake-endpointslices")(
        traffic_handler("EndpointSlice")
    )

    @kopf.on.event("batch", "v1", "jobs", labels={VERIFY_FOR: kopf.PRESENT}, registry=registry, id="wake-jobs")
    async def job_event(namespace: str | None, body: kopf.Body, labels: kopf.Labels, **kwargs: Any) -> None:
        if kwargs["type"] == "DELETED":
            cache.jobs.remove(body)
        else:
            cache.jobs.put(body)
        loops.wake((namespace or "", str(labels.get(VERIFY_FOR))))

    # No client-side label filter: the API server's selector (configure) is the only one, and a test relies on it.
    @kopf.on.event("coordination.k8s.io", "v1", "leases", registry=registry, id="leases")
    async def lease_event(namespace: str | None, name: str, body: kopf.Body, **kwargs: Any) -> None:
        ns = namespace or ""
        changed = cache.leases.remove(ns, name) if kwargs["type"] == "DELETED" else cache.leases.put(body)
        if changed:  # not on a renewal alone: the KCD's status would not change
            for kcd in cache.kcds_of_lease(ns, name):
                loops.wake((ns, str(kcd["metadata"]["name"])))

    for kind in kinds.WORKLOAD_KINDS:
        handler = kopf.on.event(kind.group, kind.version, kind.plural, registry=registry, id=f"wake-{kind.plural}")
        handler(workload_handler(kind.name))

    @kopf.on.cleanup(registry=registry)
    async def shutdown(**_: Any) -> None:
        await loops.close()
        # Let a running step finish and persist before the process exits (in a thread: kopf's loop keeps serving).
        await asyncio.to_thread(pool.shutdown, wait=True)
        await asyncio.to_thread(resync_pool.shutdown, wait=True)

    return registry


ELECTION, EVENT_LOOP = "election", "event-loop"  # the heartbeats /healthz checks (kcd.controller.probes)


async def _beat(beats: probes.Heartbeats) -> None:
    """The event loop's heartbeat: a loop blocked for a minute (a stuck step, a deadlock) fails /healthz."""
    while True:
        beats.beat(EVENT_LOOP, 60.0)
        await asyncio.sleep(5)


def run(settings: Settings) -> int:
    """`kcd run`: (optionally) win the Lease, then run kopf until SIGTERM/SIGINT or a lost Lease; the exit code."""
    from kcd.controller import memtrim
    from kcd.kube.events import Poster, setup_logging
    from kcd.kube.leader import LeaderElector

    memtrim.one_arena()  # before any thread allocates (kcd.controller.memtrim)
    setup_logging(settings.log_level)
    kube = Kube.from_config(settings.kubeconfig)
    stop = threading.Event()  # ends the lease renewal thread (and the wait for leadership)
    state = {"running": False, "lost": False}
    beats = probes.Heartbeats()
    server = probes.serve(
        settings.bind,
        settings.port,
        # A standby is Ready while the API server answers its election rounds: readiness never waits for leadership.
        ready=lambda: state["running"] or beats.fresh(ELECTION),
        role=lambda: "leader" if state["running"] else "standby",
        beats=beats,
    )
    elector = None
    if settings.leader_elect:
        limit = max(30.0, 2.0 * settings.lease_seconds)
        elector = LeaderElector(
            kube,
            settings.lease_namespace,
            settings.lease_name,
            lease_seconds=settings.lease_seconds,
            retry_period=max(0.5, settings.lease_seconds / 7.5),
            on_answer=lambda: beats.beat(ELECTION, limit),
        )
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        won = elector.wait_for_leadership(stop)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not won:
            server.shutdown()
            return 0
    poster = Poster(kube)  # Events off the step threads, each KCD's in order (kcd.kube.reconciler)
    registry = build_registry(settings, kube, Reconciler(kube, Cache(), poster=poster))
    memtrim.start(stop)

    async def operate() -> None:
        # An asyncio.Event as kopf's stop flag: kopf waits on thread-based flags in an executor thread, which would
        # keep the process from exiting after SIGTERM (kopf's own signal handling stops it, not the flag).
        kopf_stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def lost() -> None:
            state["lost"] = True
            loop.call_soon_threadsafe(kopf_stop.set)  # stop acting at once: another replica leads now

        if elector is not None:
            threading.Thread(target=elector.keep_renewing, args=(stop, lost), daemon=True, name="kcd-lease").start()
        beating = asyncio.create_task(_beat(beats))
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=settings.namespace is None,
            namespaces=[settings.namespace] if settings.namespace else (),
            stop_flag=kopf_stop,
        )
        beating.cancel()

    state["running"] = True
    probes.LEADER.set(1)
    log.info("controller started", extra={"namespace": settings.namespace or "*", "leader": bool(elector)})
    try:
        # asyncio's own loop, not uvloop (kcd.kopfsession.run): on uvloop the 1,000-KCD storm took 89.5 s instead of
        # 72.8 s, its step threads starved (BENCHMARKS.md, controller).
        asyncio.run(operate())
    finally:
        state["running"] = False
        probes.LEADER.set(0)
        beats.forget(EVENT_LOOP)
        poster.close()  # the last transitions' Events, before the process exits
        stop.set()
        if elector is not None and not state["lost"]:
            elector.release()
        server.shutdown()
        kube.close()
    return 1 if state["lost"] else 0
