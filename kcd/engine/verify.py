"""Verification, shared by every strategy: `container.verify` before the rollout (phase Verifying) and
`strategy.verify` once the new version is up (phase PostVerifying), one item after the other. Pure.

- `Image`: a Job in the KCD's namespace, owned by the KCD and removed by its TTL, runs the verify image (its `tag`
  resolved through the registry clients to the digest it points at, as the syncer resolves tags) with the
  version and digest under test in its environment (KCD_VERSION, KCD_DIGEST, KCD_IMAGE, KCD_NAME). Its name derives
  from the rollout, so a step retried after a crash finds its Job again instead of creating a second one. Succeeded:
  pass; failed: the rollout fails; not finished within `timeoutSeconds`: fails (activeDeadlineSeconds ends the Job).
- `HTTP`: the reconciler makes one short GET per step (View.probe); `expectStatus` passes; anything else is tried
  again on the next step until `timeoutSeconds` (a step never blocks for minutes).
Each result is an Event, a line in status.rollout.verified and, at the end, part of the history entry's reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from kcd.engine.plan import CreateJob, Emit, Plan, elapsed, go, persist
from kcd.engine.view import Job, View
from kcd.model import KCD, Outcome, Phase, Reason, RolloutState, Verify, VerifyKind, format_time

VERIFY_FOR = "kcd.io/verify-for"  # label on a verification Job: the KCD it verifies for
JOB_TTL_SECONDS = 600
PHASES = frozenset({Phase.VERIFYING, Phase.POST_VERIFYING})

Next = Callable[[View, RolloutState], Plan]  # what a strategy does once every item passed


def items(kcd: KCD, phase: Phase) -> tuple[Verify, ...]:
    return kcd.spec.container.verify if phase is Phase.VERIFYING else kcd.spec.strategy.verify


def current(kcd: KCD, rollout: RolloutState) -> Verify | None:
    listed = items(kcd, rollout.phase) if rollout.phase in PHASES else ()
    return listed[rollout.verify_index] if rollout.verify_index < len(listed) else None


def post_switch_check(kcd: KCD) -> Verify | None:
    """The check a blue-green bake runs after the switch (bakeSeconds > 0): strategy.verify's first HTTP item."""
    bg = kcd.spec.strategy.blue_green
    if bg is None or not bg.bake_seconds:
        return None
    return next((v for v in kcd.spec.strategy.verify if v.kind is VerifyKind.HTTP), None)


def http_check(kcd: KCD) -> Verify | None:
    """The HTTP check this step asks the edge to make (one short GET), if any: the running HTTP verification, or
    the bake's post-switch check once the live Service is switched."""
    rollout = kcd.status.rollout
    if rollout is None:
        return None
    item = current(kcd, rollout) if rollout.verify_started_at else None
    if rollout.phase is Phase.SWITCHING and rollout.switched_at:
        item = post_switch_check(kcd)
    return item if item is not None and item.kind is VerifyKind.HTTP else None


def image_to_pin(kcd: KCD, jobs: Mapping[str, Job]) -> Verify | None:
    """The Image verification whose tag the edge resolves to a digest: only while its Job is still to be made."""
    rollout = kcd.status.rollout
    item = current(kcd, rollout) if rollout is not None else None
    if rollout is None or item is None or item.kind is not VerifyKind.IMAGE or not item.tag:
        return None
    return None if job_name(kcd, rollout) in jobs else item


def describe(item: Verify) -> str:
    if item.kind is VerifyKind.HTTP:
        return f"HTTP GET {item.url}"
    return f"Image {item.image}" + (f":{item.tag}" if item.tag else "")


def job_name(kcd: KCD, rollout: RolloutState) -> str:
    seed = f"{kcd.uid}|{rollout.version}|{rollout.started_at}|{rollout.phase}|{rollout.verify_index}"
    return f"kcd-verify-{kcd.name[:36]}-{hashlib.sha256(seed.encode()).hexdigest()[:10]}"


def tagged(item: Verify) -> str:
    return f"{item.image}:{item.tag}" if item.tag else item.image


