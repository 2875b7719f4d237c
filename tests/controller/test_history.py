"""kcd.history: records encode to the contract's JSON, decoding never raises, adding keeps newest first and bounded.

Aspects: the ConfigMap's name, label and data key; the JSON keys of a record; garbage tolerance; the count and byte
bounds; idempotent adds; an in-memory History satisfies the protocol the controller's adapter implements.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from kcd import history
from kcd.model import Outcome


def _record(version: str = "abc1234", **changes: object) -> history.Record:
    record = history.Record(
        version=version,
        digest="sha256:" + "b" * 64,
        time="2026-11-26T12:00:00Z",
        kcd="web",
        type="Deployment",
        name="web",
        container="app",
        strategy="Simple",
        outcome=Outcome.SUCCESS,
        duration_seconds=12.5,
        reason="RolloutSucceeded",
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def test_configmap_is_named_after_the_workload_labelled_and_keyed_as_the_contract_says() -> None:
    body = history.configmap(namespace="apps", workload="web", records=[_record()])
    assert body["metadata"] == {"name": "web.history", "namespace": "apps", "labels": {"kcd.io/history": "true"}}
    assert list(body["data"]) == ["history"]
    assert history.decode(body["data"]["history"]) == [_record()]


def test_encoded_record_carries_exactly_the_contract_keys() -> None:
    (item,) = json.loads(history.encode([_record()]))
    assert item == {
        "version": "abc1234",
        "digest": "sha256:" + "b" * 64,
        "time": "2026-11-26T12:00:00Z",
        "kcd": "web",
        "type": "Deployment",
        "name": "web",
        "container": "app",
        "strategy": "Simple",
        "outcome": "Success",
        "durationSeconds": 12.5,
        "reason": "RolloutSucceeded",
    }


@pytest.mark.parametrize(
    "records",
    [
        [],
        [_record()],
        [_record("v3", outcome=Outcome.ROLLED_BACK), _record("v2", outcome=Outcome.FAILED), _record("v1")],
        [_record(reason='ünïcode ✓ and "quotes"\n')],
    ],
    ids=["empty", "one", "three-outcomes", "unicode-reason"],
)
def test_decode_returns_what_encode_was_given(records: list[history.Record]) -> None:
    assert history.decode(history.encode(records)) == records


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "{",
        "{}",
        "null",
        '"a string"',
        "42",
        "[1, 2, null]",
        "Update occurred at:2018-04-13 03:31:29 +0000 UTC:\nWorkload:web to version:abc1234\n",
        "[" * 100_000,
        b"\xff\xfe",
    ],
    ids=[
        "none",
        "empty",
        "truncated",
        "object",
        "null",
        "string",
        "number",
        "non-records",
        "original-kcd-text-format",
        "deep-nesting",
        "invalid-utf8",
    ],
)
def test_decode_of_garbage_is_empty_and_never_raises(text: str | bytes | None) -> None:
    assert history.decode(text) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"digest": "x"},
        {"version": ""},
        {"version": 7},
        {"version": "v", "outcome": "Exploded"},
        {"version": "v", "outcome": "Success", "durationSeconds": "12"},
        {"version": "v", "outcome": "Success", "durationSeconds": True},
        {"version": "v", "outcome": "Success", "name": ["web"]},
        {"version": "v", "outcome": "Success", "reason": None},
    ],
    ids=[
        "no-version",
        "empty-version",
        "numeric-version",
        "unknown-outcome",
        "duration-string",
        "duration-bool",
        "name-list",
        "reason-null",
    ],
)
def test_decode_skips_items_that_are_not_records_and_keeps_the_rest(bad: dict[str, object]) -> None:
    text = json.dumps([_record("new").to_dict(), bad, _record("old").to_dict()])
    assert [r.version for r in history.decode(text)] == ["new", "old"]


def test_decode_fills_missing_optional_fields_with_empty_values() -> None:
    (record,) = history.decode('[{"version": "abc1234", "outcome": "Failed"}]')
    assert record == history.Record(
        version="abc1234", time="", kcd="", type="", name="", container="", outcome=Outcome.FAILED, strategy=""
    )


def test_add_puts_the_new_record_first() -> None:
    records = history.add([_record("v1")], _record("v2"), max_entries=50)
    assert [r.version for r in records] == ["v2", "v1"]


@pytest.mark.parametrize(
    ("existing", "max_entries", "expected"),
    [
        (0, 50, ["new"]),
        (3, 50, ["new", "v0", "v1", "v2"]),
        (3, 3, ["new", "v0", "v1"]),
        (5, 1, ["new"]),
        (5, 0, ["new"]),
    ],
    ids=["first", "below-cap", "at-cap-drops-oldest", "cap-one", "cap-zero-still-keeps-newest"],
)
def test_add_keeps_at_most_max_entries_dropping_the_oldest(
    existing: int, max_entries: int, expected: list[str]
) -> None:
    records = [_record(f"v{i}") for i in range(existing)]
    assert [r.version for r in history.add(records, _record("new"), max_entries)] == expected


def test_adding_the_newest_record_again_changes_nothing() -> None:
    once = history.add([_record("v1")], _record("v2"), max_entries=50)
    assert history.add(once, _record("v2"), max_entries=50) == once


def test_adding_the_same_version_with_another_outcome_is_a_new_entry() -> None:
    once = history.add([], _record("v2", outcome=Outcome.FAILED), max_entries=50)
    twice = history.add(once, _record("v2", outcome=Outcome.ROLLED_BACK), max_entries=50)
    assert [r.outcome for r in twice] == [Outcome.ROLLED_BACK, Outcome.FAILED]


def test_add_cuts_an_over_long_reason() -> None:
    (record,) = history.add([], _record(reason="x" * 10_000), max_entries=50)
    assert len(record.reason) == history.MAX_REASON_CHARS and record.reason.endswith("…")


def test_add_drops_oldest_records_until_the_data_fits_the_byte_budget() -> None:
    bulky = [_record(f"v{i}", reason="r" * history.MAX_REASON_CHARS) for i in range(1000)]
    records = history.add(bulky, _record("new"), max_entries=1000)
    assert records[0].version == "new" and records[1].version == "v0"
    assert len(records) < 1000
    assert len(history.encode(records).encode()) <= history.MAX_DATA_BYTES


class InMemoryHistory:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def load(self, namespace: str, workload: str) -> list[history.Record]:
        return history.decode(self.data.get((namespace, workload)))

    def add(self, namespace: str, workload: str, record: history.Record, *, max_entries: int) -> None:
        records = history.add(self.load(namespace, workload), record, max_entries)
        self.data[(namespace, workload)] = history.encode(records)


def test_a_small_adapter_over_encode_decode_add_satisfies_the_history_protocol() -> None:
    store: history.History = InMemoryHistory()
    store.add("apps", "web", _record("v1"), max_entries=2)
    store.add("apps", "web", _record("v2"), max_entries=2)
    store.add("apps", "web", _record("v2"), max_entries=2)
    store.add("apps", "web", _record("v3"), max_entries=2)
    assert [r.version for r in store.load("apps", "web")] == ["v3", "v2"]
    assert store.load("apps", "other") == []


def test_a_second_write_of_the_same_rollout_changes_nothing_though_its_time_and_reason_differ() -> None:
    # The step that saw the rollout done wrote the record, then died before the status write: the next step writes the
    # record of the same rollout again, 10 s later and with another progress message.
    first = _record("v2", time="2026-11-26T12:00:00Z", duration_seconds=30.0, reason="1 of 2 available")
    again = _record("v2", time="2026-11-26T12:00:10Z", duration_seconds=40.0, reason="2 of 2 available")
    once = history.add([_record("v1")], first, max_entries=50)
    assert history.add(once, again, max_entries=50) == once


def test_the_same_version_rolled_out_again_after_the_last_record_is_a_new_entry() -> None:
    first = _record("v2", time="2026-11-26T12:00:00Z", duration_seconds=30.0)
    later = _record("v2", time="2026-11-26T13:00:00Z", duration_seconds=30.0)  # started at 12:59:30, after the first
    once = history.add([], first, max_entries=50)
    assert [r.time for r in history.add(once, later, max_entries=50)] == [later.time, first.time]
