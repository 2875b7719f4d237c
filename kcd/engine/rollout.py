"""One reconcile step of a KCD, decided purely: what to patch, record and write, given the KCD and its workloads.

The rollout is a small state machine persisted in status.rollout (kcd.model.RolloutState):

  idle --candidate--> Patching --> Waiting --done--> Recording(Success) --> idle (Success)
                                      |fail/timeout
                                      +--rollback.enabled--> RollingBack --> Recording(RolledBack) --> idle (Failed)
                                      +--otherwise-------------------------> Recording(Failed)     --> idle (Failed)

Each step is idempotent given the persisted state, so a controller killed anywhere resumes without repeating work:
patches are only sent to workloads whose image differs, history records derive every field from the persisted state
(kcd.history.add ignores a repeat), and the status write that ends a phase comes last. The reconciler executes a Plan.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from kcd import images
from kcd.engine.outcome import fail, finish
from kcd.engine.plan import Event, Plan, elapsed, persist, report, with_conditions
from kcd.engine.strategies import simple
from kcd.engine.view import Candidate, Target, newest_candidate
from kcd.model import (
    KCD,
    PAUSED,
    CurrStatus,
    Outcome,
    Phase,
    Reason,
    RolloutState,
    StrategyKind,
    format_time,
)

__all__ = ["Event", "Plan", "decide"]


def _desired(kcd: KCD, version: str) -> str:
    return images.image_for(kcd.spec.image_repo, version)


def _valid_candidate(kcd: KCD, cand: Candidate) -> bool:
    if images.is_digest(cand.version):
        return True
    try:
        return images.is_version(images.compile_syntax(kcd.spec.version_syntax), cand.version)
    except images.InvalidVersionSyntax:
        return False


def _report(kcd: KCD, now: datetime.datetime, *, ready: bool, reason: str, message: str) -> Plan:
    return report(kcd.status, kcd.generation, now, ready=ready, reason=reason, message=message)


def _unsupported(kcd: KCD) -> str:
    """Spec features the CRD accepts but this controller cannot honour yet: refusing beats deploying without them."""
    if kcd.spec.strategy.kind is StrategyKind.SERVICE_BLUE_GREEN:
        return "strategy.kind ServiceBlueGreen"
    if kcd.spec.container.verify or kcd.spec.strategy.verify:
        return "verification (container.verify / strategy.verify)"
    return ""


def decide(kcd: KCD, targets: Sequence[Target], now: datetime.datetime) -> Plan:
    """The next step for `kcd` whose selector matched `targets`."""
    if not targets:
        return _report(
            kcd,
            now,
            ready=False,
            reason=Reason.WORKLOAD_NOT_FOUND,
            message=f"no Deployment, StatefulSet, DaemonSet or CronJob in {kcd.namespace} has "
            f"labels {dict(kcd.spec.selector)}",
        )
    unsupported = _unsupported(kcd)
    if unsupported:
        return _report(
            kcd,
            now,
            ready=False,
            reason=Reason.INVALID_SPEC,
            message=f"{unsupported} is not implemented by this controller yet; nothing is deployed",
        )
    missing = [t.ref for t in targets if t.image is None]
    if missing:
        return _report(
            kcd,
            now,
            ready=False,
            reason=Reason.CONTAINER_NOT_FOUND,
            message=f"container {kcd.spec.container.name!r} not found in {', '.join(missing)}",
        )
    rollout = kcd.status.rollout
    if rollout is None:
        return _idle(kcd, targets, now)
    return _step(kcd, rollout, targets, now)


def _idle(kcd: KCD, targets: Sequence[Target], now: datetime.datetime) -> Plan:
    status = kcd.status
    cand = newest_candidate(targets)
    if cand is not None and cand.version != status.success_version:
        if not _valid_candidate(kcd, cand):
            return _report(
                kcd,
                now,
                ready=status.curr_status == CurrStatus.SUCCESS,
                reason=Reason.INVALID_CANDIDATE,
                message=f"candidate version {cand.version[:80]!r} matches neither versionSyntax "
                f"{kcd.spec.version_syntax!r} nor a digest; nothing deployed",
            )
        if kcd.is_quarantined(cand.version):
            drift = _drift(kcd, targets, now)
            if drift.patches:
                return drift
            return _report(
                kcd,
                now,
                ready=False,
                reason=Reason.QUARANTINED,
                message=f"version {cand.version} failed before and is not deployed again "
                f"automatically; `kcd rollout clear {kcd.name}` allows it",
            )
        if kcd.annotations.get(PAUSED) == "true":
            return _report(
                kcd,
                now,
                ready=status.curr_status == CurrStatus.SUCCESS,
                reason=Reason.PAUSED,
                message=f"rollouts are paused; candidate {cand.version} waits",
            )
        return _start(kcd, cand, now)
    return _drift(kcd, targets, now)


def _start(kcd: KCD, cand: Candidate, now: datetime.datetime) -> Plan:
    stamp = format_time(now)
    rollout = RolloutState(
        version=cand.version,
        phase=Phase.PATCHING,
        digest=cand.digest,
        started_at=stamp,
        phase_started_at=stamp,
        previous_version=kcd.status.success_version,
    )
    message = f"rolling out {cand.version} (was {kcd.status.success_version or 'none'})"
    status = dataclasses.replace(
        kcd.status,
        curr_version=cand.version,
        curr_status=CurrStatus.PROGRESSING,
        curr_status_time=stamp,
        rollout=rollout,
    )
    status = with_conditions(
        status, kcd.generation, now, ready=False, reason=Reason.ROLLOUT_STARTED, message=message, reconciling=True
    )
    return Plan(status=status, events=(Event(Reason.ROLLOUT_STARTED, message),), again=True)


def _drift(kcd: KCD, targets: Sequence[Target], now: datetime.datetime) -> Plan:
    """Idle and live: re-apply the live version where someone changed the image by hand."""
    live = kcd.status.success_version
    if not live or kcd.status.curr_status != CurrStatus.SUCCESS:
        if kcd.status.curr_status == CurrStatus.FAILED:
            return _report(
                kcd,
                now,
                ready=False,
                reason=Reason.ROLLOUT_FAILED,
                message=f"rollout of {kcd.status.curr_version} failed; live: {live or 'none'}",
            )
        return _report(kcd, now, ready=True, reason=Reason.UP_TO_DATE, message="waiting for a candidate")
    want = _desired(kcd, live)
    drifted = [t for t in targets if t.image != want]
    if not drifted:
        return _report(kcd, now, ready=True, reason=Reason.UP_TO_DATE, message=f"{live} is live")
    message = f"re-applied {live} to {', '.join(t.ref for t in drifted)} (image changed by hand)"
    return Plan(patches=tuple((t, want) for t in drifted), events=(Event(Reason.DRIFT_CORRECTED, message),))


def _step(kcd: KCD, rollout: RolloutState, targets: Sequence[Target], now: datetime.datetime) -> Plan:
    if rollout.phase is Phase.RECORDING:
        return finish(kcd, rollout, targets, now)
    if rollout.phase is Phase.ROLLING_BACK:
        return _rolling_back(kcd, rollout, targets, now)
    if elapsed(rollout.started_at, now) > kcd.spec.timeout_seconds:
        return fail(
            kcd,
            rollout,
            now,
            reason=Reason.ROLLOUT_TIMED_OUT,
            message=f"not rolled out within timeoutSeconds={kcd.spec.timeout_seconds}",
        )
    want = _desired(kcd, rollout.version)
    if rollout.phase is Phase.PATCHING:
        patches = simple.pending_patches(targets, want)
        nxt = rollout.advance(Phase.WAITING, now=now)
        message = f"set {want} on {', '.join(t.ref for t in targets)}"
        return Plan(
            patches=patches,
            status=persist(kcd, nxt, now, reason=Reason.ROLLOUT_PROGRESSING, message=message),
            again=True,
        )
    if rollout.phase is Phase.WAITING:
        result = simple.verdict(targets, want)
        if result.failed:
            return fail(kcd, rollout, now, reason=Reason.ROLLOUT_FAILED, message=result.message)
        if result.done:
            nxt = dataclasses.replace(
                rollout.advance(Phase.RECORDING, now=now), outcome=Outcome.SUCCESS, message=result.message
            )
            return Plan(
                status=persist(kcd, nxt, now, reason=Reason.ROLLOUT_PROGRESSING, message="recording"), again=True
            )
        return Plan(in_flight=True)
    # Phases of strategies this step does not run (verification, blue-green): not reachable for Simple.
    return fail(kcd, rollout, now, reason=Reason.ROLLOUT_FAILED, message=f"unsupported phase {rollout.phase}")


def _rolling_back(kcd: KCD, rollout: RolloutState, targets: Sequence[Target], now: datetime.datetime) -> Plan:
    back = _desired(kcd, rollout.previous_version)
    patches = simple.pending_patches(targets, back)
    if patches:
        return Plan(patches=patches, in_flight=True)
    result = simple.verdict(targets, back)
    timed_out = elapsed(rollout.phase_started_at, now) > kcd.spec.timeout_seconds
    if result.done or result.failed or timed_out:
        outcome = Outcome.ROLLED_BACK if result.done else Outcome.FAILED
        note = "" if result.done else f"; rollback to {rollout.previous_version} did not finish: {result.message}"
        nxt = dataclasses.replace(
            rollout.advance(Phase.RECORDING, now=now), outcome=outcome, message=rollout.message + note
        )
        return Plan(status=persist(kcd, nxt, now, reason=Reason.ROLLED_BACK, message="recording"), again=True)
    return Plan(in_flight=True)
