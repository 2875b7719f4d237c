"""The Simple strategy: set the container image on every selected workload and let each roll its pods.

  Patching --> Waiting --done--> (Recording)
                  |failed/timeout --> RollingBack (rollback.enabled) --> (Recording)

Waiting keeps sending the rollout's image to any selected workload that does not run it (a workload that joined the
selection, a hand edit), so a rollout never waits for a patch nobody sends. A paused Deployment stops the timeout
clock (status.rollout.pausedAt) instead of failing a good version. RollingBack deletes the pods that a StatefulSet
under OrderedReady keeps broken (it never replaces them by itself).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from kcd import images
from kcd.engine import verify
from kcd.engine.outcome import fail
from kcd.engine.plan import Action, DeleteStuckPods, Plan, SetImage, elapsed, go, persist
from kcd.engine.view import View, Workload
from kcd.model import Outcome, Phase, Reason, RolloutState, format_time, parse_time

# The re-check of a Waiting rollout with no event: a safety net only, since every change of a selected workload's
# rollout progress arrives as a watch event (the 2 s progress poll was most of the steps of a 1,000-rollout storm).
QUIET_POLL_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class Verdict:
    done: bool
    failed: bool
    message: str
    paused: tuple[str, ...] = ()


def set_images(view: View, image: str) -> tuple[SetImage, ...]:
    """Only workloads whose image differs: a resumed step never patches twice."""
    container = view.kcd.spec.container.name
    return tuple(SetImage(w.kind, w.name, container, image) for w in view.workloads if w.image != image)


def verdict(workloads: Sequence[Workload], image: str) -> Verdict:
    """Done when every workload runs `image` and has rolled out; failed as soon as one reports failure."""
    waiting: list[str] = []
    paused = tuple(w.ref for w in workloads if w.progress.paused and w.image == image)
    for w in workloads:
        if w.image == image and w.progress.failed:
            return Verdict(False, True, f"{w.ref}: {w.progress.message}")
        if w.image != image:
            waiting.append(f"{w.ref}: image is {w.image}, not {image}")
        elif not w.progress.done:
            waiting.append(f"{w.ref}: {w.progress.message}")
    if waiting or not workloads:
        return Verdict(False, False, "; ".join(waiting) or "no workload selected", paused)
    return Verdict(True, False, "; ".join(f"{w.ref}: {w.progress.message}" for w in workloads))


def _patching(view: View, rollout: RolloutState) -> Plan:
    patches = set_images(view, rollout.image)
    refs = ", ".join(w.ref for w in view.workloads)
    status = persist(
        view.kcd,
        rollout.advance(Phase.WAITING, now=view.now),
        view.now,
        reason=Reason.ROLLOUT_PROGRESSING,
        message=f"set {rollout.image} on {refs}",
    )
    # A workload patched here has a new generation that its controller has yet to observe, so Waiting could decide
    # nothing new before that workload's next status event wakes the KCD: no second step at once (a thousand of them
    # in a storm of rollouts) unless Waiting may be done already, i.e. nothing needed a patch or a patch is the
    # whole rollout (a CronJob's).
    if patches and not any(w.progress.applied_only for w in view.workloads if w.image != rollout.image):
        return Plan(actions=(*patches, status), in_flight=True, wake_in=QUIET_POLL_SECONDS)
    return Plan(actions=(*patches, status), again=True)


def _paused(view: View, rollout: RolloutState, result: Verdict) -> Plan | None:
    """Stop the timeout clock while a selected Deployment is paused; restart it (shifted) when it resumes."""
    if result.paused and not rollout.paused_at:
        nxt = dataclasses.replace(rollout, paused_at=format_time(view.now))
        message = (
            f"{', '.join(result.paused)} paused (spec.paused): the rollout of {rollout.version} continues when resumed"
        )
        return Plan(actions=(persist(view.kcd, nxt, view.now, reason=Reason.WORKLOAD_PAUSED, message=message),))
    if not result.paused and rollout.paused_at:
        start, pause = parse_time(rollout.started_at), parse_time(rollout.paused_at)
        shifted = format_time(start + (view.now - pause)) if start and pause else rollout.started_at
        nxt = dataclasses.replace(rollout, paused_at="", started_at=shifted)
        message = f"resumed: rolling out {rollout.version}"
        return go(view, nxt, message, Reason.ROLLOUT_PROGRESSING)
    return None


def _waiting(view: View, rollout: RolloutState) -> Plan:
    patches = set_images(view, rollout.image)
    result = verdict(view.workloads, rollout.image)
    if result.failed:
        return fail(view, rollout, reason=Reason.ROLLOUT_FAILED, message=result.message)
    paused = _paused(view, rollout, result)
    if paused is not None:
        return dataclasses.replace(paused, actions=(*patches, *paused.actions))
    if result.done and view.kcd.spec.strategy.verify:
        nxt = verify.begin(view, dataclasses.replace(rollout, message=result.message), Phase.POST_VERIFYING)
        message = f"{rollout.version} is up; verifying"
        return go(view, nxt, message, Reason.ROLLOUT_PROGRESSING)
    if result.done:
        nxt = dataclasses.replace(
            rollout.advance(Phase.RECORDING, now=view.now), outcome=Outcome.SUCCESS, message=result.message
        )
        return go(view, nxt, "recording", Reason.ROLLOUT_PROGRESSING)
    # Waiting reads only watched workloads (their events wake the KCD) and the clock (the timeout).
    return Plan(actions=patches, in_flight=True, wake_in=QUIET_POLL_SECONDS)


def _rolling_back(view: View, rollout: RolloutState) -> Plan:
    back = images.image_for(view.kcd.spec.image_repo, rollout.previous_version)
    patches = set_images(view, back)
    if patches:
        return Plan(actions=patches, in_flight=True)
    actions: list[Action] = []
    if not rollout.pods_deleted:
        stuck = [w for w in view.workloads if w.stuck_on_rollback]
        if stuck:
            actions = [DeleteStuckPods(w.kind, w.name, w.pod_selector) for w in stuck]
            nxt = dataclasses.replace(rollout, pods_deleted=True)
            message = f"deleting the pods of {', '.join(w.ref for w in stuck)} stuck on {rollout.version}"
            actions.append(persist(view.kcd, nxt, view.now, reason=Reason.ROLLED_BACK, message=message))
            return Plan(actions=tuple(actions), in_flight=True)
    result = verdict(view.workloads, back)
    timed_out = elapsed(rollout.phase_started_at, view.now) > view.kcd.spec.timeout_seconds
    if result.done or result.failed or timed_out:
        outcome = Outcome.ROLLED_BACK if result.done else Outcome.FAILED
        note = "" if result.done else f"; rollback to {rollout.previous_version} did not finish: {result.message}"
        nxt = dataclasses.replace(
            rollout.advance(Phase.RECORDING, now=view.now), outcome=outcome, message=rollout.message + note
        )
        return go(view, nxt, "recording", Reason.ROLLED_BACK)
    return Plan(in_flight=True)


@dataclasses.dataclass(frozen=True)
class Simple:
    first_phase: Phase = Phase.PATCHING
    phases: frozenset[Phase] = frozenset({Phase.PATCHING, Phase.WAITING, Phase.ROLLING_BACK})

    def problem(self, view: View) -> str:
        return ""

    def live_workloads(self, view: View) -> tuple[Workload, ...]:
        return view.workloads

    def fail(self, view: View, rollout: RolloutState, *, reason: str, message: str) -> Plan:
        return fail(view, rollout, reason=reason, message=message)

    def verified(self, view: View, rollout: RolloutState) -> Plan:
        nxt = dataclasses.replace(rollout.advance(Phase.RECORDING, now=view.now), outcome=Outcome.SUCCESS)
        return go(view, nxt, "recording")

    def step(self, view: View, rollout: RolloutState) -> Plan:
        if rollout.phase is Phase.PATCHING:
            return _patching(view, rollout)
        if rollout.phase is Phase.WAITING:
            return _waiting(view, rollout)
        return _rolling_back(view, rollout)


SIMPLE = Simple()
