"""kcd.model: KCD bodies become typed, defaulted data; bad specs name their field; status shapes match the CRD.

Aspects: the CRD's defaults (and enums) and the model's stay in step; a spec missing or mistyping a field raises
SpecError with that field's path; status reading is lenient and writing is complete; conditions keep their transition
time; quarantine is bounded; status dicts validate against the CRD's status schema.
"""

from __future__ import annotations

import copy
import datetime
import enum
from typing import Any

import jsonschema
import pytest

from kcd import model
from tests import crd

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
LATER = NOW + datetime.timedelta(minutes=5)


def _spec_schema(*path: str) -> dict[str, Any]:
    node = crd.kcd_schema()["properties"]["spec"]
    for part in path:
        node = node["items"] if part == "[]" else node["properties"][part]
    return dict(node)


def _status_schema(*path: str) -> dict[str, Any]:
    node = crd.kcd_schema()["properties"]["status"]
    for part in path:
        node = node["items"] if part == "[]" else node["properties"][part]
    return dict(node)


def _body(**spec: Any) -> dict[str, Any]:
    body = crd.original_example()
    body["spec"].update(spec)
    return body


def _without(path: str) -> dict[str, Any]:
    body = crd.original_example()
    *parents, leaf = path.split(".")
    node = body["spec"]
    for part in parents:
        node = node[part]
    del node[leaf]
    return body


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("versionSyntax",), model.DEFAULT_VERSION_SYNTAX),
        (("pollIntervalSeconds",), model.DEFAULT_POLL_INTERVAL_SECONDS),
        (("livenessSeconds",), model.DEFAULT_LIVENESS_SECONDS),
        (("timeoutSeconds",), model.DEFAULT_TIMEOUT_SECONDS),
        (("history", "enabled"), model.DEFAULT_HISTORY_ENABLED),
        (("history", "maxEntries"), model.DEFAULT_HISTORY_MAX_ENTRIES),
        (("rollback", "enabled"), model.DEFAULT_ROLLBACK_ENABLED),
        (("strategy", "kind"), model.StrategyKind.SIMPLE),
        (("strategy", "blueGreen", "scaleDown"), False),
        (("container", "verify", "[]", "timeoutSeconds"), model.DEFAULT_VERIFY_TIMEOUT_SECONDS),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else None,
)
def test_model_defaults_equal_the_crd_defaults(path: tuple[str, ...], value: object) -> None:
    assert _spec_schema(*path)["default"] == value


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        (model.StrategyKind, _spec_schema("strategy", "kind")),
        (model.VerifyKind, _spec_schema("container", "verify", "[]", "kind")),
        (model.CurrStatus, _status_schema("currStatus")),
        (model.ConditionType, _status_schema("conditions", "[]", "type")),
        (model.Phase, _status_schema("rollout", "phase")),
        (model.Outcome, _status_schema("rollout", "outcome")),
    ],
    ids=["strategy-kind", "verify-kind", "curr-status", "condition-type", "rollout-phase", "rollout-outcome"],
)
def test_model_enums_list_exactly_the_crd_enum_values(kind: type[enum.StrEnum], schema: dict[str, Any]) -> None:
    assert list(kind) == schema["enum"]


def test_original_example_parses_with_the_crd_defaults_applied() -> None:
    kcd = model.KCD.from_body(crd.original_example())

    assert (kcd.name, kcd.namespace, kcd.key) == ("kcdkcd", "kube-system", "kube-system/kcdkcd")
    assert kcd.spec == model.Spec(
        image_repo="nearmap/kcd",
        tag="latest",
        selector={"kcdapp": "kcdkcd"},
        container=model.Container(name="kcd"),
        version_syntax="[0-9a-f]{5,40}",
        strategy=model.Strategy(kind=model.StrategyKind.SIMPLE),
        poll_interval_seconds=300,
        liveness_seconds=300,
        timeout_seconds=900,
        history=model.HistorySpec(enabled=True, max_entries=50),
        rollback=model.RollbackSpec(enabled=False),
        config=model.ConfigRef(name="kcd", key="version"),
    )
    assert kcd.status == model.Status()


