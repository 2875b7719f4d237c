"""How a rollout ends: failed (rolled back when enabled), superseded, or recorded with its outcome. Pure.

Shared by every strategy: whatever the phases before, the end is the Recording phase (config ConfigMap on success,
one history record per selected workload, the final status), so both strategies record and quarantine alike. The
step that moves a rollout into Recording usually records it at once (record_now); a persisted Recording phase (a
refused write, an older controller) is finished by the next step.
"""

from __future__ import annotations

import dataclasses

from kcd.engine.plan import (
    WORKLOAD_WRITES,
    Action,
    AddHistory,
    Emit,
    Plan,
    SetConfig,
    WriteStatus,
    elapsed,
    go,
    with_conditions,
)
from kcd.engine.view import View
from kcd.history import Record
from kcd.model import CurrStatus, Outcome, Phase, Reason, RolloutState, Status, format_time, parse_time, quarantine


def fail(view: View, rollout: RolloutState, *, reason: str, message: str) -> Plan:
    """A failed rollout: roll back when enabled and there is something to go back to, else record the failure."""
    kcd, now = view.kcd, view.now
    back = rollout.previous_version
    failed = dataclasses.replace(rollout, outcome=Outcome.FAILED, reason=reason, message=message)
    # A version a person rolled back from is never the automatic rollback target.
    if kcd.spec.rollback.enabled and back and back != rollout.version and not kcd.is_held(back):
        nxt, text = failed.advance(Phase.ROLLING_BACK, now=now), f"{message}; rolling back to {back}"
    else:
        nxt, text = failed.advance(Phase.RECORDING, now=now), message
    return go(view, nxt, text, reason, Emit(reason, text, True, rollout.version))


def records(view: View, rollout: RolloutState, outcome: Outcome, when: str) -> tuple[Action, ...]:
    kcd = view.kcd
    if not kcd.spec.history.enabled:
        return ()
    duration = round(elapsed(rollout.started_at, parse_time(when) or view.now), 3)
    # Blue-green records under the colour that went live (the original recorded the old one); Simple under each.
    workloads = [w for w in view.workloads if w.name == rollout.idle] if rollout.idle else view.workloads
    return tuple(
        AddHistory(
            Record(
                version=rollout.version,
                digest=rollout.digest,
                time=when,
                kcd=kcd.name,
                type=w.kind,
                name=w.name,
                container=kcd.spec.container.name,
                strategy=str(kcd.spec.strategy.kind),
                outcome=outcome,
                duration_seconds=duration,
                reason="; ".join([rollout.message, *rollout.verified]) if rollout.verified else rollout.message,
            )
        )
        for w in workloads
    )


def _message(view: View, rollout: RolloutState, outcome: Outcome) -> tuple[str, str]:
    if outcome is Outcome.SUCCESS:
        applied = [w.ref for w in view.workloads if w.progress.applied_only]
        note = f" (applied to the job template of {', '.join(applied)}; the next job runs it)" if applied else ""
        live = [w for w in view.workloads if w.name == rollout.idle] if rollout.idle else view.workloads
        refs = ", ".join(w.ref for w in live)  # blue-green: the colour that went live
        return Reason.ROLLOUT_SUCCEEDED, f"{rollout.version} is live on {refs}{note}"
    if outcome is Outcome.ROLLED_BACK:
        return (
            Reason.ROLLED_BACK,
            f"{rollout.version} failed: {rollout.message}; rolled back to {rollout.previous_version}",
        )
    return Reason.ROLLOUT_FAILED, f"{rollout.version} failed: {rollout.message}"


def finish(view: View, rollout: RolloutState) -> Plan:
    """Recording: config ConfigMap (on success), one history record per workload, then the final status."""
    kcd, now = view.kcd, view.now
    outcome = rollout.outcome or Outcome.SUCCESS
    when = rollout.phase_started_at or format_time(now)
    reason, message = _message(view, rollout, outcome)
    success = outcome is Outcome.SUCCESS
    status = dataclasses.replace(
        kcd.status,
        curr_version=rollout.version,
        curr_status=CurrStatus.SUCCESS if success else CurrStatus.FAILED,
        curr_status_time=format_time(now),
        success_version=rollout.version if success else kcd.status.success_version,
        failed_versions=kcd.status.failed_versions
        if success
        else quarantine(kcd.status.failed_versions, rollout.version, rollout.digest),
        rollout=None,
    )
    status = with_conditions(
        status, kcd.generation, now, ready=success, reason=reason, message=message, reconciling=False
    )
    config = kcd.spec.config
    actions: list[Action] = [SetConfig(config.name, config.key, rollout.version)] if success and config else []
    actions += [
        *records(view, rollout, outcome, when),
        WriteStatus(status),
        Emit(reason, message, not success, rollout.version),
    ]
    # One more step at once: the steady state after the rollout (a quarantine, a lost workload) is reported now,
    # not at the next resync.
    return Plan(actions=tuple(actions), again=True)


def record_now(view: View, plan: Plan) -> Plan:
    """`plan` (decided on `view`) moves a rollout into Recording: record it in the same step, so that the config
    ConfigMap, the history and the final status follow at once, in one status write instead of two (a persisted
    Recording phase, then the end). Resuming stays safe: killed before the final write, the next step decides the same
    end again, set_config finds its value there and history.add knows the record (the same rollout). A plan that also
    writes workloads is left as it is: the end is recorded on the watched state after those writes."""
    status = plan.status
    ending = status.rollout if status is not None else None
    before = view.kcd.status.rollout
    if (
        status is None
        or ending is None
        or ending.phase is not Phase.RECORDING
        or (before is not None and before.phase is Phase.RECORDING)
        or any(isinstance(a, WORKLOAD_WRITES) for a in plan.actions)
    ):
        return plan
    ended = finish(dataclasses.replace(view, kcd=dataclasses.replace(view.kcd, status=status)), ending)
    kept = tuple(a for a in plan.actions if not isinstance(a, WriteStatus))
    return dataclasses.replace(ended, actions=(*kept, *ended.actions))


def supersede(
    view: View,
    rollout: RolloutState,
    *,
    reason: str,
    message: str,
    status: Status | None = None,
    nxt: RolloutState | None = None,
) -> Plan:
    """End `rollout` without blaming its version (not quarantined): a newer candidate, a spec edit or a manual
    rollback took over. With `nxt` the next rollout starts in the same status write; without, the KCD is idle again
    (the live version stays what it was)."""
    kcd, now = view.kcd, view.now
    ended = dataclasses.replace(rollout, message=message)
    base = dataclasses.replace(status or kcd.status, rollout=nxt)
    if nxt is None:
        live = base.success_version
        base = dataclasses.replace(
            base, curr_version=live, curr_status=CurrStatus.SUCCESS if live else None, curr_status_time=format_time(now)
        )
        written = with_conditions(
            base, kcd.generation, now, ready=bool(live), reason=reason, message=message, reconciling=False
        )
    else:
        base = dataclasses.replace(
            base, curr_version=nxt.version, curr_status=CurrStatus.PROGRESSING, curr_status_time=format_time(now)
        )
        written = with_conditions(
            base, kcd.generation, now, ready=False, reason=reason, message=message, reconciling=True
        )
    actions = (*records(view, ended, Outcome.SUPERSEDED, format_time(now)), WriteStatus(written))
    return Plan(actions=(*actions, Emit(reason, message, False, rollout.version)), again=True)
