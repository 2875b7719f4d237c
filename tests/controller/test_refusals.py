"""Writes the cluster refuses, and a StatefulSet that keeps a broken pod: each rollout still reaches an end.

Defects 6 and 7 of the issue "The rollout engine, hardened": a patch denied by an admission policy used to show only as
a timeout (and was retried every 2 s), an immutable config ConfigMap left the KCD stuck in Recording, and a StatefulSet
under OrderedReady never rolled back while its broken pod stood.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import (
    REPO,
    VERSION_SYNTAX,
    announce,
    create,
    event_reasons,
    history,
    image_of,
    kcd_body,
    kcd_status,
    wait_status,
    workload,
)
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster


@pytest.fixture
def deny_policy(kube_api: Any, namespace: str) -> Iterator[None]:
    """A ValidatingAdmissionPolicy (the API server's own CEL admission) refusing images tagged `denied-*`."""
    adm = client.AdmissionregistrationV1Api(kube_api)
    name = f"deny-{namespace}"
    adm.create_validating_admission_policy(
        {
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["apps"],
                            "apiVersions": ["v1"],
                            "operations": ["UPDATE"],
                            "resources": ["deployments"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.template.spec.containers.all(c, !c.image.contains(':denied-'))",
                        "message": "images tagged denied-* are not allowed here",
                    }
                ],
            },
        }
    )
    adm.create_validating_admission_policy_binding(
        {
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
            },
        }
    )
    yield
    adm.delete_validating_admission_policy_binding(name)
    adm.delete_validating_admission_policy(name)


def _wait_until_enforced(api: Any, namespace: str, name: str) -> None:
    """The API server loads new admission policies asynchronously: wait until a dry-run of a denied image is refused."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{REPO}:denied-probe"}]}}}}

    def refused() -> bool:
        try:
            client.AppsV1Api(api).patch_namespaced_deployment(name, namespace, patch, dry_run="All")
        except client.exceptions.ApiException as err:
            return "not allowed here" in str(err.body)
        return False

    wait_until(refused, what="the admission policy enforced", timeout=30)


def test_a_patch_denied_by_admission_fails_the_rollout_with_the_policys_message_at_once(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, deny_policy: None
) -> None:
    create(kube_api, namespace, workload("Deployment", "denied"))
    _wait_until_enforced(kube_api, namespace, "denied")
    create(kube_api, namespace, kcd_body("denied", versionSyntax=VERSION_SYNTAX, timeoutSeconds=900))
    announce(kube_api, namespace, "Deployment", "denied", "ok-1", when="2026-11-26T12:00:00Z")
    wait_status(kube_api, namespace, "denied", currStatus="Success", successVersion="ok-1")

    def refused() -> bool:
        status = kcd_status(kube_api, namespace, "denied")
        return status.get("currStatus") == "Failed" and status.get("currVersion") == "denied-2"

    announce(kube_api, namespace, "Deployment", "denied", "denied-2", when="2026-11-26T12:01:00Z")
    # Well within the 900 s timeout the rollout must have failed with the policy's words (not retried every 2 s).
    wait_until(refused, what="the denied rollout failed", timeout=60)
    assert "denied-2" in kcd_status(kube_api, namespace, "denied")["failedVersions"]
    [failed, _ok] = history(kube_api, namespace, "denied")
    assert failed["outcome"] == "Failed" and "images tagged denied-* are not allowed here" in failed["reason"]
    assert image_of(kube_api, namespace, "Deployment", "denied") == f"{REPO}:ok-1"
    patches = len(controller.image_patches(f"{namespace}/denied"))
    assert patches == 1  # only ok-1 got through


def test_an_immutable_config_configmap_is_reported_and_the_rollout_still_ends(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    client.CoreV1Api(kube_api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "frozen"}, "data": {"app": "old"}, "immutable": True}
    )
    create(kube_api, namespace, workload("Deployment", "cfg"))
    create(kube_api, namespace, kcd_body("cfg", versionSyntax=VERSION_SYNTAX, config={"name": "frozen", "key": "app"}))
    announce(kube_api, namespace, "Deployment", "cfg", "v-9")
    wait_status(kube_api, namespace, "cfg", timeout=60, currStatus="Success", successVersion="v-9", rollout=None)
    wait_until(lambda: "ConfigUpdateFailed" in event_reasons(kube_api, namespace, "cfg"), what="a warning", timeout=15)
    assert event_reasons(kube_api, namespace, "cfg").count("ConfigUpdateFailed") == 1


def test_rolling_back_a_statefulset_deletes_its_pod_stuck_on_the_failed_revision(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("StatefulSet", "db", replicas=2))
    create(
        kube_api, namespace, kcd_body("db", versionSyntax=VERSION_SYNTAX, timeoutSeconds=15, rollback={"enabled": True})
    )
    announce(kube_api, namespace, "StatefulSet", "db", "good-1", when="2026-11-26T12:00:00Z")
    wait_status(kube_api, namespace, "db", timeout=60, currStatus="Success", successVersion="good-1")
    announce(kube_api, namespace, "StatefulSet", "db", "bad-fault-never-ready", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "db", timeout=120, currStatus="Failed", currVersion="bad-fault-never-ready")
    assert image_of(kube_api, namespace, "StatefulSet", "db") == f"{REPO}:good-1"
    assert any(ln.get("msg") == "stuck pods deleted" for ln in controller.lines())

    def pods_good() -> bool:
        pods = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="app=db").items
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        return len(live) == 2 and all(p.spec.containers[0].image == f"{REPO}:good-1" for p in live)

    wait_until(pods_good, what="both pods back on good-1", timeout=60)