def test_full_spec_parses_every_field() -> None:
    body = _body(
        versionSyntax="v[0-9]+",
        container={"name": "app", "verify": [{"kind": "Image", "image": "team/check", "tag": "stable"}]},
        strategy={
            "kind": "ServiceBlueGreen",
            "blueGreen": {"serviceName": "web", "verificationServiceName": "web-test", "labelNames": ["colour"]},
            "verify": [{"kind": "HTTP", "url": "http://web-test/healthz", "timeoutSeconds": 30}],
        },
        history={"enabled": False, "maxEntries": 7},
        rollback={"enabled": True},
        serviceAccountName="syncer",
    )
    spec = model.KCD.from_body(body).spec

    assert spec.container.verify == (model.Verify(kind=model.VerifyKind.IMAGE, image="team/check", tag="stable"),)
    assert spec.strategy.blue_green == model.BlueGreen("web", ("colour",), verification_service_name="web-test")
    assert spec.strategy.verify[0].expect_status == 200
    assert spec.strategy.verify[0].timeout_seconds == 30
    assert (spec.history.enabled, spec.history.max_entries, spec.rollback.enabled) == (False, 7, True)
    assert spec.service_account_name == "syncer"
    assert spec.version_syntax == "v[0-9]+"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without("imageRepo"), "spec.imageRepo"),
        (_without("tag"), "spec.tag"),
        (_without("selector"), "spec.selector"),
        (_body(selector={}), "spec.selector"),
        (_body(selector={"app": 3}), "spec.selector.app"),
        (_without("container"), "spec.container.name"),
        (_body(container="myapp"), "spec.container"),
        (_body(pollIntervalSeconds=0), "spec.pollIntervalSeconds"),
        (_body(pollIntervalSeconds="60"), "spec.pollIntervalSeconds"),
        (_body(timeoutSeconds=True), "spec.timeoutSeconds"),
        (_body(versionSyntax="[0-9"), "spec.versionSyntax"),
        (_body(strategy={"kind": "Canary"}), "spec.strategy.kind"),
        (_body(strategy={"kind": "ServiceBlueGreen"}), "spec.strategy.blueGreen"),
        (_body(strategy={"blueGreen": {"serviceName": "web", "labelNames": ["c"]}}), "spec.strategy.blueGreen"),
        (
            _body(strategy={"kind": "ServiceBlueGreen", "blueGreen": {"serviceName": "web", "labelNames": []}}),
            "spec.strategy.blueGreen.labelNames",
        ),
        (_body(container={"name": "c", "verify": [{"kind": "Image"}]}), "spec.container.verify[0].image"),
        (_body(strategy={"verify": [{"kind": "HTTP"}]}), "spec.strategy.verify[0].url"),
        (_body(strategy={"verify": [{"kind": "Exec"}]}), "spec.strategy.verify[0].kind"),
        (_body(history={"enabled": "yes"}), "spec.history.enabled"),
        (_body(history={"maxEntries": 0}), "spec.history.maxEntries"),
        (_body(config={"name": "kcd"}), "spec.config.key"),
        ({"metadata": {"name": "x"}}, "spec.imageRepo"),
    ],
    ids=[
        "no-image-repo",
        "no-tag",
        "no-selector",
        "empty-selector",
        "selector-value-not-string",
        "no-container",
        "container-as-string",
        "poll-interval-zero",
        "poll-interval-string",
        "timeout-bool",
        "version-syntax-not-regex",
        "unknown-strategy",
        "blue-green-without-settings",
        "settings-without-blue-green",
        "blue-green-without-labels",
        "image-verify-without-image",
        "http-verify-without-url",
        "unknown-verify-kind",
        "history-enabled-string",
        "history-max-entries-zero",
        "config-without-key",
        "no-spec",
    ],
)
def test_unusable_spec_raises_spec_error_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(model.SpecError) as caught:
        model.KCD.from_body(body)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_kcd_reads_identity_and_ignores_non_string_annotations() -> None:
    body = crd.original_example()
    body["metadata"].update(uid="u-1", generation=4, annotations={"a": "1", "b": None}, labels={"team": "x"})
    kcd = model.KCD.from_body(body)
    assert (kcd.uid, kcd.generation, dict(kcd.annotations), dict(kcd.labels)) == ("u-1", 4, {"a": "1"}, {"team": "x"})


