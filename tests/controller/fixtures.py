"""Bodies and waits shared by the controller's cluster tests."""

from __future__ import annotations

import hashlib
from typing import Any

from kubernetes import client

from tests.env.procs import wait_until

REPO = "127.0.0.1:5000/team/app"
VERSION_SYNTAX = "[a-z0-9-]+"  # versions the tests name in words ("good-1", "bad-fault-never-ready")


def pod_template(image: str, labels: dict[str, str], container: str = "app") -> dict[str, Any]:
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": container, "image": image}]}}


def workload(
    kind: str,
    name: str,
    *,
    image: str = f"{REPO}:aaaaa11",
    replicas: int = 2,
    container: str = "app",
    selector_labels: dict[str, str] | None = None,
    deadline: int = 600,
) -> dict[str, Any]:
    """A workload whose own metadata carries the KCD selector label; its pods carry only `app: <name>`."""
    pods = {"app": name}
    meta = {"name": name, "labels": selector_labels if selector_labels is not None else {"kcdapp": name}}
    template = pod_template(image, pods, container)
    if kind == "Deployment":
        spec: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": pods},
            "template": template,
            "progressDeadlineSeconds": deadline,
        }
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "StatefulSet":
        spec = {"replicas": replicas, "selector": {"matchLabels": pods}, "template": template, "serviceName": name}
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "DaemonSet":
        return {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": meta,
            "spec": {"selector": {"matchLabels": pods}, "template": template},
        }
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {"schedule": "*/30 * * * *", "jobTemplate": {"spec": {"template": template}}},
    }


def kcd_body(name: str, *, selector: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kcd.io/v1",
        "kind": "KCD",
        "metadata": {"name": name},
        "spec": {
            "imageRepo": REPO,
            "tag": "env-prod",
            "selector": selector or {"kcdapp": name},
            "container": {"name": "app"},
            **spec,
        },
    }


def create(api: Any, namespace: str, body: dict[str, Any]) -> None:
    kind = body["kind"]
    if kind == "KCD":
        client.CustomObjectsApi(api).create_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", body)
    elif kind == "CronJob":
        client.BatchV1Api(api).create_namespaced_cron_job(namespace, body)
    else:
        getattr(client.AppsV1Api(api), f"create_namespaced_{_snake(kind)}")(namespace, body)


def _snake(kind: str) -> str:
    return {"Deployment": "deployment", "StatefulSet": "stateful_set", "DaemonSet": "daemon_set"}[kind]


def read_workload(api: Any, namespace: str, kind: str, name: str) -> Any:
    if kind == "CronJob":
        return client.BatchV1Api(api).read_namespaced_cron_job(name, namespace)
    return getattr(client.AppsV1Api(api), f"read_namespaced_{_snake(kind)}")(name, namespace)


def image_of(api: Any, namespace: str, kind: str, name: str) -> str:
    obj = read_workload(api, namespace, kind, name)
    spec = obj.spec.job_template.spec.template.spec if kind == "CronJob" else obj.spec.template.spec
    return str(spec.containers[0].image)


def announce(
    api: Any,
    namespace: str,
    kind: str,
    name: str,
    version: str,
    when: str = "2026-11-26T12:00:00Z",
    source: str = f"{REPO}:env-prod",
) -> None:
    """What the syncer does: annotate the workload itself with the candidate (a digest of its own per version)."""
    patch = {
        "metadata": {
            "annotations": {
                "kcd.io/candidate-version": version,
                "kcd.io/candidate-time": when,
                "kcd.io/candidate-digest": "sha256:" + hashlib.sha256(version.encode()).hexdigest(),
                "kcd.io/candidate-source": source,
            }
        }
    }
    if kind == "CronJob":
        client.BatchV1Api(api).patch_namespaced_cron_job(name, namespace, patch)
    else:
        getattr(client.AppsV1Api(api), f"patch_namespaced_{_snake(kind)}")(name, namespace, patch)


def kcd_status(api: Any, namespace: str, name: str) -> dict[str, Any]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", name)
    return dict(obj.get("status") or {})


def set_status(api: Any, namespace: str, name: str, status: dict[str, Any]) -> None:
    """Merge `status` into the KCD's status subresource (what the controller, or `kcd rollout clear`, writes)."""
    client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        "kcd.io", "v1", namespace, "kcds", name, {"status": status}
    )


def wait_status(api: Any, namespace: str, name: str, *, timeout: float = 60, **want: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def check() -> bool:
        seen.clear()
        seen.update(kcd_status(api, namespace, name))
        return all(seen.get(k) == v for k, v in want.items())

    try:
        wait_until(check, what=f"KCD {namespace}/{name} status {want}", timeout=timeout)
    except Exception as err:
        raise AssertionError(f"{err}; last status: {seen}") from None
    return dict(seen)


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


def event_reasons(api: Any, namespace: str, name: str) -> list[str]:
    selector = f"involvedObject.name={name},involvedObject.kind=KCD"
    items = client.CoreV1Api(api).list_namespaced_event(namespace, field_selector=selector).items
    return [e.reason for e in sorted(items, key=lambda e: int(e.metadata.resource_version))]


def history(api: Any, namespace: str, workload_name: str) -> list[dict[str, Any]]:
    import json

    try:
        cm = client.CoreV1Api(api).read_namespaced_config_map(f"{workload_name}.history", namespace)
    except client.exceptions.ApiException as err:
        if err.status == 404:
            return []
        raise
    return list(json.loads((cm.data or {}).get("history") or "[]"))


def verification_jobs(api: Any, namespace: str) -> list[Any]:
    """The verification Jobs kcd created in `namespace` (kcd.engine.verify labels them)."""
    return list(client.BatchV1Api(api).list_namespaced_job(namespace, label_selector="kcd.io/verify-for").items)
