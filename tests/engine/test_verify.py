"""Verification on plain data (kcd.engine.verify through decide): Jobs found again, HTTP probes, timeouts, results."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from kcd.engine.plan import CreateJob, Plan
from kcd.engine.rollout import decide
from kcd.engine.verify import VERIFY_FOR, job_name
from kcd.engine.view import Job, Probe, View, Workload
from kcd.model import KCD, CurrStatus, Outcome, Phase, Reason
from tests.engine.test_decide import NOW, REPO, apply, history, kcd, live, patches, target

HTTP = {"kind": "HTTP", "url": "http://127.0.0.1:9/health", "timeoutSeconds": 30}
IMAGE = {"kind": "Image", "image": "team/check", "tag": "stable", "timeoutSeconds": 60}


def run(k: KCD, workloads: list[Workload], *, now: datetime.datetime = NOW, **view: Any) -> tuple[KCD, Plan]:
    plan = decide(View(k, tuple(workloads), now, **view))
    return apply(k, plan), plan


def test_container_verify_runs_a_job_before_anything_is_deployed_and_the_same_job_is_found_again() -> None:
    k, plan = run(kcd(live(), container={"name": "app", "verify": [IMAGE]}), [target(cand="bbbbb22")])
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.VERIFYING
    assert patches(plan) == [] and plan.of(CreateJob) == ()  # the edge pins the image for the next step
    pinned = {"team/check:stable": "sha256:" + "cd" * 32}
    k, plan = run(k, [target(cand="bbbbb22")], pinned=pinned)
    [create] = plan.of(CreateJob)
    assert create.body["metadata"]["labels"] == {VERIFY_FOR: "app"}
    env = {e["name"]: e["value"] for e in create.body["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["KCD_VERSION"], env["KCD_IMAGE"]) == ("bbbbb22", f"{REPO}:bbbbb22")
    assert create.body["spec"]["template"]["spec"]["containers"][0]["image"] == "team/check@sha256:" + "cd" * 32
    assert k.status.rollout is not None and create.name == job_name(k, k.status.rollout)
    running = {create.name: Job(create.name)}
    _, again = run(k, [target(cand="bbbbb22")], jobs=running)
    assert again.of(CreateJob) == () and again.status is None  # found again: no second Job
    k, passed = run(k, [target(cand="bbbbb22")], jobs={create.name: Job(create.name, succeeded=True)})
    assert k.status.rollout is not None and k.status.rollout.verified == ("Image team/check:stable passed",)
    k, plan = run(k, [target(cand="bbbbb22")])
    assert patches(plan) == [("web", f"{REPO}:bbbbb22")]  # verified: now the strategy deploys


def test_a_failed_verification_job_fails_the_rollout_without_deploying_and_quarantines() -> None:
    k, _ = run(kcd(live(), container={"name": "app", "verify": [IMAGE]}), [target(cand="bbbbb22")])
    k, plan = run(k, [target(cand="bbbbb22")])
    [create] = plan.of(CreateJob)
    k, plan = run(k, [target(cand="bbbbb22")], jobs={create.name: Job(create.name, failed=True, message="exit 1")})
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.RECORDING
    assert [e.reason for e in plan.events] == [Reason.VERIFICATION_FAILED]
    k, done = run(k, [target(cand="bbbbb22")])
    assert k.status.curr_status is CurrStatus.FAILED and "bbbbb22" in k.status.failed_versions
    assert history(done) == [("bbbbb22", Outcome.FAILED, "web")] and patches(done) == []


def test_http_verification_after_the_rollout_passes_on_the_expected_status() -> None:
    k = kcd(live(), strategy={"kind": "Simple", "verify": [HTTP]})
    k, _ = run(k, [target(cand="bbbbb22")])  # started and patched
    up = [target(f"{REPO}:bbbbb22", cand="bbbbb22")]
    k, _ = run(k, up)
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.POST_VERIFYING
    k, _ = run(k, up)  # the item starts
    k, waiting = run(k, up, probe=Probe(HTTP["url"], status=500))
    assert waiting.status is None and waiting.in_flight  # not yet: tried again next step
    k, passed = run(k, up, probe=Probe(HTTP["url"], status=200))
    k, _ = run(k, up)
    k, done = run(k, up)
    assert k.status.curr_status is CurrStatus.SUCCESS and k.status.success_version == "bbbbb22"


def test_http_verification_that_never_answers_fails_after_its_timeout_and_rolls_back() -> None:
    k = kcd(live(), strategy={"kind": "Simple", "verify": [HTTP]}, rollback={"enabled": True})
    up = [target(f"{REPO}:bbbbb22", cand="bbbbb22")]
    for workloads in ([target(cand="bbbbb22")], up, up):
        k, _ = run(k, workloads)
    late = NOW + datetime.timedelta(seconds=31)
    k, plan = run(k, up, now=late, probe=Probe(HTTP["url"], error="timed out"))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.ROLLING_BACK
    assert "timed out" in k.status.rollout.message and [e.reason for e in plan.events] == [Reason.VERIFICATION_FAILED]


def test_a_verification_job_that_never_finishes_fails_after_its_timeout() -> None:
    k, _ = run(kcd(live(), container={"name": "app", "verify": [IMAGE]}), [target(cand="bbbbb22")])
    k, plan = run(k, [target(cand="bbbbb22")])
    [create] = plan.of(CreateJob)
    late = NOW + datetime.timedelta(seconds=61)
    k, plan = run(k, [target(cand="bbbbb22")], now=late, jobs={create.name: Job(create.name)})
    assert k.status.rollout is not None and k.status.rollout.outcome is Outcome.FAILED
    assert "did not finish within timeoutSeconds=60" in k.status.rollout.message
    assert dataclasses.replace(k.status.rollout).phase is Phase.RECORDING
