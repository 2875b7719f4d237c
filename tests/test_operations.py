"""kcd.operations: a person's requests on a KCD as patches, refused with one line when they cannot apply. Pure."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kcd import operations
from kcd.history import Record
from kcd.model import ABORT, PAUSED, PROMOTE, ROLLBACK_BY, ROLLBACK_REQUESTED_AT, ROLLBACK_TO, Outcome

NOW = datetime.datetime(2026, 12, 1, 10, 0, 0, 500_000, tzinfo=datetime.UTC)
DIGEST = "sha256:" + "ab" * 32


def _kcd(annotations: dict[str, str] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "app", "namespace": "team", "annotations": annotations or {}},
        "spec": {"imageRepo": "r/app", "tag": "prod", "selector": {"app": "web"}, "container": {"name": "app"}},
        "status": {"currStatus": "Success", "successVersion": "ccccc33", "currVersion": "ccccc33", **status},
    }


def _record(version: str, outcome: Outcome, time: str, kcd: str = "app", name: str = "web") -> Record:
    return Record(version=version, time=time, kcd=kcd, type="Deployment", name=name, container="app", outcome=outcome)


HISTORY = [
    _record("ccccc33", Outcome.SUCCESS, "2026-11-26T12:40:00Z"),
    _record("eeeee55", Outcome.SUCCESS, "2026-11-26T12:30:00Z", kcd="other"),
    _record("bbbbb22", Outcome.FAILED, "2026-11-26T12:20:00Z"),
    _record("aaaaa11", Outcome.SUCCESS, "2026-11-26T12:00:00Z"),
    _record("fffff66", Outcome.SUCCESS, "2026-11-26T12:10:00Z", name="db"),
]


def test_rollback_without_to_targets_the_newest_earlier_success_of_this_kcd() -> None:
    change = operations.rollback(_kcd(), HISTORY, to=None, who="ann", now=NOW)
    assert change.status is False
    assert change.patch == {
        "metadata": {
            "annotations": {ROLLBACK_TO: "fffff66", ROLLBACK_REQUESTED_AT: "2026-12-01T10:00:00Z", ROLLBACK_BY: "ann"}
        }
    }
    assert change.summary == "rollback of app to fffff66 requested (held: ccccc33)"


def test_the_default_target_skips_held_and_quarantined_versions() -> None:
    kcd = _kcd(heldVersions=["fffff66"], failedVersions=["aaaaa11"])
    with pytest.raises(operations.NotApplicable, match="no previous version of team/app .*deployment/web"):
        operations.rollback(kcd, HISTORY, to=None, who="ann", now=NOW)


def test_rollback_with_no_history_is_refused_naming_the_kcd() -> None:
    with pytest.raises(operations.NotApplicable) as err:
        operations.rollback(_kcd(), [], to=None, who="ann", now=NOW)
    assert str(err.value) == (
        "no previous version of team/app in the history of its workloads (no records); name one with --to"
    )


def test_rollback_to_a_given_digest_needs_no_history_and_holds_the_version_in_flight() -> None:
    kcd = _kcd(rollout={"version": "ddddd44", "digest": "sha256:" + "cd" * 32, "phase": "Waiting"})
    change = operations.rollback(kcd, [], to=DIGEST, who="ann", now=NOW)
    assert change.patch["metadata"]["annotations"][ROLLBACK_TO] == DIGEST
    assert change.summary == f"rollback of app to {DIGEST} requested (held: ccccc33, ddddd44, sha256:{'cd' * 32})"


@pytest.mark.parametrize("to", ["repo:tag", "-dash", "sha256:abc", "x" * 129])
def test_rollback_to_something_that_is_no_version_is_invalid_input(to: str) -> None:
    with pytest.raises(operations.InvalidInput, match="is not a valid tag or sha256 digest"):
        operations.rollback(_kcd(), HISTORY, to=to, who="ann", now=NOW)


def test_rollback_to_the_live_version_with_nothing_in_flight_is_refused() -> None:
    with pytest.raises(operations.NotApplicable, match="^ccccc33 is already live on team/app$"):
        operations.rollback(_kcd(), HISTORY, to="ccccc33", who="ann", now=NOW)


def test_a_request_in_the_same_second_as_the_previous_one_is_one_second_later() -> None:
    kcd = _kcd({ROLLBACK_REQUESTED_AT: "2026-12-01T10:00:00Z"})
    change = operations.rollback(kcd, HISTORY, to="aaaaa11", who="ann", now=NOW)
    assert change.patch["metadata"]["annotations"][ROLLBACK_REQUESTED_AT] == "2026-12-01T10:00:01Z"


def test_operation_errors_are_value_errors() -> None:
    assert issubclass(operations.InvalidInput, ValueError) and issubclass(operations.NotApplicable, ValueError)


def test_clear_without_a_version_empties_quarantine_and_holds_and_resets_the_drift() -> None:
    kcd = _kcd(failedVersions=["bbbbb22"], heldVersions=["ddddd44"], drift={"corrections": 3, "stalled": True})
    change = operations.clear(kcd, version=None)
    assert change.status is True
    assert change.patch == {
        "status": {
            "failedVersions": [],
            "heldVersions": [],
            "drift": {"corrections": 0, "since": None, "stalled": False},
        }
    }
    assert change.summary == "cleared quarantined bbbbb22; held ddddd44; the drift count (3, stalled) on team/app"


def test_clear_of_one_version_keeps_the_others() -> None:
    change = operations.clear(_kcd(failedVersions=["bbbbb22", "aaaaa11"], heldVersions=["ddddd44"]), version="bbbbb22")
    assert change.patch == {"status": {"failedVersions": ["aaaaa11"], "heldVersions": ["ddddd44"]}}
    assert change.summary == "cleared quarantined bbbbb22 on team/app"


def test_clear_of_a_version_neither_quarantined_nor_held_is_refused_listing_both() -> None:
    with pytest.raises(operations.NotApplicable) as err:
        operations.clear(_kcd(failedVersions=["bbbbb22"]), version="zzzzz99")
    assert str(err.value) == "zzzzz99 is not quarantined or held on team/app (quarantined: bbbbb22; held: none)"


def test_pause_sets_and_resume_removes_the_paused_annotation() -> None:
    paused = operations.pause(_kcd())
    assert (paused.patch, paused.status, paused.summary) == (
        {"metadata": {"annotations": {PAUSED: "true"}}},
        False,
        "kcd team/app paused",
    )
    resumed = operations.resume(_kcd({PAUSED: "true"}))
    assert (resumed.patch, resumed.summary) == ({"metadata": {"annotations": {PAUSED: None}}}, "kcd team/app resumed")


def test_pausing_twice_or_resuming_an_unpaused_kcd_says_so_without_failing() -> None:
    assert operations.pause(_kcd({PAUSED: "true"})).summary == "kcd team/app paused (it already was)"
    assert operations.resume(_kcd()).summary == "kcd team/app resumed (it was not paused)"


def test_promote_and_abort_name_the_rollout_in_flight() -> None:
    flight = {"version": "ddddd44", "phase": "AwaitingPromotion", "startedAt": "2026-12-01T09:59:00Z"}
    kcd = _kcd(rollout=flight)
    assert operations.promote(kcd).patch == {"metadata": {"annotations": {PROMOTE: "ddddd44@2026-12-01T09:59:00Z"}}}
    assert operations.abort(kcd).patch == {"metadata": {"annotations": {ABORT: "ddddd44@2026-12-01T09:59:00Z"}}}


def test_promote_is_refused_outside_awaiting_promotion_and_both_without_a_rollout() -> None:
    with pytest.raises(operations.NotApplicable, match="is in Waiting, not AwaitingPromotion"):
        operations.promote(_kcd(rollout={"version": "ddddd44", "phase": "Waiting"}))
    with pytest.raises(operations.NotApplicable, match="^no rollout is in flight on team/app$"):
        operations.abort(_kcd())
