"""The ServiceBlueGreen strategy: two Deployments (colours); the live Service selects one through `labelNames`.

  Patching  set the idle colour's image, point the verification Service at it, scale it to the live replica count
  Waiting   until it is Available and its pods are ready endpoints of the verification Service
  Switching patch the live Service's selector (the labelNames keys only), until its EndpointSlices hold only ready
            pods of the new colour
  ScalingDown (scaleDown) after SCALE_DOWN_DELAY, so in-flight requests finish: the old colour to 0 replicas
  RollingBack a failure after the switch: the selector back to the old colour, until its pods serve again

The live Service never selects a colour before its pods are ready endpoints, and a failure before the switch leaves
traffic where it was (the idle colour is scaled down when scaleDown is set). Each step is persisted, and each action
is idempotent (sent only where the watched state differs), so a controller killed anywhere resumes.
"""

from __future__ import annotations

import dataclasses
import datetime

from kcd.engine import verify
from kcd.engine.plan import Action, Emit, PatchSelector, Plan, Scale, SetImage, elapsed, go, persist
from kcd.engine.view import Service, View, Workload
from kcd.model import PROMOTE, BlueGreen, Outcome, Phase, Reason, RolloutState, format_time

SCALE_DOWN_DELAY = datetime.timedelta(seconds=30)


@dataclasses.dataclass(frozen=True)
class Colours:
    live: Workload
    idle: Workload


def _spec(view: View) -> BlueGreen:
    bg = view.kcd.spec.strategy.blue_green
    assert bg is not None  # the model requires it for ServiceBlueGreen
    return bg


def _values(bg: BlueGreen, w: Workload) -> dict[str, str]:
    return {label: w.template_labels[label] for label in bg.label_names if label in w.template_labels}


def _is_live(bg: BlueGreen, service: Service, w: Workload) -> bool:
    return all(service.selector.get(label) == w.template_labels.get(label) for label in bg.label_names)


def _setup_problem(view: View, bg: BlueGreen) -> str:
    deployments = [w for w in view.workloads if w.kind == "Deployment"]
    if len(view.workloads) != 2 or len(deployments) != 2:
        found = ", ".join(w.ref for w in view.workloads) or "none"
        return f"ServiceBlueGreen needs exactly two Deployments selected by spec.selector (found: {found})"
    for name in (bg.service_name, bg.verification_service_name):
        if name and name not in view.services:
            return f"Service {name} not found in {view.kcd.namespace}; create it or fix spec.strategy.blueGreen"
    for w in deployments:
        missing = [label for label in bg.label_names if label not in w.template_labels]
        if missing:
            return f"labelNames {missing} missing on the pod template of {w.ref}; both colours need them"
    a, b = deployments
    if _values(bg, a) == _values(bg, b):
        return (
            f"{a.ref} and {b.ref} have the same labelNames values {_values(bg, a)}: the Service cannot tell them apart"
        )
    service = view.services[bg.service_name]
    live = [w for w in deployments if _is_live(bg, service, w)]
    if len(live) != 1:
        return (
            f"Service {bg.service_name} selects neither colour through labelNames (selector {dict(service.selector)}); "
            f"set it to one colour's values"
        )
    return ""


def colours(view: View, rollout: RolloutState | None = None) -> Colours | None:
    """The live and the idle colour: fixed by the rollout once it started, else read off the live Service; None when
    the selection no longer allows telling them apart."""
    by_name = {w.name: w for w in view.workloads}
    if rollout is not None and rollout.live and rollout.idle:
        if rollout.live in by_name and rollout.idle in by_name:
            return Colours(by_name[rollout.live], by_name[rollout.idle])
        return None
    bg = _spec(view)
    if _setup_problem(view, bg):
        return None
    a, b = view.workloads
    live = a if _is_live(bg, view.services[bg.service_name], a) else b
    return Colours(live, b if live is a else a)


