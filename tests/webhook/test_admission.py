"""The API server calls the webhook: `kcd webhook` on 127.0.0.1, registered by the chart's own
MutatingWebhookConfiguration (with `webhook.url`), running as the chart's webhook ServiceAccount."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests import crd
from tests.controller.fixtures import create, kcd_body, workload
from tests.env.cluster import Cluster
from tests.env.procs import wait_until
from tests.webhook import release
from tests.webhook.release import Webhook

pytestmark = [pytest.mark.cluster, pytest.mark.chart]
OPT_IN = {"labels": {"kcd.io/inject": "true"}, "annotations": {"kcd.io/kcd": "app"}}


def _namespace(api: Any) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture(scope="module")
def webhook(cluster: Cluster, kube_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    crd.install(kube_api)
    namespace = _namespace(kube_api)
    hook = release.install(cluster, kube_api, namespace, tmp_path_factory.mktemp("webhook"))
    yield hook
    hook.procs.stop()
    admission = client.AdmissionregistrationV1Api(kube_api)
    admission.delete_mutating_webhook_configuration(hook.configuration["metadata"]["name"])
    rbac = client.RbacAuthorizationV1Api(kube_api)
    rbac.delete_cluster_role_binding("kcd-webhook-owners")
    rbac.delete_cluster_role("kcd-webhook-owners")
    client.CoreV1Api(kube_api).delete_namespace(namespace)


@pytest.fixture
def apps(kube_api: Any, webhook: Webhook) -> Iterator[str]:
    name = _namespace(kube_api)
    yield name
    client.CoreV1Api(kube_api).delete_namespace(name)


def opted_in(body: dict[str, Any]) -> dict[str, Any]:
    template = (
        body["spec"]["jobTemplate"]["spec"]["template"] if body["kind"] == "CronJob" else body["spec"]["template"]
    )
    template["metadata"]["labels"].update(OPT_IN["labels"])
    template["metadata"]["annotations"] = dict(OPT_IN["annotations"])
    return body


def bare_pod(name: str, *, labelled: bool, owner: tuple[str, str] | None = ("StatefulSet", "probe")) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app": name}, "annotations": dict(OPT_IN["annotations"])}
    if labelled:
        meta["labels"].update(OPT_IN["labels"])
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": str(uuid.uuid4()), "controller": True}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "app", "image": "a"}]},
    }


def syncer_of(pod: Any) -> dict[str, Any] | None:
    for c in pod.spec.init_containers or ():
        if c.name == "kcd-syncer":
            return {
                "restartPolicy": c.restart_policy,
                "image": c.image,
                "env": {e.name: e.value for e in c.env},
                "failureThreshold": c.liveness_probe.failure_threshold,
            }
    return None


def dry_run_injects(api: Any, namespace: str) -> bool:
    pod = client.CoreV1Api(api).create_namespaced_pod(
        namespace, bare_pod(f"probe-{uuid.uuid4().hex[:6]}", labelled=True), dry_run="All"
    )
    return syncer_of(pod) is not None


def wait_serving(api: Any, namespace: str) -> None:
    """The API server picks a new MutatingWebhookConfiguration up within a second: wait for a dry-run to show it."""
    wait_until(lambda: dry_run_injects(api, namespace), what="the API server calling the webhook", timeout=30)


def pods_of(api: Any, namespace: str, app: str) -> list[Any]:
    return list(client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items)


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_a_labelled_pod_of_each_workload_kind_gets_the_syncer_for_its_workload(
    kube_api: Any, webhook: Webhook, apps: str, kind: str
) -> None:
    wait_serving(kube_api, apps)
    create(kube_api, apps, kcd_body("app", livenessSeconds=120))
    name = f"web-{kind.lower()}"
    create(kube_api, apps, opted_in(workload(kind, name, replicas=1)))
    wait_until(lambda: bool(pods_of(kube_api, apps, name)), what=f"a pod of {kind} {name}", timeout=60)
    pod = pods_of(kube_api, apps, name)[0]
    syncer = syncer_of(pod)
    assert syncer is not None, pod.spec
    assert syncer["restartPolicy"] == "Always"
    assert syncer["env"]["KCD_WORKLOAD_KIND"] == kind
    assert syncer["env"]["KCD_WORKLOAD_NAME"] == name
    assert syncer["env"]["KCD_NAME"] == "app"
    assert syncer["image"] == "127.0.0.1:5000/kcd:2.0.0"  # data.version of the chart's kcd-version ConfigMap
    assert syncer["failureThreshold"] == 12  # the KCD's livenessSeconds 120 over the probe's 10 s period
    assert [c.name for c in pod.spec.containers] == ["app"]
    assert "Forbidden" not in webhook.proc.log.read_text()  # the chart's webhook RBAC was enough


def test_an_unlabelled_pod_is_never_sent_to_the_webhook(kube_api: Any, webhook: Webhook, apps: str) -> None:
    wait_serving(kube_api, apps)
    before = webhook.requests()
    plain = client.CoreV1Api(kube_api).create_namespaced_pod(apps, bare_pod("plain", labelled=False))
    assert syncer_of(plain) is None
    assert dry_run_injects(kube_api, apps)  # a labelled pod after it is sent, and logged
    wait_until(lambda: webhook.requests() > before, what="the labelled pod's request in the log", timeout=10)
    assert webhook.requests() == before + 1


def test_pods_in_the_release_namespace_are_never_sent(kube_api: Any, webhook: Webhook, apps: str) -> None:
    wait_serving(kube_api, apps)
    before = webhook.requests()
    own = client.CoreV1Api(kube_api).create_namespaced_pod(webhook.namespace, bare_pod("own", labelled=True))
    assert syncer_of(own) is None
    assert dry_run_injects(kube_api, apps)
    wait_until(lambda: webhook.requests() > before, what="the labelled pod's request in the log", timeout=10)
    assert webhook.requests() == before + 1


def test_a_pod_is_admitted_without_the_syncer_while_the_webhook_is_down(
    kube_api: Any, webhook: Webhook, apps: str
) -> None:
    wait_serving(kube_api, apps)
    webhook.proc.stop()
    try:
        pod = client.CoreV1Api(kube_api).create_namespaced_pod(apps, bare_pod("while-down", labelled=True))
        assert pod.metadata.uid
        assert syncer_of(pod) is None
    finally:
        webhook.restart()
