"""How a rollout starts: its persisted state, fixed from the spec at that moment, and the status write. Pure."""

from __future__ import annotations

import dataclasses

from kcd import images
from kcd.engine.plan import Emit, Plan, WriteStatus, with_conditions
from kcd.engine.strategies import for_spec
from kcd.engine.view import View
from kcd.model import CurrStatus, Phase, Reason, RolloutState, Status, format_time


def new_rollout(view: View, version: str, digest: str, *, reason: str = "", message: str = "") -> RolloutState:
    kcd, stamp = view.kcd, format_time(view.now)
    strategy = for_spec(kcd.spec)
    return RolloutState(
        version=version,
        # container.verify runs before anything is deployed; then the strategy's own first phase.
        phase=Phase.VERIFYING if kcd.spec.container.verify else (strategy.first_phase if strategy else Phase.PATCHING),
        digest=digest,
        image=images.image_for(kcd.spec.image_repo, version),
        source=kcd.source,
        container=kcd.spec.container.name,
        started_at=stamp,
        phase_started_at=stamp,
        previous_version=kcd.status.success_version,
        reason=reason,
        message=message,
    )


def start(
    view: View, rollout: RolloutState, *, status: Status | None = None, reason: str = Reason.ROLLOUT_STARTED
) -> Plan:
    kcd = view.kcd
    message = rollout.message or f"rolling out {rollout.version} (was {kcd.status.success_version or 'none'})"
    base = dataclasses.replace(
        status or kcd.status,
        curr_version=rollout.version,
        curr_status=CurrStatus.PROGRESSING,
        curr_status_time=rollout.started_at,
        rollout=rollout,
    )
    written = with_conditions(
        base, kcd.generation, view.now, ready=False, reason=reason, message=message, reconciling=True
    )
    return Plan(actions=(WriteStatus(written), Emit(reason, message, False, rollout.version)), again=True)
