"""One reconcile step of a KCD, decided purely from a View: `decide(view) -> Plan`.

The rollout is a state machine persisted in status.rollout (kcd.model.RolloutState). The engine owns its start and
its end; the strategy (kcd.engine.strategies) owns the phases in between:

  idle --candidate / manual rollback--> <strategy phases> --done/failed--> Recording --> idle (Success | Failed)

An in-flight rollout is always driven to an end, whatever happened to its selection: it is looked at before any
steady-state report, it times out after timeoutSeconds (the clock stops while a Deployment is paused), and losing
its workloads or container fails it (rolled back where possible). It is superseded (recorded as such, not
quarantined) by a newer candidate of the KCD's own source, by an edit of imageRepo, tag or container.name (the next
step starts over from the new spec) and by a manual rollback. Each step is idempotent given the persisted state, so a
controller killed anywhere resumes without repeating work; the status write that ends a phase comes last.
"""

from __future__ import annotations

import dataclasses

from kcd import images
from kcd.engine import candidates, drift, manual, syncers, verify
from kcd.engine.outcome import fail, finish, supersede
from kcd.engine.plan import WORKLOAD_WRITES, Plan, WriteStatus, elapsed, go, report
from kcd.engine.start import new_rollout, start
from kcd.engine.strategies import Strategy, for_spec
from kcd.engine.view import Candidate, View
from kcd.model import (
    ABORT,
    PAUSED,
    CurrStatus,
    Outcome,
    Phase,
    Reason,
    RolloutState,
)

__all__ = ["Plan", "decide"]


def _report(view: View, *, ready: bool, reason: str, message: str) -> Plan:
    kcd = view.kcd
    return report(kcd.status, kcd.generation, view.now, ready=ready, reason=reason, message=message)


def decide(view: View) -> Plan:
    """The next step for the KCD in `view`, with its SyncerHealthy condition (kcd.engine.syncers)."""
    return syncers.judged(view, _step(view))


def _step(view: View) -> Plan:
    plan = _decide(view)
    started = plan.status.rollout if plan.status is not None else None
    before = view.kcd.status.rollout
    fresh = started is not None and (before is None or before.started_at != started.started_at)
    if not fresh or any(isinstance(a, WORKLOAD_WRITES) for a in plan.actions):
        return plan
    if started is not None and started.phase in verify.PHASES:
        return plan  # verification needs what the edge gathers for that phase (the pinned image, a probe): next step
    # A rollout just started: its first phase runs in the same step, on the status just decided (one status write
    # less). Resuming stays safe: killed before the write, the next step finds no new rollout and starts it again,
    # and the first phase's writes are idempotent (sent only where the watched state differs).
    assert plan.status is not None
    first = _decide(dataclasses.replace(view, kcd=dataclasses.replace(view.kcd, status=plan.status)))
    if first.status is None:
        return dataclasses.replace(first, actions=(*first.actions, *plan.actions))
    kept = tuple(a for a in plan.actions if not isinstance(a, WriteStatus))
    return dataclasses.replace(first, actions=(*first.actions, *kept))


def _decide(view: View) -> Plan:
    kcd = view.kcd
    strategy = for_spec(kcd.spec)
    rollout = kcd.status.rollout
    if rollout is not None:
        return _in_flight(view, rollout, strategy)
    problem = _steady_problem(view, strategy)
    if problem is not None:
        return problem
    if manual.requested(view):
        return manual.rollback(view)
    return _idle(view)


def _steady_problem(view: View, strategy: Strategy | None) -> Plan | None:
    kcd = view.kcd
    if view.overlaps:
        others = ", ".join(sorted(view.overlaps))
        message = (
            f"a selected workload is also selected by the older KCD {others}; "
            "change spec.selector so that each workload has one KCD"
        )
        return _report(view, ready=False, reason=Reason.OVERLAPPING_SELECTOR, message=message)
    if strategy is None:
        message = f"strategy.kind {kcd.spec.strategy.kind} is not implemented by this controller; nothing is deployed"
        return _report(view, ready=False, reason=Reason.INVALID_SPEC, message=message)
    if not view.workloads:
        message = (
            f"no Deployment, StatefulSet, DaemonSet or CronJob in {kcd.namespace} has labels {dict(kcd.spec.selector)}"
        )
        return _report(view, ready=False, reason=Reason.WORKLOAD_NOT_FOUND, message=message)
    if view.missing_container:
        refs = ", ".join(w.ref for w in view.missing_container)
        return _report(
            view,
            ready=False,
            reason=Reason.CONTAINER_NOT_FOUND,
            message=f"container {kcd.spec.container.name!r} not found in {refs}",
        )
    problem = strategy.problem(view)
    if problem:
        return _report(view, ready=False, reason=Reason.INVALID_SPEC, message=problem)
    return None


