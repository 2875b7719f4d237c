"""The rollout state machine, step by step, on plain data (kcd.engine.rollout.decide)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any

import pytest

from kcd.engine.outcome import record_now
from kcd.engine.plan import AddHistory, Plan, SetConfig, WriteStatus
from kcd.engine.rollout import decide
from kcd.engine.strategies.simple import QUIET_POLL_SECONDS
from kcd.engine.view import Candidate, View, Workload
from kcd.engine.workload import Progress
from kcd.model import KCD, CurrStatus, Outcome, Phase, Reason, Status, parse_time

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
REPO = "127.0.0.1:5000/team/app"
SHA = "sha256:" + "ab" * 32
SOURCE = f"{REPO}:env-prod"


def kcd(status: dict[str, Any] | None = None, **spec: Any) -> KCD:
    body = {
        "metadata": {"name": "app", "namespace": "prod", "uid": "u1", "generation": 3},
        "spec": {
            "imageRepo": REPO,
            "tag": "env-prod",
            "selector": {"kcdapp": "app"},
            "container": {"name": "app"},
            **spec,
        },
        "status": status or {},
    }
    return KCD.from_body(body)


def target(
    image: str | None = f"{REPO}:aaaaa11",
    *,
    cand: str | None = None,
    done: bool = True,
    failed: bool = False,
    name: str = "web",
    kind: str = "Deployment",
    when: str = "2026-11-26T11:59:00Z",
    source: str = SOURCE,
    digest: str = SHA,
    paused: bool = False,
) -> Workload:
    return Workload(
        kind=kind,
        name=name,
        image=image,
        progress=Progress(done=done, failed=failed, message="m", paused=paused),
        candidate=Candidate(cand, digest, parse_time(when), source, f"{kind.lower()}/{name}") if cand else None,
    )


def step(k: KCD, targets: Sequence[Workload], now: datetime.datetime = NOW, overlaps: tuple[str, ...] = ()) -> Plan:
    return decide(View(k, tuple(targets), now, overlaps))


def patches(plan: Plan) -> list[tuple[str, str]]:
    return [(a.name, a.image) for a in plan.images]


def history(plan: Plan) -> list[tuple[str, Outcome, str]]:
    return [(a.record.version, a.record.outcome, a.record.name) for a in plan.actions if isinstance(a, AddHistory)]


def config(plan: Plan) -> list[str]:
    return [a.value for a in plan.actions if isinstance(a, SetConfig)]


def live(version: str = "aaaaa11", **extra: Any) -> dict[str, Any]:
    return {"currVersion": version, "currStatus": "Success", "successVersion": version, **extra}


def apply(k: KCD, plan: Plan) -> KCD:
    return dataclasses.replace(k, status=plan.status) if plan.status is not None else k


def test_a_new_candidate_starts_a_rollout_and_marks_it_progressing() -> None:
    plan = step(kcd(live()), [target(cand="bbbbb22")], NOW)
    assert plan.status is not None and plan.status.rollout is not None
    assert plan.status.curr_status is CurrStatus.PROGRESSING
    # The strategy's first phase (Patching) runs in the same step: one status write, already Waiting.
    assert (plan.status.rollout.version, plan.status.rollout.phase) == ("bbbbb22", Phase.WAITING)
    assert plan.status.rollout.previous_version == "aaaaa11"
    assert patches(plan) == [("web", f"{REPO}:bbbbb22")]
    assert len(plan.of(WriteStatus)) == 1
    assert [e.reason for e in plan.events] == [Reason.ROLLOUT_STARTED]


def test_after_patching_a_rollout_waits_for_the_workloads_events_not_for_another_step_at_once() -> None:
    # The patched Deployment's controller has yet to observe its new generation: a step now would decide nothing.
    plan = step(kcd(live()), [target(cand="bbbbb22")], NOW)
    assert not plan.again and plan.in_flight and 0 < plan.wake_in <= QUIET_POLL_SECONDS


def test_after_patching_a_cronjob_the_next_step_comes_at_once_since_the_patch_is_its_rollout() -> None:
    cron = Workload(
        kind="CronJob",
        name="nightly",
        image=f"{REPO}:aaaaa11",
        progress=Progress(done=True, message="applied", applied_only=True),
        candidate=Candidate("bbbbb22", SHA, parse_time("2026-11-26T11:59:00Z"), SOURCE, "cronjob/nightly"),
    )
    plan = step(kcd(live()), [cron], NOW)
    assert patches(plan) == [("nightly", f"{REPO}:bbbbb22")] and plan.again


def test_patching_sets_the_image_only_where_it_differs_then_waits() -> None:
    done_already = target(f"{REPO}:bbbbb22", name="api", cand="bbbbb22")
    plan = step(kcd(live()), [target(cand="bbbbb22"), done_already], NOW)
    assert patches(plan) == [("web", f"{REPO}:bbbbb22")]
    assert plan.status is not None and plan.status.rollout is not None
    assert plan.status.rollout.phase is Phase.WAITING


def test_a_rolled_out_version_is_recorded_then_declared_live() -> None:
    k = kcd(live(), config={"name": "versions", "key": "app"})
    targets = [target(cand="bbbbb22")]
    for _ in range(2):  # start, patch
        k = apply(k, step(k, targets, NOW))
    rolled = [target(f"{REPO}:bbbbb22", cand="bbbbb22")]
    k = apply(k, step(k, rolled, NOW))  # waiting -> recording
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.RECORDING
    plan = step(k, rolled, NOW + datetime.timedelta(seconds=5))
    assert plan.status is not None and plan.status.rollout is None
    assert (plan.status.curr_status, plan.status.success_version) == (CurrStatus.SUCCESS, "bbbbb22")
    assert config(plan) == ["bbbbb22"]
    assert history(plan) == [("bbbbb22", Outcome.SUCCESS, "web")]
    assert [e.reason for e in plan.events] == [Reason.ROLLOUT_SUCCEEDED]


def test_waiting_stays_in_flight_until_the_workload_has_rolled_out() -> None:
    k = kcd(live())
    for _ in range(2):
        k = apply(k, step(k, [target(cand="bbbbb22")], NOW))
    plan = step(k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False)], NOW)
    assert plan.in_flight and plan.status is None and plan.images == ()


def test_waiting_with_nothing_to_send_rechecks_only_at_the_timeout_or_on_an_event() -> None:
    k = kcd(live(), timeoutSeconds=600)
    for _ in range(2):
        k = apply(k, step(k, [target(cand="bbbbb22")], NOW))
    quiet = step(k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False)], NOW)
    assert quiet.in_flight and quiet.wake_in == QUIET_POLL_SECONDS
    near_timeout = step(
        k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False)], NOW + datetime.timedelta(seconds=590)
    )
    assert 10 <= near_timeout.wake_in <= 11  # the timeout, which no event announces, is never slept through
    timed_out = step(k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False)], NOW + datetime.timedelta(seconds=601))
    assert timed_out.status is not None and timed_out.status.rollout is not None
    assert timed_out.status.rollout.message.startswith("not rolled out within timeoutSeconds=600")


def _failing(rollback: bool, status: dict[str, Any]) -> tuple[KCD, list[Workload]]:
    k = kcd(status, rollback={"enabled": rollback})
    for _ in range(2):
        k = apply(k, step(k, [target(cand="bbbbb22")], NOW))
    return k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False, failed=True)]


def test_a_failed_rollout_rolls_back_to_the_live_version_and_quarantines_the_failed_one() -> None:
    k, broken = _failing(True, live())
    k = apply(k, step(k, broken, NOW))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.ROLLING_BACK
    back = step(k, broken, NOW)
    assert [a.image for a in back.images] == [f"{REPO}:aaaaa11"]
    restored = [target(f"{REPO}:aaaaa11", cand="bbbbb22")]
    k = apply(k, step(k, restored, NOW))
    plan = step(k, restored, NOW)
    assert plan.status is not None
    assert plan.status.curr_status is CurrStatus.FAILED and plan.status.failed_versions == ("bbbbb22", SHA)
    assert plan.status.success_version == "aaaaa11"
    assert [o for _, o, _ in history(plan)] == [Outcome.ROLLED_BACK]
    assert config(plan) == []


def test_a_failed_first_rollout_never_patches_an_empty_version() -> None:
    k, broken = _failing(True, {})
    k = apply(k, step(k, broken, NOW))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.RECORDING
    plan = step(k, broken, NOW)
    assert plan.images == ()
    assert plan.status is not None and plan.status.curr_status is CurrStatus.FAILED


def test_a_rollout_past_timeout_seconds_fails() -> None:
    k = kcd(live(), timeoutSeconds=60)
    for _ in range(2):
        k = apply(k, step(k, [target(cand="bbbbb22")], NOW))
    plan = step(k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False)], NOW + datetime.timedelta(seconds=61))
    assert plan.status is not None and plan.status.rollout is not None
    assert plan.status.rollout.reason == Reason.ROLLOUT_TIMED_OUT


def test_a_quarantined_version_is_not_deployed_again() -> None:
    k = kcd(live(failedVersions=["bbbbb22"]))
    plan = step(k, [target(cand="bbbbb22")], NOW)
    assert plan.images == ()
    assert plan.status is not None and plan.status.rollout is None
    assert [e.reason for e in plan.events] == [Reason.QUARANTINED]


def test_a_newer_candidate_after_a_failure_is_rolled_out() -> None:
    k = kcd(
        {"currVersion": "bbbbb22", "currStatus": "Failed", "successVersion": "aaaaa11", "failedVersions": ["bbbbb22"]}
    )
    plan = step(k, [target(cand="ccccc33")], NOW)
    assert plan.status is not None and plan.status.rollout is not None
    assert plan.status.rollout.version == "ccccc33"


@pytest.mark.parametrize(
    "garbage",
    ["not a version", "env-prod", "x" * 300, "abc12;rm -rf"],
    ids=["words", "moving-tag", "huge", "injection"],
)
def test_a_garbage_candidate_is_reported_and_nothing_is_patched(garbage: str) -> None:
    plan = step(kcd(live()), [target(cand=garbage)], NOW)
    assert plan.images == ()
    assert plan.status is not None and plan.status.rollout is None
    assert [e.reason for e in plan.events] == [Reason.INVALID_CANDIDATE]


def test_a_digest_candidate_is_deployed_by_digest() -> None:
    k = kcd(live())
    for _ in range(2):
        plan = step(k, [target(cand=SHA)], NOW)
        k = apply(k, plan)
    assert [a.image for a in plan.images] == [f"{REPO}@{SHA}"]


def test_an_image_changed_by_hand_is_set_back_to_the_live_version() -> None:
    plan = step(kcd(live()), [target(f"{REPO}:hand-made")], NOW)
    assert [a.image for a in plan.images] == [f"{REPO}:aaaaa11"]
    assert [e.reason for e in plan.events] == [Reason.DRIFT_CORRECTED]


@pytest.mark.parametrize(
    ("targets", "reason"),
    [([], Reason.WORKLOAD_NOT_FOUND), ([target(None, cand="bbbbb22")], Reason.CONTAINER_NOT_FOUND)],
    ids=["no-workload", "no-container"],
)
def test_bad_selection_is_reported_once_and_nothing_is_patched(targets: list[Workload], reason: str) -> None:
    first = step(kcd(live()), targets, NOW)
    assert first.images == () and [e.reason for e in first.events] == [reason]
    assert first.status is not None
    again = step(apply(kcd(live()), first), targets, NOW + datetime.timedelta(seconds=30))
    assert again.events == () and again.status is None


def test_an_up_to_date_kcd_needs_no_write() -> None:
    k = kcd(live())
    first = step(k, [target(cand="aaaaa11")], NOW)
    second = step(apply(k, first), [target(cand="aaaaa11")], NOW)
    assert second.status is None and second.images == () and second.events == ()


def test_paused_kcd_does_not_start_a_rollout() -> None:
    body_status = Status.from_dict(live())
    k = dataclasses.replace(kcd(live()), annotations={"kcd.io/paused": "true"}, status=body_status)
    plan = step(k, [target(cand="bbbbb22")], NOW)
    assert plan.status is None or plan.status.rollout is None
    assert [e.reason for e in plan.events] == [Reason.PAUSED]


def test_a_rollout_seen_done_is_recorded_in_the_same_step_with_one_status_write() -> None:
    k = kcd(live(), config={"name": "versions", "key": "app"})
    for _ in range(2):  # start, patch
        k = apply(k, step(k, [target(cand="bbbbb22")], NOW))
    rolled = [target(f"{REPO}:bbbbb22", cand="bbbbb22")]
    view = View(k, tuple(rolled), NOW + datetime.timedelta(seconds=30))
    plan = record_now(view, decide(view))
    assert len(plan.of(WriteStatus)) == 1
    assert plan.status is not None and plan.status.rollout is None
    assert (plan.status.curr_status, plan.status.success_version) == (CurrStatus.SUCCESS, "bbbbb22")
    assert config(plan) == ["bbbbb22"]
    assert history(plan) == [("bbbbb22", Outcome.SUCCESS, "web")]
    assert [e.reason for e in plan.events] == [Reason.ROLLOUT_SUCCEEDED]


def test_a_failed_rollout_without_rollback_is_recorded_in_the_same_step_with_both_events() -> None:
    k, broken = _failing(False, live())
    view = View(k, tuple(broken), NOW)
    plan = record_now(view, decide(view))
    assert plan.status is not None and plan.status.rollout is None and plan.status.curr_status is CurrStatus.FAILED
    assert [o for _, o, _ in history(plan)] == [Outcome.FAILED]
    assert [e.reason for e in plan.events] == [Reason.ROLLOUT_FAILED, Reason.ROLLOUT_FAILED]


def test_a_plan_that_writes_workloads_is_not_recorded_in_the_same_step() -> None:
    k = kcd(live())
    view = View(k, (target(cand="bbbbb22"),), NOW)
    plan = decide(view)
    assert record_now(view, plan) == plan
