"""A syncer's health on its Lease (kcd.syncerhealth): what a poll's outcome writes, and how a Lease is read back."""

from __future__ import annotations

import datetime
from typing import Any

from kcd import syncerhealth as sh

T0 = datetime.datetime(2026, 12, 1, 10, 2, 5, tzinfo=datetime.UTC)


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def lease(notes: dict[str, str | None], *, renewed: datetime.datetime = T0, duration: int = 150) -> dict[str, Any]:
    kept = {k: v for k, v in notes.items() if v is not None}
    spec = {"holderIdentity": "web-0", "leaseDurationSeconds": duration, "renewTime": renewed.isoformat()}
    return {"metadata": {"name": "kcd-syncer-deployment-web", "annotations": kept}, "spec": spec}


def test_a_success_records_its_time_and_the_request_count_and_removes_the_error() -> None:
    notes = sh.lease_annotations(sh.Outcome(T0, requests=7), {sh.ERROR: "registry 401: x", sh.ERROR_SINCE: "t"})
    assert notes == {sh.LAST_SUCCESS: "2026-12-01T10:02:05Z", sh.REQUESTS: "7", sh.ERROR: None, sh.ERROR_SINCE: None}


def test_a_failure_records_its_class_message_and_when_the_run_of_failures_began() -> None:
    notes = sh.lease_annotations(sh.Outcome(T0, "registry 401", "unauthorized", 3))
    assert notes == {sh.ERROR: "registry 401: unauthorized", sh.ERROR_SINCE: "2026-12-01T10:02:05Z", sh.REQUESTS: "3"}
    assert sh.LAST_SUCCESS not in notes  # the last success stays what it was


def test_the_same_class_failing_again_keeps_the_time_its_run_began() -> None:
    first = sh.lease_annotations(sh.Outcome(T0, "registry 401", "unauthorized"))
    again = sh.lease_annotations(sh.Outcome(later(600), "registry 401", "unauthorized"), first)
    assert again[sh.ERROR_SINCE] == "2026-12-01T10:02:05Z"


def test_another_class_of_failure_starts_a_new_run() -> None:
    first = sh.lease_annotations(sh.Outcome(T0, "registry 401", "unauthorized"))
    other = sh.lease_annotations(sh.Outcome(later(600), "registry timeout", "ReadTimeout"), first)
    assert other[sh.ERROR_SINCE] == "2026-12-01T10:12:05Z"


def test_a_long_message_is_cut_to_the_annotation_budget() -> None:
    notes = sh.lease_annotations(sh.Outcome(T0, "registry 500", "x" * 1000))
    assert len(notes[sh.ERROR] or "") == sh.MAX_MESSAGE


def test_a_lease_reads_back_as_the_outcome_written_on_it() -> None:
    notes = sh.lease_annotations(sh.Outcome(later(-60), "registry 401", "unauthorized", 12))
    health = sh.read(lease(notes))
    assert (health.error, health.error_since, health.requests, health.holder) == (
        "registry 401: unauthorized",
        later(-60),
        12,
        "web-0",
    )
    assert (health.last_poll, health.stale_after) == (T0, 300.0)


def test_an_unreadable_request_count_reads_as_zero() -> None:
    assert sh.read(lease({sh.REQUESTS: "many"})).requests == 0


def test_a_lease_not_renewed_for_two_durations_is_stale_and_one_renewed_within_them_is_not() -> None:
    health = sh.read(lease({}, duration=150))
    assert sh.state(health, later(299)) == "Healthy"
    assert sh.state(health, later(301)) == "Stale"


def test_no_lease_is_missing_and_a_failed_last_poll_is_failing() -> None:
    assert sh.state(None, T0) == "Missing"
    failing = sh.read(lease(sh.lease_annotations(sh.Outcome(T0, "api 403", "forbidden"))))
    assert sh.state(failing, later(10)) == "Failing"


def test_a_failing_syncer_is_described_by_its_error_and_when_it_began() -> None:
    health = sh.read(lease(sh.lease_annotations(sh.Outcome(T0, "registry 401", "unauthorized"))))
    assert sh.describe(health, later(90)) == "registry 401: unauthorized since 10:02 UTC"


def test_a_polling_syncer_is_described_by_the_age_of_its_last_poll() -> None:
    assert sh.describe(sh.read(lease({})), later(12)) == "last poll 12 s ago"


def test_the_label_selector_selects_exactly_the_labels_a_syncer_lease_carries() -> None:
    assert sh.SELECTOR == "app.kubernetes.io/component=kcd-syncer"
    assert dict(pair.split("=") for pair in sh.SELECTOR.split(",")) == sh.LABELS