def _blocked(view: View, cand: Candidate) -> Plan | None:
    """A candidate that must not start a rollout: quarantined, held by a person, or rollouts paused."""
    kcd = view.kcd
    ready = kcd.status.curr_status == CurrStatus.SUCCESS
    if kcd.is_quarantined(cand.version, cand.digest):
        message = (
            f"version {cand.version} failed before and is not deployed again automatically; "
            f"`kcd rollout clear {kcd.name}` allows it"
        )
        return _report(view, ready=False, reason=Reason.QUARANTINED, message=message)
    if kcd.is_held(cand.version, cand.digest):
        message = (
            f"version {cand.version} was rolled back by hand and is held; `kcd rollout clear {kcd.name}` allows it"
        )
        return _report(view, ready=ready, reason=Reason.HELD, message=message)
    if kcd.annotations.get(PAUSED) == "true":
        return _report(
            view, ready=ready, reason=Reason.PAUSED, message=f"rollouts are paused; candidate {cand.version} waits"
        )
    return None


def _idle(view: View) -> Plan:
    kcd = view.kcd
    status = kcd.status
    choice = candidates.choose(view)
    if choice.problem:
        return report(
            status,
            kcd.generation,
            view.now,
            ready=status.curr_status == CurrStatus.SUCCESS,
            reason=Reason.INVALID_CANDIDATE,
            message=f"{choice.problem}; nothing deployed",
            warning=True,
        )
    cand = choice.candidate
    # A candidate equal to the live version starts nothing, unless the last rollout failed: then the tag moved back
    # to the live version and the workloads must leave the failed one (the original did this).
    if cand is not None and (cand.version != status.success_version or status.curr_status == CurrStatus.FAILED):
        blocked = _blocked(view, cand)
        if blocked is None:
            return start(view, new_rollout(view, cand.version, cand.digest))
        if not drift.wanted(_live(view)):
            return blocked
    return drift.correct(_live(view))


def _live(view: View) -> View:
    """The view drift correction works on: the workloads that must run the live version (blue-green: one colour)."""
    strategy = for_spec(view.kcd.spec)
    return view if strategy is None else dataclasses.replace(view, workloads=strategy.live_workloads(view))


def _superseded_by(view: View, rollout: RolloutState) -> Plan | None:
    kcd = view.kcd
    if manual.requested(view):
        return manual.rollback(view)
    if rollout.source != kcd.source or rollout.container != kcd.spec.container.name:
        message = (
            f"rollout of {rollout.version} abandoned: the spec changed ({rollout.source} container "
            f"{rollout.container!r} -> {kcd.source} container {kcd.spec.container.name!r}); starting over"
        )
        return supersede(view, rollout, reason=Reason.SPEC_CHANGED, message=message)
    if rollout.phase not in (Phase.PATCHING, Phase.WAITING) or rollout.reason == Reason.MANUAL_ROLLBACK:
        return None
    cand = candidates.choose(view).candidate
    if cand is None or cand.version in (rollout.version, kcd.status.success_version) or _blocked(view, cand):
        return None
    message = f"rollout of {rollout.version} superseded by the newer candidate {cand.version}"
    return supersede(
        view, rollout, reason=Reason.SUPERSEDED, message=message, nxt=new_rollout(view, cand.version, cand.digest)
    )


def _upgraded(view: View, rollout: RolloutState) -> RolloutState:
    """A rollout persisted by a kcd that did not record image, source and container: it started from this spec."""
    spec = view.kcd.spec
    return dataclasses.replace(
        rollout,
        image=rollout.image or images.image_for(spec.image_repo, rollout.version),
        source=rollout.source or view.kcd.source,
        container=rollout.container or spec.container.name,
    )


