"""Drift correction: idle and live, re-apply the live version where someone changed the image. Pure.

It respects `kcd.io/paused` (no correction while paused) and does not fight: after MAX_CORRECTIONS corrections within
WINDOW (counted in status.drift) kcd stops and reports Stalled (DriftConflict), naming the field managers that wrote
the image (from managedFields), until a person runs `kcd rollout clear` (or a new rollout starts).
"""

from __future__ import annotations

import dataclasses
import datetime

from kcd import images
from kcd.engine.plan import Emit, Plan, SetImage, WriteStatus, report
from kcd.engine.view import View, Workload
from kcd.model import PAUSED, ConditionType, CurrStatus, Drift, Reason, find_condition, format_time, parse_time

MAX_CORRECTIONS = 5
WINDOW = datetime.timedelta(minutes=10)


def _drifted(view: View) -> tuple[str, list[Workload]]:
    live = view.kcd.status.success_version
    want = images.image_for(view.kcd.spec.image_repo, live)
    return want, [w for w in view.workloads if w.image is not None and w.image != want]


def wanted(view: View) -> bool:
    status = view.kcd.status
    return bool(status.success_version) and status.curr_status == CurrStatus.SUCCESS and bool(_drifted(view)[1])


def _just_succeeded(view: View) -> bool:
    status = view.kcd.status
    ready = find_condition(status.conditions, ConditionType.READY)
    return (
        ready is not None
        and ready.is_true
        and ready.reason == Reason.ROLLOUT_SUCCEEDED
        and ready.observed_generation == view.kcd.generation
        and status.curr_version == status.success_version
    )


def _report(view: View, *, ready: bool, reason: str, message: str) -> Plan:
    kcd = view.kcd
    return report(kcd.status, kcd.generation, view.now, ready=ready, reason=reason, message=message)


def correct(view: View) -> Plan:
    kcd = view.kcd
    status, live = kcd.status, kcd.status.success_version
    if not live or status.curr_status != CurrStatus.SUCCESS:
        if status.curr_status == CurrStatus.FAILED:
            message = f"rollout of {status.curr_version} failed; live: {live or 'none'}"
            return _report(view, ready=False, reason=Reason.ROLLOUT_FAILED, message=message)
        return _report(view, ready=True, reason=Reason.UP_TO_DATE, message="waiting for a candidate")
    want, drifted = _drifted(view)
    if not drifted:
        if _just_succeeded(view):
            return Plan()  # "RolloutSucceeded: X is live on …" says it already: no second write, no second Event
        return _report(view, ready=True, reason=Reason.UP_TO_DATE, message=f"{live} is live")
    refs = ", ".join(w.ref for w in drifted)
    if kcd.annotations.get(PAUSED) == "true":
        message = f"rollouts and drift correction are paused; {refs} run another image than {live}"
        return _report(view, ready=True, reason=Reason.PAUSED, message=message)
    managers = sorted({m for w in drifted for m in w.image_managers})
    who = ", ".join(managers) or "an unknown writer"
    if status.drift.stalled:
        return _report(view, ready=False, reason=Reason.DRIFT_CONFLICT, message=_conflict(refs, who, kcd.name))
    since = parse_time(status.drift.since)
    fresh = since is None or view.now - since > WINDOW
    count = 1 if fresh else status.drift.corrections + 1
    started = format_time(view.now) if fresh else status.drift.since
    if count > MAX_CORRECTIONS:
        stalled = dataclasses.replace(status, drift=Drift(count, started, stalled=True))
        return report(
            stalled,
            kcd.generation,
            view.now,
            ready=False,
            reason=Reason.DRIFT_CONFLICT,
            message=_conflict(refs, who, kcd.name),
            extra=(WriteStatus(stalled),),
        )
    container = kcd.spec.container.name
    patches = tuple(SetImage(w.kind, w.name, container, want) for w in drifted)
    message = f"re-applied {live} to {refs} (image changed by {who})"
    counted = dataclasses.replace(status, drift=Drift(count, started))
    return Plan(actions=(*patches, WriteStatus(counted), Emit(Reason.DRIFT_CORRECTED, message, False, live)))


def _conflict(refs: str, who: str, name: str) -> str:
    return (
        f"the image of {refs} keeps being changed by {who} ({MAX_CORRECTIONS} corrections within "
        f"{int(WINDOW.total_seconds() // 60)} min); kcd stopped correcting it. Make one writer own the image, then "
        f"`kcd rollout clear {name}`"
    )
