"""Write actions: off by default; when enabled, a caller's own token and rights decide, and each change is audited."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.api.conftest import StartApi
from tests.controller.fixtures import create, kcd_body, kcd_status, set_status, workload

pytestmark = pytest.mark.cluster


def service_account(api: Any, namespace: str, name: str, *, may_patch: bool) -> str:
    """A TokenRequest token of ServiceAccount `name`; with `may_patch`, a Role lets it patch KCDs and their status."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    if may_patch:
        rule = {"apiGroups": ["kcd.io"], "resources": ["kcds", "kcds/status"], "verbs": ["get", "patch"]}
        rbac.create_namespaced_role(namespace, {"metadata": {"name": name}, "rules": [rule]})
        subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        rbac.create_namespaced_role_binding(
            namespace, {"metadata": {"name": name}, "roleRef": ref, "subjects": [subject]}
        )
    request = core.create_namespaced_service_account_token(name, namespace, {"spec": {"expirationSeconds": 3600}})
    return str(request.status.token)


def annotations(api: Any, namespace: str, name: str = "web") -> dict[str, str]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", name)
    return dict(obj["metadata"].get("annotations") or {})


def audit_messages(api: Any, namespace: str, name: str = "web") -> list[str]:
    selector = f"involvedObject.name={name},involvedObject.kind=KCD,reason=ManualAction"
    return [e.message for e in client.CoreV1Api(api).list_namespaced_event(namespace, field_selector=selector).items]


@pytest.fixture
def kcd(kube_api: Any, namespace: str, rest_client: Any) -> str:
    """A Deployment and its KCD `web` (rest_client: the CRD is installed)."""
    create(kube_api, namespace, workload("Deployment", "web", replicas=0))
    create(kube_api, namespace, kcd_body("web"))
    return "web"


def post(app: Any, path: str, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return app.test_client().post(path, json=body if body is not None else {}, headers=headers)


def test_write_actions_are_refused_when_not_enabled(
    kube_api: Any, namespace: str, kcd: str, start_api: StartApi
) -> None:
    token = service_account(kube_api, namespace, "operator", may_patch=True)
    app, _store = start_api(namespace=namespace)

    resp = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/pause", token)

    assert resp.status_code == 404
    assert "disabled" in resp.json["error"]
    assert "kcd.io/paused" not in annotations(kube_api, namespace)
    assert audit_messages(kube_api, namespace) == []


def test_a_caller_allowed_to_patch_the_kcd_pauses_and_resumes_it_and_is_named_in_the_audit_event(
    kube_api: Any, namespace: str, kcd: str, start_api: StartApi
) -> None:
    token = service_account(kube_api, namespace, "operator", may_patch=True)
    app, _store = start_api(namespace=namespace, writes=True)
    user = f"system:serviceaccount:{namespace}:operator"

    paused = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/pause", token)
    was_paused = annotations(kube_api, namespace).get("kcd.io/paused")
    resumed = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/resume", token)

    assert (paused.status_code, paused.json["by"]) == (200, user)
    assert was_paused == "true"
    assert resumed.status_code == 200
    assert "kcd.io/paused" not in annotations(kube_api, namespace)
    assert sorted(audit_messages(kube_api, namespace)) == [
        f"{user} asked to pause: kcd {namespace}/web paused",
        f"{user} asked to resume: kcd {namespace}/web resumed",
    ]


def test_an_allowed_caller_rolls_back_to_a_version_and_clears_a_quarantine(
    kube_api: Any, namespace: str, kcd: str, start_api: StartApi
) -> None:
    token = service_account(kube_api, namespace, "operator", may_patch=True)
    set_status(kube_api, namespace, kcd, {"successVersion": "bbbbb22", "failedVersions": ["ccccc33"]})
    app, _store = start_api(namespace=namespace, writes=True)
    user = f"system:serviceaccount:{namespace}:operator"

    rolled = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/rollback", token, {"version": "aaaaa11"})
    cleared = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/clear", token, {"version": "ccccc33"})

    assert rolled.status_code == 200, rolled.json
    notes = annotations(kube_api, namespace)
    assert (notes["kcd.io/rollback-to"], notes["kcd.io/rollback-by"]) == ("aaaaa11", user)
    assert cleared.status_code == 200, cleared.json
    assert kcd_status(kube_api, namespace, kcd)["failedVersions"] == []
    messages = audit_messages(kube_api, namespace)
    assert any(m.startswith(f"{user} asked to rollback aaaaa11: rollback of web to aaaaa11") for m in messages)
    assert any(m.startswith(f"{user} asked to clear ccccc33: cleared quarantined ccccc33") for m in messages)


def test_a_caller_without_the_right_to_patch_the_kcd_is_forbidden(
    kube_api: Any, namespace: str, kcd: str, start_api: StartApi
) -> None:
    token = service_account(kube_api, namespace, "viewer", may_patch=False)
    app, _store = start_api(namespace=namespace, writes=True)

    resp = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/pause", token)

    assert resp.status_code == 403
    assert f"system:serviceaccount:{namespace}:viewer may not patch kcds" in resp.json["error"]
    assert "kcd.io/paused" not in annotations(kube_api, namespace)
    assert audit_messages(kube_api, namespace) == []


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no token", "bad token"])
def test_a_request_without_a_valid_token_is_unauthorized(
    token: str | None, kube_api: Any, namespace: str, kcd: str, start_api: StartApi
) -> None:
    app, _store = start_api(namespace=namespace, writes=True)

    resp = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/pause", token)

    assert resp.status_code == 401
    assert resp.json["error"]
    assert "kcd.io/paused" not in annotations(kube_api, namespace)
    assert audit_messages(kube_api, namespace) == []


def test_a_rollback_to_something_that_is_not_a_version_is_a_400(
    kube_api: Any, namespace: str, kcd: str, start_api: StartApi
) -> None:
    token = service_account(kube_api, namespace, "operator", may_patch=True)
    app, _store = start_api(namespace=namespace, writes=True)

    resp = post(app, f"/v1/kcd/kcds/{namespace}/{kcd}/rollback", token, {"version": "not a version!"})

    assert resp.status_code == 400
    assert "kcd.io/rollback-to" not in annotations(kube_api, namespace)
