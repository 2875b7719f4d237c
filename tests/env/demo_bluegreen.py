"""The demo's second sample app, `shop`, on blue-green: two Deployments (shop-blue, shop-green), the live Service
`shop` and the preview Service `shop-preview`. Every release the controller sets up the idle colour, points the
preview Service at it, switches `shop` only when the new pods are ready endpoints, and scales the old colour down.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

NS, APP = "demo", "shop"


def _deployment(colour: str, image: str, replicas: int) -> dict[str, Any]:
    pods = {"app": APP, "colour": colour}
    return {
        "metadata": {"name": f"{APP}-{colour}", "labels": {"kcdapp": APP}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": pods},
            "template": {"metadata": {"labels": pods}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


def resources(api: Any, image: str, repo: str, tag: str) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NS, _deployment("blue", image, 2))
    apps.create_namespaced_deployment(NS, _deployment("green", image, 0))
    for name in (APP, f"{APP}-preview"):
        spec = {"selector": {"app": APP, "colour": "blue"}, "ports": [{"port": 80}]}
        core.create_namespaced_service(NS, {"metadata": {"name": name}, "spec": spec})
    strategy = {
        "kind": "ServiceBlueGreen",
        "blueGreen": {
            "serviceName": APP,
            "verificationServiceName": f"{APP}-preview",
            "labelNames": ["colour"],
            "scaleDown": True,
        },
    }
    body = {
        "apiVersion": "kcd.io/v1",
        "kind": "KCD",
        "metadata": {"name": APP},
        "spec": {
            "imageRepo": repo,
            "tag": tag,
            "selector": {"kcdapp": APP},
            "container": {"name": "app"},
            "pollIntervalSeconds": 5,
            "strategy": strategy,
        },
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object("kcd.io", "v1", NS, "kcds", body)


def syncer_env(base: dict[str, str], port: int) -> dict[str, str]:
    """The shop's syncer: it follows the same tag and annotates shop-blue (either colour would do)."""
    return {
        **base,
        "KCD_NAME": APP,
        "KCD_WORKLOAD_NAME": f"{APP}-blue",
        "POD_NAME": "shop-syncer",
        "KCD_SYNCER_PORT": str(port),
    }


def line(api: Any) -> str:
    """One line on the shop: its KCD's state and which colour each Service selects."""
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object("kcd.io", "v1", NS, "kcds", APP)
    status = obj.get("status") or {}
    phase = (status.get("rollout") or {}).get("phase", "")
    core = client.CoreV1Api(api)
    live = core.read_namespaced_service(APP, NS).spec.selector.get("colour")
    preview = core.read_namespaced_service(f"{APP}-preview", NS).spec.selector.get("colour")
    return (
        f"kcd {NS}/{APP} (blue-green): {status.get('currStatus')} version={status.get('currVersion')} "
        f"live={status.get('successVersion')} {phase} - Service {APP} -> {live}, {APP}-preview -> {preview}"
    )