def _in_flight(view: View, rollout: RolloutState, strategy: Strategy | None) -> Plan:
    rollout = _upgraded(view, rollout)
    if rollout.phase is Phase.RECORDING:
        return finish(view, rollout)
    other = _superseded_by(view, rollout)
    if other is not None:
        return other
    kcd = view.kcd
    if strategy is None or rollout.phase not in strategy.phases | verify.PHASES:
        return fail(
            view,
            rollout,
            reason=Reason.INVALID_SPEC,
            message=f"phase {rollout.phase} cannot be run for strategy {kcd.spec.strategy.kind}",
        )
    if view.kcd.annotations.get(ABORT) == rollout.id and rollout.phase is not Phase.ROLLING_BACK:
        message = f"rollout of {rollout.version} aborted by a person (`kcd rollout abort`)"
        return strategy.fail(view, rollout, reason=Reason.ABORTED, message=message)
    if rollout.phase is not Phase.ROLLING_BACK:
        lost = _lost_selection(view) or _broken_setup(view, strategy)
        if lost is not None:
            return strategy.fail(view, rollout, reason=lost[0], message=lost[1])
        if not _clock_stopped(rollout) and elapsed(rollout.started_at, view.now) > kcd.spec.timeout_seconds:
            return strategy.fail(
                view,
                rollout,
                reason=Reason.ROLLOUT_TIMED_OUT,
                message=f"not rolled out within timeoutSeconds={kcd.spec.timeout_seconds}",
            )
    present = dataclasses.replace(view, workloads=tuple(w for w in view.workloads if w.image is not None))
    if rollout.phase is Phase.VERIFYING:
        return verify.step(present, rollout, done=lambda v, r: _first_phase(v, r, strategy), fail=strategy.fail)
    if rollout.phase is Phase.POST_VERIFYING:
        return verify.step(present, rollout, done=strategy.verified, fail=strategy.fail)
    return _until_timeout(view, rollout, strategy.step(present, rollout))


def _clock_stopped(rollout: RolloutState) -> bool:
    """The timeout clock stops while a Deployment is paused and while a person is to promote the new colour."""
    return bool(rollout.paused_at) or rollout.phase is Phase.AWAITING_PROMOTION


def _until_timeout(view: View, rollout: RolloutState, plan: Plan) -> Plan:
    """A quiet wait (plan.wake_in) ends no later than the rollout's timeout, which no event announces."""
    if plan.wake_in <= 0 or _clock_stopped(rollout):
        return plan
    left = view.kcd.spec.timeout_seconds - elapsed(rollout.started_at, view.now)
    return dataclasses.replace(plan, wake_in=max(0.5, min(plan.wake_in, left + 0.5)))


def _first_phase(view: View, rollout: RolloutState, strategy: Strategy) -> Plan:
    """container.verify passed: the strategy's first phase, at once."""
    return strategy.step(view, rollout.advance(strategy.first_phase, now=view.now))


def _broken_setup(view: View, strategy: Strategy) -> tuple[str, str] | None:
    problem = strategy.problem(view)
    return (Reason.INVALID_SPEC, problem) if problem else None


def _lost_selection(view: View) -> tuple[str, str] | None:
    kcd = view.kcd
    if not view.workloads:
        return (
            Reason.WORKLOAD_NOT_FOUND,
            f"no workload in {kcd.namespace} has labels {dict(kcd.spec.selector)} any more",
        )
    if view.missing_container:
        refs = ", ".join(w.ref for w in view.missing_container)
        return Reason.CONTAINER_NOT_FOUND, f"container {kcd.spec.container.name!r} is gone from {refs}"
    return None


def api_failed(view: View, message: str) -> Plan:
    """A write of the last plan was refused for good (403, 422, an admission webhook's denial): retrying cannot help.
    An in-flight rollout fails with the API's message (rolled back where possible); idle, the KCD reports it."""
    rollout = view.kcd.status.rollout
    if rollout is None or rollout.phase is Phase.RECORDING:
        return _report(view, ready=False, reason=Reason.API_ERROR, message=message)
    if rollout.phase is Phase.ROLLING_BACK:
        ended = dataclasses.replace(
            rollout.advance(Phase.RECORDING, now=view.now),
            outcome=Outcome.FAILED,
            message=f"{rollout.message}; rollback refused: {message}",
        )
        return go(view, ended, message, Reason.API_ERROR)
    strategy = for_spec(view.kcd.spec)
    if strategy is None:
        return fail(view, rollout, reason=Reason.API_ERROR, message=message)
    return strategy.fail(view, rollout, reason=Reason.API_ERROR, message=message)
