"""The KCD CRD on a real API server: bad specs are rejected naming their field, the original's example is accepted and
defaulted, the status subresource keeps spec and status apart, the model's status dicts are valid status patches.

Fast unit checks of the CRD's patterns and of its chart rendering come first; the cluster tests install the CRD once
per module (tests.crd.install) and share one namespace.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kcd import model
from tests import crd

HELM = Path.home() / ".cache/kcd/bin/helm-v3.22.0/helm"
CHART = Path(__file__).resolve().parents[2] / "charts" / "kcd"

Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    """A change to a KCD spec: set the dotted `path` (created as needed)."""

    def change(spec: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        for part in parents:
            spec = spec.setdefault(part, {})
        spec[leaf] = value

    return change


def _drop(path: str) -> Change:
    def change(spec: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        for part in parents:
            spec = spec[part]
        del spec[leaf]

    return change


BLUE_GREEN = {"serviceName": "web", "labelNames": ["colour"]}
HTTP = {"kind": "HTTP", "url": "http://web-test.apps/healthz"}
IMAGE = {"kind": "Image", "image": "team/check:1"}

# (id, change to the original's example spec, the field the rejection must name)
INVALID: list[tuple[str, Change, str]] = [
    ("no-image-repo", _drop("imageRepo"), "spec.imageRepo"),
    ("no-tag", _drop("tag"), "spec.tag"),
    ("no-selector", _drop("selector"), "spec.selector"),
    ("no-container", _drop("container"), "spec.container"),
    ("container-without-name", _set("container", {}), "spec.container.name"),
    ("empty-selector", _set("selector", {}), "spec.selector"),
    ("image-repo-with-tag", _set("imageRepo", "nearmap/kcd:latest"), "spec.imageRepo"),
    ("image-repo-with-digest", _set("imageRepo", "nearmap/kcd@sha256:" + "a" * 64), "spec.imageRepo"),
    ("image-repo-uppercase-path", _set("imageRepo", "Nearmap/KCD"), "spec.imageRepo"),
    ("image-repo-with-scheme", _set("imageRepo", "https://127.0.0.1:5000/app"), "spec.imageRepo"),
    ("image-repo-empty", _set("imageRepo", ""), "spec.imageRepo"),
    ("tag-with-slash", _set("tag", "env/prod"), "spec.tag"),
    ("tag-starting-with-dash", _set("tag", "-latest"), "spec.tag"),
    ("tag-too-long", _set("tag", "t" * 129), "spec.tag"),
    ("version-syntax-not-a-regex", _set("versionSyntax", "[0-9a-f"), "spec.versionSyntax"),
    ("selector-value-not-a-label-value", _set("selector", {"kcdapp": "not a label!"}), "spec.selector"),
    ("selector-key-not-a-label-key", _set("selector", {"bad key": "x"}), "spec.selector"),
    ("selector-value-a-number", _set("selector", {"kcdapp": 3}), "spec.selector"),
    ("container-name-not-a-dns-label", _set("container.name", "My_App"), "spec.container.name"),
    ("unknown-strategy-kind", _set("strategy", {"kind": "Canary"}), "spec.strategy.kind"),
    ("blue-green-without-settings", _set("strategy", {"kind": "ServiceBlueGreen"}), "spec.strategy.blueGreen"),
    ("simple-with-blue-green-settings", _set("strategy", {"blueGreen": BLUE_GREEN}), "spec.strategy.blueGreen"),
    (
        "blue-green-without-service",
        _set("strategy", {"kind": "ServiceBlueGreen", "blueGreen": {"labelNames": ["colour"]}}),
        "spec.strategy.blueGreen.serviceName",
    ),
    (
        "blue-green-without-labels",
        _set("strategy", {"kind": "ServiceBlueGreen", "blueGreen": {"serviceName": "web", "labelNames": []}}),
        "spec.strategy.blueGreen.labelNames",
    ),
    (
        "blue-green-verification-service-is-the-live-one",
        _set(
            "strategy",
            {"kind": "ServiceBlueGreen", "blueGreen": {**BLUE_GREEN, "verificationServiceName": "web"}},
        ),
        "spec.strategy.blueGreen.verificationServiceName",
    ),
    ("verify-unknown-kind", _set("container.verify", [{"kind": "Exec"}]), "spec.container.verify[0].kind"),
    ("verify-without-kind", _set("container.verify", [{"image": "x"}]), "spec.container.verify[0].kind"),
    ("image-verify-without-image", _set("container.verify", [{"kind": "Image"}]), "spec.container.verify[0].image"),
    ("http-verify-without-url", _set("strategy.verify", [{"kind": "HTTP"}]), "spec.strategy.verify[0].url"),
    ("http-verify-with-image", _set("strategy.verify", [{**HTTP, "image": "x"}]), "spec.strategy.verify[0]"),
    ("image-verify-with-url", _set("container.verify", [{**IMAGE, "url": "http://x/"}]), "spec.container.verify[0]"),
    ("http-verify-ftp-url", _set("strategy.verify", [{**HTTP, "url": "ftp://x/"}]), "spec.strategy.verify[0].url"),
    (
        "http-verify-status-below-100",
        _set("strategy.verify", [{**HTTP, "expectStatus": 99}]),
        "spec.strategy.verify[0].expectStatus",
    ),
    (
        "verify-timeout-zero",
        _set("container.verify", [{**IMAGE, "timeoutSeconds": 0}]),
        "spec.container.verify[0].timeoutSeconds",
    ),
    ("too-many-verifications", _set("container.verify", [IMAGE] * 11), "spec.container.verify"),
    ("poll-interval-zero", _set("pollIntervalSeconds", 0), "spec.pollIntervalSeconds"),
    ("poll-interval-below-five", _set("pollIntervalSeconds", 4), "spec.pollIntervalSeconds"),
    ("poll-interval-a-string", _set("pollIntervalSeconds", "60"), "spec.pollIntervalSeconds"),
    ("liveness-shorter-than-poll", _set("livenessSeconds", 120), "spec.livenessSeconds"),
    ("timeout-too-short", _set("timeoutSeconds", 5), "spec.timeoutSeconds"),
    ("history-max-entries-zero", _set("history.maxEntries", 0), "spec.history.maxEntries"),
    ("history-max-entries-too-many", _set("history.maxEntries", 5000), "spec.history.maxEntries"),
    ("history-enabled-a-string", _set("history.enabled", "yes"), "spec.history.enabled"),
    ("rollback-enabled-a-string", _set("rollback.enabled", "true"), "spec.rollback.enabled"),
    ("config-without-key", _set("config", {"name": "kcd"}), "spec.config.key"),
    ("config-key-with-slash", _set("config.key", "a/b"), "spec.config.key"),
    ("service-account-not-a-dns-name", _set("serviceAccountName", "Bad_SA"), "spec.serviceAccountName"),
]


def _example_with(change: Change, *, name: str = "kcdkcd", namespace: str = "default") -> dict[str, Any]:
    body = crd.original_example(name=name, namespace=namespace)
    change(body["spec"])
    return body


# --- fast checks, no cluster -------------------------------------------------------------------------------------


def _pattern(field: str) -> re.Pattern[str]:
    return re.compile(crd.kcd_schema()["properties"]["spec"]["properties"][field]["pattern"])


@pytest.mark.parametrize(
    ("repo", "valid"),
    [
        ("nearmap/kcd", True),
        ("nginx", True),
        ("127.0.0.1:5000/team/app", True),
        ("localhost:5000/app", True),
        ("localhost/app", True),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app.web", True),
        ("ghcr.io/kcd-io/kcd", True),
        ("registry:5000/a__b/c-d", True),
        ("nearmap/kcd:latest", False),
        ("127.0.0.1:5000/team/app:v1", False),
        ("nearmap/kcd@sha256:" + "a" * 64, False),
        ("Nearmap/kcd", False),
        ("team//app", False),
        ("team/app/", False),
        ("-team/app", False),
        ("", False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_image_repo_pattern_allows_repositories_and_refuses_tags_and_digests(repo: str, valid: bool) -> None:
    assert bool(_pattern("imageRepo").fullmatch(repo)) is valid


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("latest", True),
        ("env-prod", True),
        ("v1.2.3_rc.1", True),
        ("_x", True),
        ("t" * 128, True),
        ("t" * 129, False),
        (".hidden", False),
        ("-x", False),
        ("env/prod", False),
        ("a:b", False),
        ("", False),
    ],
    ids=lambda v: (v[:12] if len(v) > 12 else v) or "empty" if isinstance(v, str) else None,
)
def test_tag_pattern_is_the_docker_tag_grammar(tag: str, valid: bool) -> None:
    assert bool(_pattern("tag").fullmatch(tag)) is valid


def _full_example() -> dict[str, Any]:
    body = crd.original_example(name="full")
    body["spec"].update(
        imageRepo="127.0.0.1:5000/team/app",
        tag="env-prod",
        versionSyntax="v[0-9]+\\.[0-9]+",
        container={"name": "app", "verify": [{**IMAGE, "tag": "stable", "annotations": {"a": "b"}}]},
        strategy={
            "kind": "ServiceBlueGreen",
            "blueGreen": {**BLUE_GREEN, "verificationServiceName": "web-test", "scaleDown": True},
            "verify": [{**HTTP, "expectStatus": 204, "timeoutSeconds": 30}],
        },
        pollIntervalSeconds=5,
        livenessSeconds=10,
        timeoutSeconds=60,
        history={"enabled": False, "maxEntries": 1000},
        rollback={"enabled": True},
        serviceAccountName="syncer",
    )
    return body


@pytest.mark.parametrize("body", [crd.original_example(), _full_example()], ids=["original-example", "every-field"])
def test_sample_kcds_validate_against_the_openapi_schema(body: dict[str, Any]) -> None:
    jsonschema.validate(body, crd.kcd_schema())


def _helm_template(*values: str) -> list[dict[str, Any]]:
    sets = [arg for value in values for arg in ("--set", value)]
    done = subprocess.run(
        [str(HELM), "template", "r", str(CHART), *sets], check=True, capture_output=True, text=True, timeout=120
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _crds(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == "CustomResourceDefinition"]


@pytest.mark.chart
def test_chart_renders_the_same_crd_the_tests_install_and_keeps_it_by_default() -> None:
    (rendered,) = _crds(_helm_template())
    assert rendered["spec"] == crd.crd_manifest()["spec"]
    assert rendered["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert rendered["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


@pytest.mark.chart
@pytest.mark.parametrize(
    ("values", "crds", "annotations"),
    [(("crds.install=false",), 0, None), (("crds.keep=false",), 1, None)],
    ids=["install-false-renders-no-crd", "keep-false-drops-the-keep-policy"],
)
def test_chart_crd_values_switch_the_crd_and_its_keep_policy(
    values: tuple[str, ...], crds: int, annotations: dict[str, str] | None
) -> None:
    rendered = _crds(_helm_template(*values))
    assert len(rendered) == crds
    assert all(r["metadata"].get("annotations") == annotations for r in rendered)


# --- on the API server -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kcds(kube_api: Any) -> Any:
    """CustomObjectsApi with the CRD installed (once per module)."""
    from kubernetes import client

    crd.install(kube_api)
    return client.CustomObjectsApi(kube_api)


@pytest.fixture(scope="module")
def ns(kube_api: Any, kcds: Any) -> Iterator[str]:
    from kubernetes import client

    name = f"crd-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def _create(kcds: Any, body: dict[str, Any]) -> dict[str, Any]:
    namespace = body["metadata"]["namespace"]
    created: dict[str, Any] = kcds.create_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", body)
    return created


@pytest.mark.cluster
@pytest.mark.parametrize(("change", "field"), [(c, f) for _, c, f in INVALID], ids=[i for i, _, _ in INVALID])
def test_api_server_rejects_an_invalid_kcd_naming_the_field(kcds: Any, ns: str, change: Change, field: str) -> None:
    from kubernetes.client.rest import ApiException

    with pytest.raises(ApiException) as caught:
        _create(kcds, _example_with(change, name=f"bad-{uuid.uuid4().hex[:6]}", namespace=ns))
    assert caught.value.status == 422
    message = json.loads(caught.value.body)["message"]
    assert re.search(re.escape(field) + r"(?!\w)", message), message


@pytest.mark.cluster
def test_original_example_with_only_the_api_version_changed_is_accepted_with_defaults(kcds: Any, ns: str) -> None:
    created = _create(kcds, crd.original_example(name="kcdkcd", namespace=ns))
    spec = created["spec"]
    assert spec == {
        **crd.original_example()["spec"],
        "versionSyntax": "[0-9a-f]{5,40}",
        "livenessSeconds": 300,
        "timeoutSeconds": 900,
        "strategy": {"kind": "Simple"},
        "history": {"enabled": True, "maxEntries": 50},
        "rollback": {"enabled": False},
    }
    assert model.KCD.from_body(created).spec == model.KCD.from_body(crd.original_example()).spec


@pytest.mark.cluster
def test_full_kcd_using_every_field_is_accepted(kcds: Any, ns: str) -> None:
    body = _full_example()
    body["metadata"]["namespace"] = ns
    created = _create(kcds, body)
    assert created["spec"]["container"]["verify"][0]["timeoutSeconds"] == 300
    assert model.KCD.from_body(created).spec.strategy.blue_green == model.BlueGreen(
        "web", ("colour",), verification_service_name="web-test", scale_down=True
    )


def _status() -> model.Status:
    now = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
    ready = model.condition(model.ConditionType.READY, False, model.Reason.ROLLOUT_STARTED, "v2", generation=1, now=now)
    rollout = model.RolloutState(version="abc1234", phase=model.Phase.WAITING, started_at=model.format_time(now))
    return model.Status(
        curr_version="abc1234",
        curr_status=model.CurrStatus.PROGRESSING,
        curr_status_time=model.format_time(now),
        observed_generation=1,
        conditions=(ready,),
        failed_versions=("bad0001",),
        rollout=rollout,
    )


@pytest.mark.cluster
def test_status_patch_sets_status_and_leaves_spec_alone(kcds: Any, ns: str) -> None:
    created = _create(kcds, crd.original_example(name="status-only", namespace=ns))
    patch = {"spec": {"tag": "changed"}, "status": _status().to_dict()}
    patched = kcds.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", "status-only", patch)
    assert patched["spec"] == created["spec"]
    assert patched["metadata"]["generation"] == created["metadata"]["generation"]
    assert model.Status.from_dict(patched["status"]) == _status()


@pytest.mark.cluster
def test_spec_patch_changes_spec_and_leaves_status_alone(kcds: Any, ns: str) -> None:
    _create(kcds, crd.original_example(name="spec-only", namespace=ns))
    kcds.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", "spec-only", {"status": _status().to_dict()})
    patch = {"spec": {"tag": "env-prod"}, "status": {"currVersion": "other"}}
    patched = kcds.patch_namespaced_custom_object("kcd.io", "v1", ns, "kcds", "spec-only", patch)
    assert patched["spec"]["tag"] == "env-prod"
    assert patched["metadata"]["generation"] == 2
    assert model.Status.from_dict(patched["status"]) == _status()


@pytest.mark.cluster
def test_empty_status_patch_from_the_model_clears_the_previous_status(kcds: Any, ns: str) -> None:
    _create(kcds, crd.original_example(name="cleared", namespace=ns))
    kcds.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", "cleared", {"status": _status().to_dict()})
    cleared = kcds.patch_namespaced_custom_object_status(
        "kcd.io", "v1", ns, "kcds", "cleared", {"status": model.Status().to_dict()}
    )
    assert model.Status.from_dict(cleared.get("status")) == model.Status()


@pytest.mark.cluster
def test_status_patch_with_an_unknown_current_status_is_rejected(kcds: Any, ns: str) -> None:
    from kubernetes.client.rest import ApiException

    _create(kcds, crd.original_example(name="bad-status", namespace=ns))
    with pytest.raises(ApiException) as caught:
        kcds.patch_namespaced_custom_object_status(
            "kcd.io", "v1", ns, "kcds", "bad-status", {"status": {"currStatus": "Whatever"}}
        )
    assert caught.value.status == 422 and "status.currStatus" in json.loads(caught.value.body)["message"]


@pytest.mark.cluster
def test_kubectl_get_columns_show_image_tag_version_status_live_and_age(kube_api: Any, kcds: Any, ns: str) -> None:
    body = crd.original_example(name="columns", namespace=ns)
    _create(kcds, body)
    status = copy.deepcopy(_status().to_dict())
    status.update(currStatus="Success", successVersion="abc1234")
    kcds.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", "columns", {"status": status})
    response = kube_api.call_api(
        f"/apis/kcd.io/v1/namespaces/{ns}/kcds/columns",
        "GET",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        auth_settings=["BearerToken"],
        _preload_content=False,
    )
    table = json.loads(response.data)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Image", "Tag", "Version", "Status", "Live", "Age"]
    assert table["rows"][0]["cells"][:6] == ["columns", "nearmap/kcd", "latest", "abc1234", "Success", "abc1234"]