def _colours(view: View, rollout: RolloutState) -> Colours:
    """The colours of a rollout in a phase the engine only runs with a valid setup (problem() checked first)."""
    found = colours(view, rollout)
    if found is None:
        raise ValueError(f"blue-green colours of {view.kcd.key} unknown in phase {rollout.phase}")
    return found


def _pods_of(w: Workload, pods: tuple[str, ...]) -> list[str]:
    return [p for p in pods if p.startswith(f"{w.name}-")]  # a Deployment's pods are named <deployment>-<hash>-<id>


def _serves_only(service: Service, w: Workload, want: int) -> bool:
    """The Service's endpoints are ready pods of `w` only, at least `want` of them."""
    mine = _pods_of(w, service.ready_pods)
    return len(mine) >= max(1, want) and len(mine) == len(service.ready_pods)


def _selector_patch(view: View, service_name: str, w: Workload) -> tuple[Action, ...]:
    service = view.services.get(service_name)
    values = _values(_spec(view), w)
    if service is None or all(service.selector.get(k) == v for k, v in values.items()):
        return ()
    return (PatchSelector(service_name, values),)


def _setup(view: View, rollout: RolloutState, c: Colours) -> tuple[Action, ...]:
    """What the idle colour needs before it can take traffic (idempotent: only what differs)."""
    bg, container = _spec(view), view.kcd.spec.container.name
    acts: list[Action] = []
    if c.idle.image != rollout.image:
        acts.append(SetImage(c.idle.kind, c.idle.name, container, rollout.image))
    if c.idle.replicas < c.live.replicas:
        acts.append(Scale(c.idle.kind, c.idle.name, c.live.replicas))
    if bg.verification_service_name:
        acts.extend(_selector_patch(view, bg.verification_service_name, c.idle))
    return tuple(acts)


def _patching(view: View, rollout: RolloutState) -> Plan:
    c = _colours(view, dataclasses.replace(rollout, live="", idle=""))
    nxt = dataclasses.replace(rollout.advance(Phase.WAITING, now=view.now), live=c.live.name, idle=c.idle.name)
    step = go(view, nxt, f"setting up {c.idle.ref} with {rollout.image}")
    return dataclasses.replace(step, actions=(*_setup(view, rollout, c), *step.actions))


def _idle_ready(view: View, rollout: RolloutState, c: Colours) -> str:
    """Empty when the idle colour is ready for traffic, else what it waits for."""
    if c.idle.image != rollout.image or not c.idle.progress.done:
        return f"{c.idle.ref}: {c.idle.progress.message}"
    if c.idle.available < c.live.replicas:
        return f"{c.idle.ref}: {c.idle.available} of {c.live.replicas} replicas available"
    bg = _spec(view)
    if bg.verification_service_name:
        service = view.services[bg.verification_service_name]
        if not _serves_only(service, c.idle, c.live.replicas):
            ready = len(_pods_of(c.idle, service.ready_pods))
            return f"Service {service.name}: {ready} ready endpoints of {c.idle.ref} (of {len(service.ready_pods)})"
    return ""


def _waiting(view: View, rollout: RolloutState) -> Plan:
    c = _colours(view, rollout)
    if c.idle.image == rollout.image and c.idle.progress.failed:
        return BLUE_GREEN.fail(
            view, rollout, reason=Reason.ROLLOUT_FAILED, message=f"{c.idle.ref}: {c.idle.progress.message}"
        )
    setup = _setup(view, rollout, c)
    waiting = _idle_ready(view, rollout, c)
    if setup or waiting:
        return Plan(actions=setup, in_flight=True)
    if view.kcd.spec.strategy.verify:  # the verification Service points at the new colour: test it there
        nxt = verify.begin(view, rollout, Phase.POST_VERIFYING)
        return go(view, nxt, f"{c.idle.ref} is up; verifying before the switch")
    return _ready_to_switch(view, rollout, c)