def _rollout() -> model.RolloutState:
    return model.RolloutState(
        version="abc1234",
        phase=model.Phase.WAITING,
        digest="sha256:" + "a" * 64,
        image="127.0.0.1:5000/team/app:abc1234",
        source="127.0.0.1:5000/team/app:env-prod",
        container="app",
        started_at="2026-11-26T12:00:00Z",
        phase_started_at="2026-11-26T12:01:00Z",
        previous_version="0ff1ce5",
        paused_at="2026-11-26T12:02:00Z",
        pods_deleted=True,
        outcome=model.Outcome.FAILED,
        reason=model.Reason.ROLLOUT_TIMED_OUT,
        message="not ready after 900s",
    )


def _status() -> model.Status:
    ready = model.condition(model.ConditionType.READY, True, model.Reason.UP_TO_DATE, "ok", generation=3, now=NOW)
    return model.Status(
        curr_version="abc1234",
        curr_status=model.CurrStatus.PROGRESSING,
        curr_status_time="2026-11-26T12:00:00Z",
        success_version="0ff1ce5",
        observed_generation=3,
        conditions=(ready,),
        failed_versions=("bad0001",),
        held_versions=("held001",),
        rollout=_rollout(),
        drift=model.Drift(2, "2026-11-26T11:00:00Z", stalled=False),
        last_rollback="2026-11-26T11:30:00Z",
    )


def test_status_survives_a_round_trip_through_its_dict() -> None:
    assert model.Status.from_dict(_status().to_dict()) == _status()


def test_rollout_state_survives_a_round_trip_through_its_dict() -> None:
    assert model.RolloutState.from_dict(_rollout().to_dict()) == _rollout()


def test_empty_status_dict_clears_every_field_in_a_merge_patch() -> None:
    patch = model.Status().to_dict()
    assert set(patch) == set(_status_schema()["properties"])
    assert patch["rollout"] is None and patch["currStatus"] is None and patch["failedVersions"] == []


def test_rollout_dict_names_every_field_so_a_merge_patch_replaces_the_previous_rollout() -> None:
    fresh = model.RolloutState(version="abc1234", phase=model.Phase.PATCHING).to_dict()
    assert set(fresh) == set(_status_schema("rollout")["properties"])
    assert fresh["outcome"] is None and fresh["image"] == "" and fresh["podsDeleted"] is False


@pytest.mark.parametrize(
    "status",
    [
        _status().to_dict(),
        model.Status().to_dict(),
        model.Status(rollout=_rollout().advance(model.Phase.RECORDING, now=NOW)).to_dict(),
    ],
    ids=["full", "empty", "recording"],
)
def test_status_dicts_validate_against_the_crd_status_schema(status: dict[str, Any]) -> None:
    jsonschema.validate(crd.drop_nulls(status), _status_schema())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, model.Status()),
        ("garbage", model.Status()),
        ({"currStatus": "Weird", "currVersion": 5}, model.Status()),
        ({"conditions": "no", "failedVersions": {"a": 1}}, model.Status()),
        ({"conditions": [{"type": "Other"}, 7], "failedVersions": ["a", 1]}, model.Status(failed_versions=("a",))),
        ({"rollout": {"version": "v1", "phase": "Dancing"}}, model.Status()),
        ({"rollout": {"phase": "Patching"}}, model.Status()),
        (
            {"rollout": {"version": "v1", "phase": "Patching", "podsDeleted": "yes", "image": 5}},
            model.Status(rollout=model.RolloutState(version="v1", phase=model.Phase.PATCHING)),
        ),
        ({"currStatus": "Failed", "kopf": {}}, model.Status(curr_status=model.CurrStatus.FAILED)),
    ],
    ids=[
        "none",
        "string",
        "bad-values",
        "bad-lists",
        "bad-items",
        "unknown-phase",
        "rollout-without-version",
        "rollout-bad-fields",
        "unknown-keys",
    ],
)
def test_status_reading_drops_garbage_instead_of_raising(raw: Any, expected: model.Status) -> None:
    assert model.Status.from_dict(raw) == expected


def test_advance_moves_to_the_next_phase_and_keeps_the_rollout() -> None:
    moved = _rollout().advance(model.Phase.POST_VERIFYING, now=LATER)
    assert (moved.phase, moved.phase_started_at) == (model.Phase.POST_VERIFYING, "2026-11-26T12:05:00Z")
    assert (moved.version, moved.started_at, moved.image) == ("abc1234", "2026-11-26T12:00:00Z", _rollout().image)


