"""How a rollout ends: a failure (rolled back when enabled) or the final recording of its outcome. Pure."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from kcd.engine.plan import Event, Plan, elapsed, persist, with_conditions
from kcd.engine.view import Target
from kcd.history import Record
from kcd.model import KCD, CurrStatus, Outcome, Phase, Reason, RolloutState, format_time, parse_time, quarantine


def fail(kcd: KCD, rollout: RolloutState, now: datetime.datetime, *, reason: str, message: str) -> Plan:
    """A failed rollout: roll back when enabled and there is something to go back to, else record the failure."""
    back = rollout.previous_version
    failed = dataclasses.replace(rollout, outcome=Outcome.FAILED, reason=reason, message=message)
    if kcd.spec.rollback.enabled and back and back != rollout.version:
        nxt, text = failed.advance(Phase.ROLLING_BACK, now=now), f"{message}; rolling back to {back}"
    else:
        nxt, text = failed.advance(Phase.RECORDING, now=now), message
    return Plan(
        status=persist(kcd, nxt, now, reason=reason, message=text),
        events=(Event(reason, text, warning=True),),
        again=True,
    )


def finish(kcd: KCD, rollout: RolloutState, targets: Sequence[Target], now: datetime.datetime) -> Plan:
    """Recording: config ConfigMap (on success), one history record per workload, then the final status."""
    outcome = rollout.outcome or Outcome.SUCCESS
    when = rollout.phase_started_at or format_time(now)
    duration = round(elapsed(rollout.started_at, parse_time(when) or now), 3)
    records = (
        tuple(
            Record(
                version=rollout.version,
                digest=rollout.digest,
                time=when,
                kcd=kcd.name,
                type=t.kind,
                name=t.name,
                container=kcd.spec.container.name,
                strategy=str(kcd.spec.strategy.kind),
                outcome=outcome,
                duration_seconds=duration,
                reason=rollout.message,
            )
            for t in targets
        )
        if kcd.spec.history.enabled
        else ()
    )
    success = outcome is Outcome.SUCCESS
    if success:
        reason, message = Reason.ROLLOUT_SUCCEEDED, f"{rollout.version} is live on {', '.join(t.ref for t in targets)}"
    else:
        reason = Reason.ROLLED_BACK if outcome is Outcome.ROLLED_BACK else Reason.ROLLOUT_FAILED
        message = f"{rollout.version} failed: {rollout.message}" + (
            f"; rolled back to {rollout.previous_version}" if outcome is Outcome.ROLLED_BACK else ""
        )
    status = dataclasses.replace(
        kcd.status,
        curr_version=rollout.version,
        curr_status=CurrStatus.SUCCESS if success else CurrStatus.FAILED,
        curr_status_time=format_time(now),
        success_version=rollout.version if success else kcd.status.success_version,
        failed_versions=kcd.status.failed_versions
        if success
        else quarantine(kcd.status.failed_versions, rollout.version),
        rollout=None,
    )
    status = with_conditions(
        status, kcd.generation, now, ready=success, reason=reason, message=message, reconciling=False
    )
    return Plan(
        config_version=rollout.version if success else None,
        history=records,
        status=status,
        events=(Event(reason, message, warning=not success),),
    )
