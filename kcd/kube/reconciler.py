"""Runs one reconcile step of a KCD: build its View from the watched state, decide (kcd.engine), carry the plan out.

No read of the API server in the common path: the KCD and its workloads come from kcd.kube.cache (kopf's watch events
and the responses of our own writes). The plan's actions run in kcd.engine.plan's order, the status write (conditional
on the KCD's resourceVersion) after everything it records, Events last; a failure before the status write leaves the
phase as it was, so the step runs again and its idempotent actions do nothing twice. A rollout that a step sees done
(or failed for good) is recorded in that same step (kcd.engine.outcome.record_now): two status writes per rollout,
the start and the end, not a persisted Recording phase in between.

Events are advisory (a failed post is logged, never retried), so the controller hands them to threads of their own
(kcd.kube.events.Poster), which post each KCD's Events in the order its steps emitted them: a step does not wait for
them, and in a storm of rollouts the start steps, which queue on the step threads, no longer carry an Event's round
trip each.

Errors: a status write rejected as stale (409) reads the KCD once and decides again on fresh state; a workload that is
gone (404) leaves the cache and the step decides again; a write refused for good (4xx other than 409/429: forbidden,
invalid, denied by an admission webhook) fails the rollout with the API's message (kcd.engine.rollout.api_failed), or,
for the config ConfigMap and history, becomes a Warning Event while the rollout still ends; anything else (5xx, 429,
timeouts) is retried with exponential backoff.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from kcd import metrics, syncerhealth
from kcd.engine import plan as actions
from kcd.engine import verify
from kcd.engine.outcome import record_now
from kcd.engine.rollout import api_failed, decide
from kcd.engine.view import Job, Probe, View, Workload, workload_from_body
from kcd.errors import ApiError, Conflict, NotFound
from kcd.kube import cluster, events, jobs, writes
from kcd.kube.api import KCDS, Kube
from kcd.kube.cache import Cache, service_names
from kcd.model import KCD, CurrStatus, Reason, SpecError, Status, format_time

log = logging.getLogger("kcd.reconciler")
MAX_BACKOFF_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class StepResult:
    again: bool = False  # step again at once
    in_flight: bool = False  # a rollout waits on the cluster: poll soon
    poll_after: float = 0.0  # > 0: in flight, but only events or this much time can change the decision
    gone: bool = False  # the KCD no longer exists: end its loop
    retry_after: float = 0.0  # > 0: the step failed (API error); retry after this long (exponential backoff)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Reconciler:
    def __init__(
        self,
        kube: Kube,
        cache: Cache | None = None,
        *,
        clock: Callable[[], datetime.datetime] = _now,
        poster: events.Poster | None = None,
    ) -> None:
        self.kube = kube
        self.poster = poster or events.Poster(kube, threads=0)  # none given: a step posts its Events itself
        self.cache = cache if cache is not None else Cache()
        self.clock = clock
        self.history = cluster.ConfigMapHistory(kube)
        # resourceVersion of the KCD after our own last status write: its watch event needs no new step.
        self.written: dict[tuple[str, str], str] = {}
        self.failures: dict[tuple[str, str], int] = {}

    def own_write(self, namespace: str, name: str, resource_version: str | None) -> bool:
        return resource_version is not None and self.written.get((namespace, name)) == resource_version

    def step(self, namespace: str, name: str) -> StepResult:
        started = time.perf_counter()
        key = (namespace, name)
        try:
            result = self._step(namespace, name)
            self.failures.pop(key, None)
            return result
        except ApiError as err:
            failures = self.failures[key] = self.failures.get(key, 0) + 1
            delay = min(MAX_BACKOFF_SECONDS, 2.0**failures)
            log.warning(
                "reconcile step failed; retrying",
                extra={"kcd": f"{namespace}/{name}", "error": str(err), "retry_after": delay},
            )
            metrics.STEP_ERRORS.inc()
            return StepResult(retry_after=delay)
        finally:
            metrics.STEP_SECONDS.observe(time.perf_counter() - started)

    def _step(self, namespace: str, name: str) -> StepResult:
        self.cache.ready.wait(timeout=60)
        body = self.cache.get("KCD", namespace, name)
        if body is None:
            return StepResult(gone=True)
        try:
            kcd = KCD.from_body(body)
        except SpecError as err:
            self._invalid(body, str(err))
            return StepResult()
        view = self.view(kcd, body)
        plan = record_now(view, decide(view))
        rv = str(body["metadata"].get("resourceVersion", ""))
        try:
            return self._execute(kcd, plan, rv)
        except writes.Refused as refused:
            # Decided on the state the plan was about to write: a rollout that this very step started fails too.
            intended = dataclasses.replace(kcd, status=plan.status or kcd.status)
            failed = api_failed(dataclasses.replace(view, kcd=intended), refused.message)
            return self._execute(intended, failed, rv)

    def view(self, kcd: KCD, body: Mapping[str, Any]) -> View:
        container = kcd.spec.container.name
        bodies = self.cache.workloads(kcd.namespace, kcd.spec.selector)
        workloads = sorted((workload_from_body(b, container) for b in bodies), key=lambda w: (w.kind, w.name))
        services = {
            name: found
            for name in service_names(body)
            if (found := self.cache.services.service(kcd.namespace, name)) is not None
        }
        return View(
            kcd,
            tuple(workloads),
            self.clock(),
            overlaps=self._overlaps(body, bodies),
            services=services,
            jobs=(own_jobs := self.cache.jobs.of(kcd.namespace, kcd.name)),
            probe=self._probe(kcd),
            pinned=self._pinned(kcd, own_jobs),
            syncers=self._syncers(kcd.namespace, workloads),
        )

    def _syncers(self, namespace: str, workloads: list[Workload]) -> dict[str, syncerhealth.Health]:
        """Each workload's syncer Lease, from the watched state (no request)."""
        found = {w.ref: self.cache.leases.get(namespace, syncerhealth.lease_name(w.kind, w.name)) for w in workloads}
        return {ref: health for ref, health in found.items() if health is not None}

    @staticmethod
    def _pinned(kcd: KCD, own_jobs: Mapping[str, Job]) -> dict[str, str]:
        """The digest of the verify image's tag, when the engine asks for it (kcd.engine.verify.image_to_pin)."""
        item = verify.image_to_pin(kcd, own_jobs)
        digest = jobs.resolve(item.image, item.tag) if item is not None else ""
        return {verify.tagged(item): digest} if item is not None and digest else {}

    @staticmethod
    def _probe(kcd: KCD) -> Probe | None:
        """The one short GET the engine asks for (kcd.engine.verify.http_check)."""
        item = verify.http_check(kcd)
        return jobs.probe(item.url) if item is not None else None

    def _overlaps(self, body: Mapping[str, Any], bodies: list[dict[str, Any]]) -> tuple[str, ...]:
        """Older KCDs (by creation, then name) in the namespace that also select one of these workloads."""
        meta = body["metadata"]
        namespace, mine = str(meta.get("namespace")), (str(meta.get("creationTimestamp") or ""), str(meta.get("name")))
        found: set[str] = set()
        for workload in bodies:
            for other in self.cache.kcds_selecting(namespace, workload["metadata"].get("labels") or {}):
                ometa = other["metadata"]
                theirs = (str(ometa.get("creationTimestamp") or ""), str(ometa.get("name")))
                if theirs < mine:
                    found.add(theirs[1])
        return tuple(sorted(found))

    def _execute(self, kcd: KCD, plan: actions.Plan, rv: str) -> StepResult:
        for action in plan.ordered():
            try:
                self._do(kcd, action, rv)
            except Conflict:
                if not isinstance(action, actions.WriteStatus):
                    raise
                # Someone else changed the KCD since the view was built: decide again on what the API server has.
                self.cache.put(self.kube.get(KCDS, kcd.namespace, kcd.name), "KCD")
                return StepResult(again=True)
            except NotFound:
                if isinstance(action, actions.WriteStatus):  # the KCD was deleted meanwhile
                    self.cache.remove("KCD", kcd.namespace, kcd.name)
                    return StepResult(gone=True)
                if not isinstance(action, writes.WORKLOAD_ACTIONS):
                    raise
                writes.forget(self.cache, kcd.namespace, action)
                return StepResult(again=True)
        in_flight = plan.in_flight or (plan.status.rollout if plan.status else kcd.status.rollout) is not None
        return StepResult(again=plan.again, in_flight=in_flight, poll_after=plan.wake_in if in_flight else 0.0)

    def _do(self, kcd: KCD, action: actions.Action, rv: str) -> None:
        if isinstance(action, writes.WORKLOAD_ACTIONS):
            writes.apply(self.kube, self.cache, kcd, action)
        elif isinstance(action, actions.SetConfig | actions.AddHistory):
            self._record(kcd, action)
        elif isinstance(action, actions.WriteStatus):
            self._write_status(kcd, action.status, rv)
        else:
            self.poster.emit(
                kcd,
                reason=action.reason,
                message=action.message,
                warning=action.warning,
                version=action.version or None,
            )

    def _record(self, kcd: KCD, action: actions.SetConfig | actions.AddHistory) -> None:
        """The config ConfigMap and history are reported, not retried forever, when refused for good."""
        try:
            if isinstance(action, actions.SetConfig):
                cluster.set_config(self.kube, kcd.namespace, action.name, action.key, action.value)
            else:
                record = action.record
                self.history.add(kcd.namespace, record.name, record, max_entries=kcd.spec.history.max_entries)
        except ApiError as err:
            if not writes.permanent(err):
                raise
            what = f"ConfigMap {action.name}[{action.key}]" if isinstance(action, actions.SetConfig) else "history"
            reason = (
                Reason.CONFIG_UPDATE_FAILED if isinstance(action, actions.SetConfig) else Reason.HISTORY_UPDATE_FAILED
            )
            self.poster.emit(kcd, reason=reason, warning=True, message=f"could not update {what}: {err}")

    def _write_status(self, kcd: KCD, status: Status, rv: str) -> None:
        # The resourceVersion makes the write conditional: a change by someone else since the view was built (a
        # person clearing the quarantine) is never overwritten by a decision taken on the older state.
        patch = {"metadata": {"resourceVersion": rv}, "status": status.to_dict()}
        written = self.kube.patch_status(KCDS, kcd.namespace, kcd.name, patch)
        self.cache.put(written, "KCD")
        self.written[(kcd.namespace, kcd.name)] = str((written.get("metadata") or {}).get("resourceVersion"))
        if status.rollout is None and kcd.status.rollout is not None:
            metrics.ROLLOUTS.labels(outcome=str(status.curr_status)).inc()

    def _invalid(self, body: Mapping[str, Any], message: str) -> None:
        """A spec no controller could act on: report it like any steady state; an in-flight rollout is abandoned (its
        version is not to blame, so it is not quarantined)."""
        meta = body.get("metadata") or {}
        ref = events.ObjectRef(str(meta.get("namespace")), str(meta.get("name")), str(meta.get("uid") or ""))
        generation = int(meta.get("generation") or 0)
        status = Status.from_dict(body.get("status"))
        if status.rollout is not None:
            message = f"{message}; the rollout of {status.rollout.version} was abandoned"
            live = status.success_version
            status = dataclasses.replace(
                status,
                rollout=None,
                curr_version=live,
                curr_status=CurrStatus.SUCCESS if live else None,
                curr_status_time=format_time(self.clock()),
            )
        plan = actions.report(
            status, generation, self.clock(), ready=False, reason=Reason.INVALID_SPEC, message=message
        )
        if plan.status is not None:
            patch = {
                "metadata": {"resourceVersion": str(meta.get("resourceVersion") or "")},
                "status": plan.status.to_dict(),
            }
            self.cache.put(self.kube.patch_status(KCDS, ref.namespace, ref.name, patch), "KCD")
        for event in plan.events:
            self.poster.emit(ref, reason=event.reason, message=event.message, warning=event.warning)
