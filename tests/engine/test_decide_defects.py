"""The engine's answers to the edits, faults and hostile inputs of the issue "The rollout engine, hardened".

Each test drives kcd.engine.rollout.decide on plain data, as the reconciler does, step by step (`run` applies each
plan's status to the KCD, as the status write would).
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Any

import pytest

from kcd.engine.plan import Plan, WriteStatus
from kcd.engine.rollout import api_failed
from kcd.model import KCD, PAUSED, ROLLBACK_BY, ROLLBACK_REQUESTED_AT, ROLLBACK_TO, CurrStatus, Outcome, Phase, Reason
from tests.engine.test_decide import NOW, REPO, SHA, apply, history, kcd, live, patches, step, target

OTHER_SHA = "sha256:" + "cd" * 32


def run(k: KCD, targets: list[Any], *, steps: int, now: datetime.datetime = NOW) -> KCD:
    for _ in range(steps):
        k = apply(k, step(k, targets, now))
    return k


def ready_reason(plan: Plan) -> str:
    assert plan.status is not None
    return next(c.reason for c in plan.status.conditions if c.type == "Ready")


def reasons(plan: Plan) -> list[str]:
    return [e.reason for e in plan.events]


def with_notes(k: KCD, **notes: str) -> KCD:
    return dataclasses.replace(k, annotations={**k.annotations, **notes})


# 1. A failed version can be left by moving the tag back.
def test_a_failed_kcd_reapplies_the_live_version_when_the_tag_moves_back() -> None:
    failed = {
        "currVersion": "bbbbb22",
        "currStatus": "Failed",
        "successVersion": "aaaaa11",
        "failedVersions": ["bbbbb22"],
    }
    k = kcd(failed)
    on_broken = [target(f"{REPO}:bbbbb22", cand="aaaaa11")]
    k = run(k, on_broken, steps=2)  # start, patch
    assert k.status.rollout is not None and k.status.rollout.version == "aaaaa11"
    plan = step(k, on_broken)
    assert patches(plan) == [("web", f"{REPO}:aaaaa11")]
    rolled = [target(f"{REPO}:aaaaa11", cand="aaaaa11")]
    k = run(k, rolled, steps=2)
    assert (k.status.curr_status, k.status.success_version, k.status.rollout) == (CurrStatus.SUCCESS, "aaaaa11", None)


# 2. A rollout whose selection breaks still ends.
@pytest.mark.parametrize(
    ("targets", "reason"),
    [([], Reason.WORKLOAD_NOT_FOUND), ([target(None, cand="bbbbb22")], Reason.CONTAINER_NOT_FOUND)],
    ids=["workload-deleted", "container-removed"],
)
def test_an_in_flight_rollout_fails_when_its_selection_breaks(targets: list[Any], reason: str) -> None:
    k = run(kcd(live()), [target(cand="bbbbb22")], steps=2)
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.WAITING
    plan = step(k, targets)
    assert plan.status is not None and plan.status.rollout is not None
    assert (plan.status.rollout.phase, plan.status.rollout.reason) == (Phase.RECORDING, reason)
    k = apply(k, plan)
    done = step(k, targets)
    assert done.status is not None and done.status.curr_status is CurrStatus.FAILED and done.status.rollout is None


# 3. Waiting keeps sending the rollout's image; a spec edit starts over.
def test_waiting_patches_a_workload_that_joined_the_selection_and_a_hand_edit() -> None:
    k = run(kcd(live()), [target(cand="bbbbb22")], steps=2)
    joined = [target(f"{REPO}:bbbbb22", cand="bbbbb22"), target(f"{REPO}:aaaaa11", name="api")]
    assert patches(step(k, joined)) == [("api", f"{REPO}:bbbbb22")]
    edited = [target(f"{REPO}:hand-edit", cand="bbbbb22")]
    assert patches(step(k, edited)) == [("web", f"{REPO}:bbbbb22")]


def test_an_image_repo_edit_mid_rollout_supersedes_it_without_quarantine() -> None:
    k = run(kcd(live()), [target(cand="bbbbb22")], steps=2)
    edited = dataclasses.replace(k, spec=dataclasses.replace(k.spec, image_repo="127.0.0.1:5000/team/other"))
    plan = step(edited, [target(f"{REPO}:bbbbb22", cand="bbbbb22")])
    assert plan.status is not None and plan.status.rollout is None
    assert plan.status.failed_versions == () and reasons(plan) == [Reason.SPEC_CHANGED]
    assert history(plan) == [("bbbbb22", Outcome.SUPERSEDED, "web")]


# 4. Candidates are tied to their KCD.
@pytest.mark.parametrize(
    "source", [f"{REPO}:env-staging", "127.0.0.1:5000/team/other:env-prod", ""], ids=["old-tag", "other-kcd", "none"]
)
def test_a_candidate_from_another_source_is_ignored(source: str) -> None:
    plan = step(kcd(live()), [target(cand="bbbbb22", source=source)])
    assert plan.status is None or plan.status.rollout is None
    assert patches(plan) == []


def test_a_candidate_time_in_the_future_is_distrusted() -> None:
    plan = step(kcd(live()), [target(cand="bbbbb22", when="2099-01-01T00:00:00Z")])
    assert plan.status is not None and plan.status.rollout is None
    assert ready_reason(plan) == Reason.INVALID_CANDIDATE


def test_candidate_times_are_compared_as_times_not_strings() -> None:
    # 12:00+01:00 is 11:00Z: older than 11:30Z although it sorts after it as a string.
    older = target(cand="bbbbb22", when="2026-11-26T12:00:00+01:00", name="a")
    newer = target(cand="ccccc33", when="2026-11-26T11:30:00Z", name="b")
    plan = step(kcd(live()), [older, newer])
    assert plan.status is not None and plan.status.rollout is not None and plan.status.rollout.version == "ccccc33"


def test_a_kcd_whose_workload_an_older_kcd_selects_is_stalled_naming_it() -> None:
    plan = step(kcd(live()), [target(cand="bbbbb22")], overlaps=("first",))
    assert plan.status is not None and plan.status.rollout is None
    assert ready_reason(plan) == Reason.OVERLAPPING_SELECTOR
    assert any(c.type == "Stalled" and c.status == "True" and "first" in c.message for c in plan.status.conditions)


# 5. Hostile candidate strings never become image references.
@pytest.mark.parametrize(
    "version", ["../x", "v1 --evil", "a" * 300, "5000/evil:1", "sha256:short", "-lead"], ids=str.__len__
)
def test_a_candidate_that_is_no_valid_tag_or_digest_is_refused_whatever_version_syntax_says(version: str) -> None:
    plan = step(kcd(live(), versionSyntax=".+"), [target(cand=version)])
    assert plan.status is not None and plan.status.rollout is None and patches(plan) == []
    assert ready_reason(plan) == Reason.INVALID_CANDIDATE
    assert [e.warning for e in plan.events] == [True]


def test_a_digest_annotation_that_is_no_digest_is_refused() -> None:
    plan = step(kcd(live()), [target(cand="bbbbb22", digest="sha256:../../etc")])
    assert plan.status is not None and plan.status.rollout is None
    assert ready_reason(plan) == Reason.INVALID_CANDIDATE


@pytest.mark.timeout(20)
def test_a_catastrophic_version_syntax_is_matched_in_linear_time() -> None:
    started = time.monotonic()
    plan = step(kcd(live(), versionSyntax="(a+)+b"), [target(cand="a" * 120 + "c")])
    assert ready_reason(plan) == Reason.INVALID_CANDIDATE
    assert time.monotonic() - started < 5  # Python's re needs longer than the universe's age for this


# 8. A newer candidate supersedes a stuck rollout.
def test_a_newer_candidate_supersedes_the_waiting_rollout_and_starts_at_once() -> None:
    k = run(kcd(live()), [target(cand="bbbbb22")], steps=2)
    hotfix = [target(f"{REPO}:bbbbb22", cand="ccccc33", when="2026-11-26T12:01:00Z", done=False)]
    plan = step(k, hotfix)
    assert plan.status is not None and plan.status.rollout is not None
    assert (plan.status.rollout.version, plan.status.rollout.phase) == ("ccccc33", Phase.PATCHING)
    assert history(plan) == [("bbbbb22", Outcome.SUPERSEDED, "web")] and plan.status.failed_versions == ()


# 9. Quarantine holds the image, whatever it is called.
@pytest.mark.parametrize(
    ("version", "digest"), [("ccccc33", SHA), (SHA, "")], ids=["same-digest-other-tag", "bare-digest"]
)
def test_a_quarantined_image_under_another_name_is_not_deployed(version: str, digest: str) -> None:
    failed = {**live(), "failedVersions": ["bbbbb22", SHA]}
    plan = step(kcd(failed), [target(cand=version, digest=digest)])
    assert plan.status is not None and plan.status.rollout is None and patches(plan) == []
    assert ready_reason(plan) == Reason.QUARANTINED


# 10. Drift correction respects pause and stops fighting.
def test_drift_is_not_corrected_while_paused() -> None:
    plan = step(with_notes(kcd(live()), **{PAUSED: "true"}), [target(f"{REPO}:hand-edit")])
    assert patches(plan) == [] and ready_reason(plan) == Reason.PAUSED


def test_drift_correction_stops_after_repeated_fights_and_names_the_other_writer() -> None:
    k = kcd(live())
    fighter = dataclasses.replace(target(f"{REPO}:gitops"), image_managers=("argocd-controller",))
    for _ in range(5):
        plan = step(k, [fighter])
        assert patches(plan) == [("web", f"{REPO}:aaaaa11")]
        k = apply(k, plan)
    plan = step(k, [fighter])
    assert patches(plan) == [] and ready_reason(plan) == Reason.DRIFT_CONFLICT
    assert plan.status is not None and plan.status.drift.stalled
    assert any("argocd-controller" in c.message for c in plan.status.conditions if c.type == "Stalled")


# Manual rollback sticks.
def test_a_manual_rollback_holds_the_version_rolled_away_from_and_is_carried_out_once() -> None:
    k = with_notes(
        kcd(live("bbbbb22")),
        **{ROLLBACK_TO: "aaaaa11", ROLLBACK_REQUESTED_AT: "2026-11-26T11:58:00Z", ROLLBACK_BY: "ann"},
    )
    on_new = [target(f"{REPO}:bbbbb22", cand="bbbbb22")]
    plan = step(k, on_new)
    assert plan.status is not None and plan.status.rollout is not None
    assert plan.status.rollout.version == "aaaaa11" and plan.status.held_versions == ("bbbbb22",)
    k = run(k, on_new, steps=2)
    rolled = [target(f"{REPO}:aaaaa11", cand="bbbbb22")]
    k = run(k, rolled, steps=2)
    assert (k.status.success_version, k.status.rollout) == ("aaaaa11", None)
    again = step(k, rolled)  # the syncer still reports bbbbb22: held, not redeployed
    assert patches(again) == [] and ready_reason(again) == Reason.HELD


# Paused Deployments stop the clock; refused writes fail the rollout.
def test_a_paused_deployment_stops_the_timeout_clock() -> None:
    k = run(kcd(live(), timeoutSeconds=60), [target(cand="bbbbb22")], steps=2)
    paused = [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False, paused=True)]
    k = apply(k, step(k, paused))
    assert k.status.rollout is not None and k.status.rollout.paused_at
    later = NOW + datetime.timedelta(seconds=600)
    plan = step(k, paused, later)
    assert plan.status is None or plan.status.rollout is not None and plan.status.rollout.phase is Phase.WAITING
    resumed = step(k, [target(f"{REPO}:bbbbb22", cand="bbbbb22", done=False)], later)
    assert resumed.status is not None and resumed.status.rollout is not None
    assert resumed.status.rollout.started_at == "2026-11-26T12:10:00Z" and not resumed.status.rollout.paused_at


def test_a_write_refused_for_good_fails_the_rollout_with_the_api_message() -> None:
    k = run(kcd(live()), [target(cand="bbbbb22")], steps=1)
    from kcd.engine.view import View

    plan = api_failed(View(k, (target(cand="bbbbb22"),), NOW), "deployment/web: 403 forbidden")
    [write] = [a for a in plan.actions if isinstance(a, WriteStatus)]
    assert write.status.rollout is not None and write.status.rollout.phase is Phase.RECORDING
    assert write.status.rollout.reason == Reason.API_ERROR and "403 forbidden" in write.status.rollout.message
