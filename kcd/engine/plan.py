"""A reconcile step's result (Plan) and the status helpers every phase of a rollout uses. Pure."""

from __future__ import annotations

import dataclasses
import datetime

from kcd.engine.view import Target
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
class Event:
    reason: str
    message: str
    warning: bool = False


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one step does, in order: patch images, set the config ConfigMap, add history, write status, post events."""

    patches: tuple[tuple[Target, str], ...] = ()
    config_version: str | None = None
    history: tuple[Record, ...] = ()
    status: Status | None = None
    events: tuple[Event, ...] = ()
    again: bool = False  # run the next step at once
    in_flight: bool = False  # a rollout is waiting on the cluster: poll soon


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
    conditions = set_condition(
        status.conditions, condition(ConditionType.READY, ready, reason, message, generation=generation, now=now)
    )
    conditions = set_condition(
        conditions,
        condition(
            ConditionType.RECONCILING,
            reconciling,
            reason,
            message if reconciling else "",
            generation=generation,
            now=now,
        ),
    )
    stalled = reason in (
        Reason.INVALID_SPEC,
        Reason.WORKLOAD_NOT_FOUND,
        Reason.CONTAINER_NOT_FOUND,
        Reason.INVALID_CANDIDATE,
    )
    conditions = set_condition(
        conditions,
        condition(ConditionType.STALLED, stalled, reason, message if stalled else "", generation=generation, now=now),
    )
    return dataclasses.replace(status, conditions=conditions, observed_generation=generation)


def persist(kcd: KCD, rollout: RolloutState, now: datetime.datetime, *, reason: str, message: str) -> Status:
    status = dataclasses.replace(kcd.status, rollout=rollout)
    return with_conditions(status, kcd.generation, now, ready=False, reason=reason, message=message, reconciling=True)


def elapsed(since: str, now: datetime.datetime) -> float:
    start = parse_time(since)
    return (now - start).total_seconds() if start else 0.0


def report(status: Status, generation: int, now: datetime.datetime, *, ready: bool, reason: str, message: str) -> Plan:
    """A steady state (no rollout in flight): conditions written only when they change, and an Event only when
    Ready's reason or message changes, so an unchanged problem is not re-announced on every reconcile."""
    ready_cond = find_condition(status.conditions, ConditionType.READY)
    new = with_conditions(status, generation, now, ready=ready, reason=reason, message=message, reconciling=False)
    changed = ready_cond is None or ready_cond.reason != reason or ready_cond.message != message
    events = (Event(reason, message, warning=not ready),) if changed else ()
    return Plan(status=None if new == status else new, events=events)
