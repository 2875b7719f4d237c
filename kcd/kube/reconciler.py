"""Runs one reconcile step of a KCD: read it and its workloads, decide (kcd.engine.rollout), then carry the plan out.

Order matters for resuming after a crash: workload patches, config ConfigMap and history come first, the status write
that records the new phase comes after them, events last. A failure before the status write leaves the phase as it
was, so the step runs again (and its idempotent actions do nothing twice).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

from kcd import metrics
from kcd.engine.plan import Plan, report
from kcd.engine.rollout import decide
from kcd.engine.view import from_body
from kcd.errors import ApiError, Conflict, NotFound
from kcd.kube import cluster, events
from kcd.kube.api import KCDS, Kube
from kcd.model import KCD, Reason, SpecError, Status

log = logging.getLogger("kcd.kube.reconciler")


@dataclasses.dataclass(frozen=True)
class StepResult:
    again: bool = False  # step again at once
    in_flight: bool = False  # a rollout waits on the cluster: poll soon
    gone: bool = False  # the KCD no longer exists: end its loop
    retry_after: float = 0.0  # > 0: the step failed (API error); retry after this long (exponential backoff)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Reconciler:
    def __init__(self, kube: Kube, *, clock: Callable[[], datetime.datetime] = _now) -> None:
        self.kube = kube
        self.clock = clock
        self.history = cluster.ConfigMapHistory(kube)
        # resourceVersion of the KCD after our own last status write: its watch event needs no new step.
        self.written: dict[tuple[str, str], str] = {}

    def own_write(self, namespace: str, name: str, resource_version: str | None) -> bool:
        return resource_version is not None and self.written.get((namespace, name)) == resource_version

    def step(self, namespace: str, name: str) -> StepResult:
        started = time.perf_counter()
        try:
            return self._step(namespace, name)
        except Conflict:
            # The KCD changed since this step read it (e.g. `kcd rollout clear`): decide again on fresh state.
            return StepResult(again=True)
        except ApiError as err:
            log.warning("reconcile step failed; retrying", extra={"kcd": f"{namespace}/{name}", "error": str(err)})
            metrics.STEP_ERRORS.inc()
            return StepResult(in_flight=True)
        finally:
            metrics.STEP_SECONDS.observe(time.perf_counter() - started)

    def _step(self, namespace: str, name: str) -> StepResult:
        try:
            body = self.kube.get(KCDS, namespace, name)
        except NotFound:
            return StepResult(gone=True)
        try:
            kcd = KCD.from_body(body)
        except SpecError as err:
            self._invalid(body, str(err))
            return StepResult()
        workloads = cluster.list_workloads(self.kube, namespace, dict(kcd.spec.selector))
        targets = [from_body(w, kcd.spec.container.name) for w in workloads]
        plan = decide(kcd, targets, self.clock())
        self._execute(kcd, plan, resource_version=str(body["metadata"].get("resourceVersion", "")))
        in_flight = plan.in_flight or (plan.status.rollout if plan.status else kcd.status.rollout) is not None
        return StepResult(again=plan.again, in_flight=in_flight)

    def _execute(self, kcd: KCD, plan: Plan, *, resource_version: str) -> None:
        for target, image in plan.patches:
            cluster.set_image(self.kube, kcd.namespace, target.kind, target.name, kcd.spec.container.name, image)
            metrics.IMAGE_PATCHES.inc()
            log.info("image set", extra={"kcd": kcd.key, "workload": target.ref, "image": image})
        if plan.config_version is not None and kcd.spec.config is not None:
            cfg = kcd.spec.config
            try:
                cluster.set_config(self.kube, kcd.namespace, cfg.name, cfg.key, plan.config_version)
            except ApiError as err:
                events.emit(
                    self.kube,
                    kcd,
                    reason=Reason.CONFIG_UPDATE_FAILED,
                    warning=True,
                    message=f"could not set {cfg.name}[{cfg.key}]: {err}",
                )
                raise
        for record in plan.history:
            self.history.add(kcd.namespace, record.name, record, max_entries=kcd.spec.history.max_entries)
        if plan.status is not None:
            # The resourceVersion makes the write conditional: a change by someone else since our read (a person
            # clearing the quarantine) is never overwritten by a decision taken on the older state.
            patch = {"metadata": {"resourceVersion": resource_version}, "status": plan.status.to_dict()}
            written = self.kube.patch_status(KCDS, kcd.namespace, kcd.name, patch)
            self.written[(kcd.namespace, kcd.name)] = str((written.get("metadata") or {}).get("resourceVersion"))
            if plan.status.rollout is None and kcd.status.rollout is not None:
                metrics.ROLLOUTS.labels(outcome=str(plan.status.curr_status)).inc()
        for event in plan.events:
            events.emit(
                self.kube,
                kcd,
                reason=event.reason,
                message=event.message,
                warning=event.warning,
                version=kcd.status.rollout.version if kcd.status.rollout else kcd.status.curr_version,
            )

    def _invalid(self, body: dict[str, Any], message: str) -> None:
        """A spec no controller could act on: report it like any steady state, on what little can be read."""
        meta = body.get("metadata") or {}
        ref = events.ObjectRef(str(meta.get("namespace")), str(meta.get("name")), str(meta.get("uid") or ""))
        generation = int(meta.get("generation") or 0)
        plan = report(
            Status.from_dict(body.get("status")),
            generation,
            self.clock(),
            ready=False,
            reason=Reason.INVALID_SPEC,
            message=message,
        )
        if plan.status is not None:
            conditions = [c.to_dict() for c in plan.status.conditions]
            self.kube.patch_status(
                KCDS, ref.namespace, ref.name, {"status": {"conditions": conditions, "observedGeneration": generation}}
            )
        for event in plan.events:
            events.emit(self.kube, ref, reason=event.reason, message=event.message, warning=event.warning)