def _ready_to_switch(view: View, rollout: RolloutState, c: Colours) -> Plan:
    """Up and verified: switch now, or (promotion: Manual) wait for `kcd rollout promote`."""
    if _spec(view).manual_promotion and rollout.phase is not Phase.AWAITING_PROMOTION:
        message = f"{c.idle.ref} runs {rollout.version} and is verified; `kcd rollout promote {view.kcd.name}` switches"
        nxt = rollout.advance(Phase.AWAITING_PROMOTION, now=view.now)
        return go(view, nxt, message, Reason.AWAITING_PROMOTION)
    return _switching(view, rollout.advance(Phase.SWITCHING, now=view.now), c)


def _awaiting(view: View, rollout: RolloutState) -> Plan:
    if view.kcd.annotations.get(PROMOTE) == rollout.id:
        return _switching(view, rollout.advance(Phase.SWITCHING, now=view.now), _colours(view, rollout))
    return Plan()


def _switching(view: View, rollout: RolloutState, c: Colours) -> Plan:
    bg = _spec(view)
    switch = _selector_patch(view, bg.service_name, c.idle)
    stamp = rollout.switched_at or format_time(view.now)
    if switch or rollout.phase is not Phase.SWITCHING or not rollout.switched_at:
        nxt = dataclasses.replace(rollout, phase=Phase.SWITCHING, switched_at=stamp)
        message = f"switching Service {bg.service_name} to {c.idle.ref}"
        status = persist(view.kcd, nxt, view.now, reason=Reason.ROLLOUT_PROGRESSING, message=message)
        return Plan(actions=(*switch, status), in_flight=True)
    if not _serves_only(view.services[bg.service_name], c.idle, c.live.replicas):
        return Plan(in_flight=True)
    if elapsed(rollout.switched_at, view.now) < bg.bake_seconds:
        return _baking(view, rollout)
    if bg.scale_down:
        nxt = rollout.advance(Phase.SCALING_DOWN, now=view.now)
        return go(view, nxt, f"traffic on {c.idle.ref}; scaling {c.live.ref} down soon")
    return _succeeded(view, rollout, c)


def _baking(view: View, rollout: RolloutState) -> Plan:
    """Traffic is on the new colour for bakeSeconds: a failing post-switch check switches it back (auto-revert)."""
    check, probe = verify.post_switch_check(view.kcd), view.probe
    if check is None or probe is None or probe.url != check.url or probe.status == check.expect_status:
        return Plan(in_flight=True)
    answer = probe.error or f"answered {probe.status}"
    message = f"post-switch check {verify.describe(check)}: {answer}, not {check.expect_status}, during the bake"
    return BLUE_GREEN.fail(view, rollout, reason=Reason.VERIFICATION_FAILED, message=message)


def _succeeded(view: View, rollout: RolloutState, c: Colours) -> Plan:
    message = f"Service {_spec(view).service_name} serves {c.idle.ref}"
    nxt = dataclasses.replace(rollout.advance(Phase.RECORDING, now=view.now), outcome=Outcome.SUCCESS, message=message)
    return go(view, nxt, "recording")


def _scaling_down(view: View, rollout: RolloutState) -> Plan:
    c = _colours(view, rollout)
    if elapsed(rollout.phase_started_at, view.now) < SCALE_DOWN_DELAY.total_seconds():
        return Plan(in_flight=True)
    scale = (Scale(c.live.kind, c.live.name, 0),) if c.live.replicas else ()
    done = _succeeded(view, rollout, c)
    return dataclasses.replace(done, actions=(*scale, *done.actions))


