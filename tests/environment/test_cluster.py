"""The local control plane really reconciles: kcm + scheduler + kwok turn objects into ready pods and endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster


def _deployment(
    name: str,
    replicas: int,
    *,
    image: str = "127.0.0.1:5000/team/app:abc1234",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": 10,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]},
            },
        },
    }


def test_deployment_of_three_replicas_reaches_three_ready_replicas(kube_api: Any, namespace: str) -> None:
    apps = client.AppsV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, _deployment("web", 3))

    def ready() -> bool:
        status = apps.read_namespaced_deployment_status("web", namespace).status
        return status.ready_replicas == 3 and status.available_replicas == 3

    wait_until(ready, what="3 ready replicas", timeout=60)
    pods = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="app=web").items
    assert sorted(p.status.phase for p in pods) == ["Running"] * 3
    assert all(p.spec.node_name.startswith("kwok-node-") for p in pods)


def test_image_change_replaces_pods_and_old_pods_go_away(kube_api: Any, namespace: str) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, _deployment("roll", 2))
    wait_until(
        lambda: apps.read_namespaced_deployment_status("roll", namespace).status.ready_replicas == 2,
        what="first version ready",
        timeout=60,
    )
    new_image = "127.0.0.1:5000/team/app:def5678"
    apps.patch_namespaced_deployment(
        "roll", namespace, {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": new_image}]}}}}
    )

    def rolled() -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector="app=roll").items
        return len(pods) == 2 and all(
            p.spec.containers[0].image == new_image and p.status.phase == "Running" for p in pods
        )

    wait_until(rolled, what="pods replaced by the new image and the old ones deleted", timeout=60)


def test_service_gets_endpoint_slices_with_ready_endpoints(kube_api: Any, namespace: str) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, _deployment("svc", 2))
    core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "svc"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    discovery = client.DiscoveryV1Api(kube_api)

    def ready_endpoints() -> int:
        slices = discovery.list_namespaced_endpoint_slice(namespace, label_selector="kubernetes.io/service-name=svc")
        return sum(1 for s in slices.items for e in (s.endpoints or []) if e.conditions.ready)

    wait_until(lambda: ready_endpoints() == 2, what="2 ready endpoints", timeout=60)


def test_job_runs_to_completion(kube_api: Any, namespace: str) -> None:
    batch = client.BatchV1Api(kube_api)
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "once"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "run", "image": "127.0.0.1:5000/tools/verify:1"}],
                    }
                },
            },
        },
    )
    wait_until(
        lambda: batch.read_namespaced_job_status("once", namespace).status.succeeded == 1,
        what="job succeeded",
        timeout=60,
    )


def test_pods_marked_never_ready_keep_a_deployment_from_progressing(kube_api: Any, namespace: str) -> None:
    apps = client.AppsV1Api(kube_api)
    apps.create_namespaced_deployment(
        namespace, _deployment("stuck", 1, image="127.0.0.1:5000/team/app:fault-never-ready")
    )

    def deadline_exceeded() -> bool:
        conditions = apps.read_namespaced_deployment_status("stuck", namespace).status.conditions or []
        return any(c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded" for c in conditions)

    wait_until(deadline_exceeded, what="ProgressDeadlineExceeded", timeout=60)
    pod = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="app=stuck").items[0]
    assert pod.status.phase == "Running"
    assert not pod.status.container_statuses[0].ready


def test_pods_annotated_to_crash_report_crash_loop_back_off(kube_api: Any, namespace: str) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, _deployment("crash", 1, annotations={"kcd-test.io/fault": "crash"}))

    def crashing() -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector="app=crash").items
        statuses = pods[0].status.container_statuses if pods else None
        return bool(statuses) and statuses[0].state.waiting.reason == "CrashLoopBackOff"

    wait_until(crashing, what="CrashLoopBackOff", timeout=60)


def test_a_job_whose_pod_fails_is_marked_failed(kube_api: Any, namespace: str) -> None:
    batch = client.BatchV1Api(kube_api)
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "bad"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"annotations": {"kcd-test.io/fault": "fail"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "127.0.0.1:5000/x:1"}]},
                },
            },
        },
    )

    def failed() -> bool:
        conditions = batch.read_namespaced_job_status("bad", namespace).status.conditions or []
        return any(c.type == "Failed" and c.status == "True" for c in conditions)

    wait_until(failed, what="job Failed", timeout=60)
