"""The KCD's ``SyncerHealthy`` condition, judged from its workloads' syncer Leases (kcd.syncerhealth). Pure.

- True (``SyncersPolling``): every selected workload's Lease was renewed within its staleness and its last poll
  succeeded.
- False: a last poll failed (``SyncerFailing``: ``deployment/web: registry 401: … since 10:02 UTC``) or a Lease is
  stale (``NoLiveSyncer``: nobody renewed it for two durations). Failures are named before stale Leases.
- Unknown (``SyncerNotReported``): a workload has no Lease yet (its syncer has not started), or nothing is selected.

The message carries nothing that moves with the clock ("12 s ago" is for the dashboard, kcd.syncerhealth.describe):
the condition is rewritten only when its status, reason or message changes, so a Lease renewal or a resync of an
unchanged KCD costs no status write. A CronJob's syncer runs only while a job runs: its Lease going quiet between
jobs is normal, so only its last outcome counts.
"""

from __future__ import annotations

import dataclasses
import datetime

from kcd import syncerhealth
from kcd.engine.plan import Action, Emit, Plan, WriteStatus
from kcd.engine.view import View, Workload
from kcd.model import Condition, ConditionType, Reason, Status, condition, find_condition, set_condition

_INTERMITTENT = frozenset({"CronJob"})  # kinds whose pods (and syncers) do not run all the time


@dataclasses.dataclass(frozen=True)
class Verdict:
    ok: bool | None  # the condition's status: True, False, None for Unknown
    reason: str
    message: str


def _clock(when: datetime.datetime | None) -> str:
    return f"{when:%H:%M} UTC" if when else "never"


def _failing(ref: str, health: syncerhealth.Health) -> str:
    return f"{ref}: {health.error} since {_clock(health.error_since or health.last_poll)}"


def _stale(ref: str, health: syncerhealth.Health) -> str:
    return f"{ref}: no live syncer (last poll {_clock(health.last_poll)})"


def verdict(view: View) -> Verdict:
    """SyncerHealthy for the workloads of `view` at `view.now`."""
    failing, stale, missing, polling = [], [], [], []
    for workload in view.workloads:
        health = (view.syncers or {}).get(workload.ref)
        if health is None:
            missing.append(f"{workload.ref}: no syncer has reported (no Lease)")
        elif _silent(workload, health, view.now):
            stale.append(_stale(workload.ref, health))
        elif health.error:
            failing.append(_failing(workload.ref, health))
        else:
            polling.append(workload.ref)
    if failing or stale:
        return Verdict(False, Reason.SYNCER_FAILING if failing else Reason.NO_LIVE_SYNCER, "; ".join(failing + stale))
    if missing:
        return Verdict(None, Reason.SYNCER_NOT_REPORTED, "; ".join(missing))
    if not polling:
        return Verdict(None, Reason.SYNCER_NOT_REPORTED, "no workload is selected")
    return Verdict(True, Reason.SYNCERS_POLLING, f"the last poll succeeded: {', '.join(polling)}")


def _silent(workload: Workload, health: syncerhealth.Health, now: datetime.datetime) -> bool:
    return workload.kind not in _INTERMITTENT and syncerhealth.state(health, now) == "Stale"


def judged(view: View, plan: Plan) -> Plan:
    """`plan` with SyncerHealthy set: in the status it writes anyway, or in a status write of its own when the
    condition's status, reason or message changed (lastTransitionTime and observedGeneration alone never cause one).
    A View built without syncer information (``view.syncers is None``) leaves the condition alone."""
    if view.syncers is None:
        return plan
    found = verdict(view)
    kcd = view.kcd
    new = condition(
        ConditionType.SYNCER_HEALTHY, found.ok, found.reason, found.message, generation=kcd.generation, now=view.now
    )
    old = find_condition(kcd.status.conditions, ConditionType.SYNCER_HEALTHY)
    changed = old is None or (old.status, old.reason, old.message) != (new.status, new.reason, new.message)
    actions: list[Action] = [
        WriteStatus(_with(a.status, new)) if isinstance(a, WriteStatus) else a for a in plan.actions
    ]
    if changed and plan.status is None:
        actions.append(WriteStatus(_with(kcd.status, new)))
    if changed and (found.ok is False or (old is not None and old.status == "False")):
        actions.append(Emit(found.reason, found.message, warning=found.ok is False))
    return dataclasses.replace(plan, actions=tuple(actions))


def _with(status: Status, new: Condition) -> Status:
    return dataclasses.replace(status, conditions=set_condition(status.conditions, new))