def _rolling_back(view: View, rollout: RolloutState) -> Plan:
    """After a failed switch: traffic back to the old colour, confirmed by its endpoints, then recorded."""
    c, bg = colours(view, rollout), _spec(view)
    if c is None or bg.service_name not in view.services:
        gone = dataclasses.replace(
            rollout.advance(Phase.RECORDING, now=view.now),
            outcome=Outcome.FAILED,
            message=rollout.message + "; cannot switch back: a colour or the Service is gone",
        )
        return go(view, gone, "recording", Reason.ROLLOUT_FAILED)
    back = _selector_patch(view, bg.service_name, c.live)
    if back:
        return Plan(actions=back, in_flight=True)
    restored = _serves_only(view.services[bg.service_name], c.live, 1)
    timed_out = elapsed(rollout.phase_started_at, view.now) > view.kcd.spec.timeout_seconds
    if not (restored or timed_out):
        return Plan(in_flight=True)
    note = f"; traffic back on {c.live.ref}" if restored else f"; {c.live.ref} has no ready endpoint yet"
    scale = (Scale(c.idle.kind, c.idle.name, 0),) if bg.scale_down and c.idle.replicas else ()
    nxt = dataclasses.replace(
        rollout.advance(Phase.RECORDING, now=view.now),
        outcome=Outcome.ROLLED_BACK if restored else Outcome.FAILED,
        message=rollout.message + note,
    )
    done = go(view, nxt, "recording", Reason.ROLLED_BACK)
    return dataclasses.replace(done, actions=(*scale, *done.actions))


@dataclasses.dataclass(frozen=True)
class ServiceBlueGreen:
    first_phase: Phase = Phase.PATCHING
    phases: frozenset[Phase] = frozenset(
        {
            Phase.PATCHING,
            Phase.WAITING,
            Phase.AWAITING_PROMOTION,
            Phase.SWITCHING,
            Phase.SCALING_DOWN,
            Phase.ROLLING_BACK,
        }
    )

    def problem(self, view: View) -> str:
        return _setup_problem(view, _spec(view))

    def live_workloads(self, view: View) -> tuple[Workload, ...]:
        found = colours(view)
        return () if found is None else (found.live,)

    def fail(self, view: View, rollout: RolloutState, *, reason: str, message: str) -> Plan:
        """Before the switch traffic never moved: record the failure (the idle colour scaled down when scaleDown).
        After it, switch back first, whatever rollback.enabled says: traffic must not stay on a failed colour."""
        failed = dataclasses.replace(rollout, outcome=Outcome.FAILED, reason=reason, message=message)
        if rollout.switched_at:
            nxt, text = failed.advance(Phase.ROLLING_BACK, now=view.now), f"{message}; switching traffic back"
            actions: tuple[Action, ...] = ()
        else:
            nxt, text = failed.advance(Phase.RECORDING, now=view.now), f"{message}; traffic stayed on the live colour"
            actions = _scale_idle_down(view, rollout)
        status = persist(view.kcd, nxt, view.now, reason=reason, message=text)
        return Plan(actions=(*actions, status, Emit(reason, text, True, rollout.version)), again=True)

    def verified(self, view: View, rollout: RolloutState) -> Plan:
        return _ready_to_switch(view, rollout, _colours(view, rollout))

    def step(self, view: View, rollout: RolloutState) -> Plan:
        if rollout.phase is Phase.PATCHING:
            return _patching(view, rollout)
        if rollout.phase is Phase.WAITING:
            return _waiting(view, rollout)
        if rollout.phase is Phase.SWITCHING:
            return _switching(view, rollout, _colours(view, rollout))
        if rollout.phase is Phase.SCALING_DOWN:
            return _scaling_down(view, rollout)
        if rollout.phase is Phase.AWAITING_PROMOTION:
            return _awaiting(view, rollout)
        return _rolling_back(view, rollout)


def _scale_idle_down(view: View, rollout: RolloutState) -> tuple[Action, ...]:
    found = colours(view, rollout)
    if not _spec(view).scale_down or found is None or not found.idle.replicas:
        return ()
    return (Scale(found.idle.kind, found.idle.name, 0),)


BLUE_GREEN = ServiceBlueGreen()