def test_condition_dict_has_the_metav1_condition_shape() -> None:
    cond = model.condition(model.ConditionType.STALLED, None, model.Reason.INVALID_SPEC, "bad", generation=2, now=NOW)
    assert cond.to_dict() == {
        "type": "Stalled",
        "status": "Unknown",
        "reason": "InvalidSpec",
        "message": "bad",
        "lastTransitionTime": "2026-11-26T12:00:00Z",
        "observedGeneration": 2,
    }


@pytest.mark.parametrize(
    ("first", "second", "kept_time"),
    [
        (True, True, "2026-11-26T12:00:00Z"),
        (True, False, "2026-11-26T12:05:00Z"),
        (False, None, "2026-11-26T12:05:00Z"),
    ],
    ids=["same-status-keeps-time", "flip-sets-time", "to-unknown-sets-time"],
)
def test_set_condition_moves_the_transition_time_only_when_the_status_changes(
    first: bool, second: bool | None, kept_time: str
) -> None:
    ready = model.ConditionType.READY
    old = model.condition(ready, first, model.Reason.ROLLOUT_STARTED, "a", generation=1, now=NOW)
    new = model.condition(ready, second, model.Reason.ROLLOUT_SUCCEEDED, "b", generation=2, now=LATER)
    (merged,) = model.set_condition((old,), new)
    assert (merged.last_transition_time, merged.reason, merged.message) == (kept_time, "RolloutSucceeded", "b")


def test_set_condition_appends_a_new_type_and_leaves_the_others() -> None:
    ready = model.condition(model.ConditionType.READY, True, model.Reason.UP_TO_DATE, "", generation=1, now=NOW)
    stalled = model.condition(model.ConditionType.STALLED, True, model.Reason.INVALID_SPEC, "x", generation=1, now=NOW)
    merged = model.set_condition((ready,), stalled)
    assert merged == (ready, stalled)
    assert model.find_condition(merged, model.ConditionType.STALLED) == stalled
    assert model.find_condition(merged, model.ConditionType.RECONCILING) is None


def test_quarantine_adds_a_version_once_and_keeps_the_newest_hundred() -> None:
    many = tuple(f"v{i}" for i in range(model.MAX_FAILED_VERSIONS))
    assert model.quarantine(("a", "b"), "a") == ("b", "a")
    assert model.quarantine(many, "new") == (*many[1:], "new")


def test_kcd_knows_its_quarantined_versions() -> None:
    body = crd.original_example()
    body["status"] = {"failedVersions": ["bad0001"]}
    kcd = model.KCD.from_body(body)
    assert kcd.is_quarantined("bad0001") and not kcd.is_quarantined("abc1234")


def test_reasons_are_camel_case_and_fit_the_condition_reason_pattern() -> None:
    schema = _status_schema("conditions", "[]", "reason")
    for reason in model.Reason:
        jsonschema.validate(str(reason), schema)
        assert reason[0].isupper() and reason.isalnum()


@pytest.mark.parametrize(
    "when",
    [NOW, NOW.astimezone(datetime.timezone(datetime.timedelta(hours=10))), NOW.replace(microsecond=999)],
    ids=["utc", "other-zone", "microseconds"],
)
def test_format_time_writes_rfc3339_utc_with_whole_seconds(when: datetime.datetime) -> None:
    assert model.format_time(when) == "2026-11-26T12:00:00Z"


def test_parsing_does_not_change_the_body() -> None:
    body = _body(strategy={"kind": "Simple", "verify": [{"kind": "HTTP", "url": "http://x/"}]})
    before = copy.deepcopy(body)
    model.KCD.from_body(body)
    assert body == before


def test_annotation_names_are_the_contract_names() -> None:
    names = (
        model.CANDIDATE_VERSION,
        model.CANDIDATE_DIGEST,
        model.CANDIDATE_TIME,
        model.CANDIDATE_SOURCE,
        model.INJECT,
        model.KCD_NAME,
    )
    assert names == (
        "kcd.io/candidate-version",
        "kcd.io/candidate-digest",
        "kcd.io/candidate-time",
        "kcd.io/candidate-source",
        "kcd.io/inject",
        "kcd.io/kcd",
    )