def job_body(kcd: KCD, rollout: RolloutState, item: Verify, pinned: str = "") -> dict[str, Any]:
    """The Job; `pinned`: the digest `tag` pointed at when the Job was made (the Job then runs exactly that image,
    whatever the tag moves to), else the tag itself is pulled."""
    image = f"{item.image}@{pinned}" if pinned else tagged(item)
    env = {
        "KCD_VERSION": rollout.version,
        "KCD_DIGEST": rollout.digest,
        "KCD_IMAGE": rollout.image,
        "KCD_NAME": kcd.name,
        "KCD_NAMESPACE": kcd.namespace,
    }
    variables = [{"name": k, "value": v} for k, v in env.items()]
    labels = {VERIFY_FOR: kcd.name}
    owner = {"apiVersion": "kcd.io/v1", "kind": "KCD", "name": kcd.name, "uid": kcd.uid, "controller": True}
    pod = {
        "metadata": {"labels": labels, "annotations": dict(item.annotations)},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "verify", "image": image, "env": variables}],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(kcd, rollout),
            "namespace": kcd.namespace,
            "labels": labels,
            "ownerReferences": [owner],
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": item.timeout_seconds,
            "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
            "template": pod,
        },
    }


def begin(view: View, rollout: RolloutState, phase: Phase) -> RolloutState:
    """The rollout entering a verification phase, at its first item."""
    return dataclasses.replace(rollout.advance(phase, now=view.now), verify_index=0, verify_started_at="")


def _failed(view: View, rollout: RolloutState, message: str, fail: Callable[..., Plan]) -> Plan:
    if rollout.phase is Phase.VERIFYING:  # nothing was deployed: no rollback, just the record
        ended = dataclasses.replace(
            rollout.advance(Phase.RECORDING, now=view.now),
            outcome=Outcome.FAILED,
            reason=Reason.VERIFICATION_FAILED,
            message=message,
        )
        return go(
            view,
            ended,
            message,
            Reason.VERIFICATION_FAILED,
            Emit(Reason.VERIFICATION_FAILED, message, True, rollout.version),
        )
    return fail(view, rollout, reason=Reason.VERIFICATION_FAILED, message=message)


def _passed(view: View, rollout: RolloutState, item: Verify) -> Plan:
    line = f"{describe(item)} passed"
    nxt = dataclasses.replace(
        rollout, verify_index=rollout.verify_index + 1, verify_started_at="", verified=(*rollout.verified, line)[-64:]
    )
    progress = Emit(Reason.ROLLOUT_PROGRESSING, line, False, rollout.version)
    return go(view, nxt, f"{rollout.version}: {line}", Reason.ROLLOUT_PROGRESSING, progress)


def step(view: View, rollout: RolloutState, *, done: Next, fail: Callable[..., Plan]) -> Plan:
    """One step of the verification phase `rollout` is in; `done` continues once every item passed."""
    kcd = view.kcd
    item = current(kcd, rollout)
    if item is None:
        return done(view, dataclasses.replace(rollout, verify_index=0, verify_started_at=""))
    if not rollout.verify_started_at:
        nxt = dataclasses.replace(rollout, verify_started_at=format_time(view.now))
        status = persist(kcd, nxt, view.now, reason=Reason.ROLLOUT_PROGRESSING, message=f"verifying: {describe(item)}")
        body = job_body(kcd, nxt, item, view.pinned.get(tagged(item), ""))
        create = (CreateJob(job_name(kcd, nxt), body),) if item.kind is VerifyKind.IMAGE else ()
        return Plan(actions=(*create, status), again=item.kind is VerifyKind.HTTP, in_flight=True)
    timed_out = elapsed(rollout.verify_started_at, view.now) > item.timeout_seconds
    if item.kind is VerifyKind.IMAGE:
        return _image(view, rollout, item, timed_out, fail)
    probe = view.probe
    if probe is not None and probe.url == item.url and probe.status == item.expect_status:
        return _passed(view, rollout, item)
    if timed_out:
        answer = (
            f"answered {probe.status}"
            if probe and probe.status is not None
            else (probe.error if probe else "no answer")
        )
        message = f"{describe(item)}: {answer}, not {item.expect_status}, within timeoutSeconds={item.timeout_seconds}"
        return _failed(view, rollout, message, fail)
    return Plan(in_flight=True)


def _image(view: View, rollout: RolloutState, item: Verify, timed_out: bool, fail: Callable[..., Plan]) -> Plan:
    name = job_name(view.kcd, rollout)
    job = view.jobs.get(name)
    if job is not None and job.succeeded:
        return _passed(view, rollout, item)
    if job is not None and job.failed:
        return _failed(view, rollout, f"{describe(item)}: Job {name} failed {job.message}".strip(), fail)
    if timed_out:
        message = f"{describe(item)}: Job {name} did not finish within timeoutSeconds={item.timeout_seconds}"
        return _failed(view, rollout, message, fail)
    if job is None:  # not seen yet, or deleted by someone: (re)create it under the same name
        body = job_body(view.kcd, rollout, item, view.pinned.get(tagged(item), ""))
        return Plan(actions=(CreateJob(name, body),), in_flight=True)
    return Plan(in_flight=True)
