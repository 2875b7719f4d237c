"""A Plan: what one reconcile step does, as a list of typed actions, and the status helpers every phase uses. Pure.

The executor (kcd.kube.reconciler) carries the actions out in this order, whatever order a strategy listed them in:

  1. workload changes   SetImage, DeleteStuckPods, Scale (idempotent: sent only where the watched state differs)
     traffic            PatchSelector (after the workloads: a selector never points at a colour before its patch)
     verification       CreateJob
  2. SetConfig          spec.config ConfigMap data[key] = live version
  3. AddHistory         one record per workload (a repeat of the newest record is ignored)
  4. WriteStatus        conditional on the KCD's resourceVersion; at most one, always after the others
  5. Emit               Events (and the transition log lines)

The status write comes after everything it records, so a controller killed anywhere resumes from the last written
phase and repeats only idempotent work (the resume guarantee).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from kcd.engine.view import View
from kcd.history import Record
from kcd.model import (
    KCD,
    ConditionType,
    Reason,
    RolloutState,
    Status,
    condition,
    find_condition,
    parse_time,
    set_condition,
)


@dataclasses.dataclass(frozen=True)
class SetImage:
    kind: str
    name: str
    container: str
    image: str

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


@dataclasses.dataclass(frozen=True)
class DeleteStuckPods:
    """Delete the not-ready pods of a StatefulSet that are not on its update revision (OrderedReady never replaces a
    broken pod by itself, so a rollback would wait forever)."""

    kind: str
    name: str
    selector: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class Scale:
    kind: str
    name: str
    replicas: int


@dataclasses.dataclass(frozen=True)
class PatchSelector:
    """Set these keys of a Service's selector (a merge patch: the Service's other selector keys stay)."""

    service: str
    selector: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class CreateJob:
    """Create a verification Job (already there: nothing to do; its name is derived from the rollout)."""

    name: str
    body: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class SetConfig:
    name: str
    key: str
    value: str


@dataclasses.dataclass(frozen=True)
class AddHistory:
    record: Record


@dataclasses.dataclass(frozen=True)
class WriteStatus:
    status: Status


@dataclasses.dataclass(frozen=True)
class Emit:
    reason: str
    message: str
    warning: bool = False
    version: str = ""  # the version the event is about (log lines carry it)


Action = SetImage | DeleteStuckPods | Scale | PatchSelector | CreateJob | SetConfig | AddHistory | WriteStatus | Emit
WORKLOAD_WRITES = (SetImage, DeleteStuckPods, Scale, PatchSelector, CreateJob)  # what changes the watched state
ORDER: tuple[type, ...] = (
    SetImage,
    DeleteStuckPods,
    Scale,
    PatchSelector,
    CreateJob,
    SetConfig,
    AddHistory,
    WriteStatus,
    Emit,
)


@dataclasses.dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = ()
    again: bool = False  # run the next step at once
    in_flight: bool = False  # a rollout is waiting on the cluster: poll soon
    # > 0: nothing but watched state (whose events wake the KCD) and the clock can change this decision before
    # `wake_in` seconds; the loop re-checks then instead of every progress poll (kcd.engine.rollout bounds it by the
    # rollout's timeout). 0: the default poll (probes, bake times and other things no watch reports).
    wake_in: float = 0.0

    def ordered(self) -> tuple[Action, ...]:
        """The actions in execution order (stable within a kind)."""
        return tuple(sorted(self.actions, key=lambda a: ORDER.index(type(a))))

    def of(self, kind: type[Action]) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if isinstance(a, kind))

    @property
    def status(self) -> Status | None:
        writes = [a.status for a in self.actions if isinstance(a, WriteStatus)]
        return writes[-1] if writes else None

    @property
    def images(self) -> tuple[SetImage, ...]:
        return tuple(a for a in self.actions if isinstance(a, SetImage))

    @property
    def events(self) -> tuple[Emit, ...]:
        return tuple(a for a in self.actions if isinstance(a, Emit))


STALLED_REASONS = frozenset(
    {
        Reason.INVALID_SPEC,
        Reason.WORKLOAD_NOT_FOUND,
        Reason.CONTAINER_NOT_FOUND,
        Reason.INVALID_CANDIDATE,
        Reason.OVERLAPPING_SELECTOR,
        Reason.DRIFT_CONFLICT,
        Reason.API_ERROR,
    }
)


def with_conditions(
    status: Status,
    generation: int,
    now: datetime.datetime,
    *,
    ready: bool | None,
    reason: str,
    message: str,
    reconciling: bool,
) -> Status:
    def cond(kind: ConditionType, ok: bool | None, text: str) -> Status:
        return dataclasses.replace(
            status,
            conditions=set_condition(
                status.conditions, condition(kind, ok, reason, text, generation=generation, now=now)
            ),
        )

    status = cond(ConditionType.READY, ready, message)
    status = cond(ConditionType.RECONCILING, reconciling, message if reconciling else "")
    stalled = reason in STALLED_REASONS
    status = cond(ConditionType.STALLED, stalled, message if stalled else "")
    return dataclasses.replace(status, observed_generation=generation)


def persist(
    kcd: KCD, rollout: RolloutState, now: datetime.datetime, *, reason: str, message: str, status: Status | None = None
) -> WriteStatus:
    """The in-flight rollout written with Reconciling=True (Ready=False while it runs)."""
    new = dataclasses.replace(status or kcd.status, rollout=rollout)
    return WriteStatus(
        with_conditions(new, kcd.generation, now, ready=False, reason=reason, message=message, reconciling=True)
    )


def go(
    view: View, rollout: RolloutState, message: str, reason: str = Reason.ROLLOUT_PROGRESSING, *events: Emit
) -> Plan:
    """Persist `rollout` (the next phase, or the next item of one) and step again at once."""
    return Plan(actions=(persist(view.kcd, rollout, view.now, reason=reason, message=message), *events), again=True)


def elapsed(since: str, now: datetime.datetime) -> float:
    start = parse_time(since)
    return (now - start).total_seconds() if start else 0.0


def report(
    status: Status,
    generation: int,
    now: datetime.datetime,
    *,
    ready: bool,
    reason: str,
    message: str,
    version: str = "",
    extra: tuple[Action, ...] = (),
    warning: bool | None = None,
) -> Plan:
    """A steady state (no rollout in flight): conditions written only when they change, and an Event only when
    Ready's reason or message changes, so an unchanged problem is not re-announced on every reconcile."""
    ready_cond = find_condition(status.conditions, ConditionType.READY)
    new = with_conditions(status, generation, now, ready=ready, reason=reason, message=message, reconciling=False)
    changed = ready_cond is None or ready_cond.reason != reason or ready_cond.message != message
    actions: list[Action] = list(extra)
    if new != status:
        actions.append(WriteStatus(new))
    if changed:
        actions.append(Emit(reason, message, warning=not ready if warning is None else warning, version=version))
    return Plan(actions=tuple(actions))
