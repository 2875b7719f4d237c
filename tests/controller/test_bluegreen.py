"""ServiceBlueGreen on the local control plane: the switch waits for ready endpoints, traffic never goes nowhere."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import REPO, announce, condition, create, history, image_of, kcd_status, wait_status
from tests.env.kubeready import ready_endpoints
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster


def colour(name: str, value: str, *, replicas: int, image: str = f"{REPO}:aaaaa11") -> dict[str, Any]:
    pods = {"app": "web", "colour": value}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"kcdapp": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": pods},
            "template": {"metadata": {"labels": pods}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


def service(api: Any, namespace: str, name: str, value: str) -> None:
    body = {"metadata": {"name": name}, "spec": {"selector": {"app": "web", "colour": value}, "ports": [{"port": 80}]}}
    client.CoreV1Api(api).create_namespaced_service(namespace, body)


def bg_kcd(**blue_green: Any) -> dict[str, Any]:
    strategy = {"kind": "ServiceBlueGreen", "blueGreen": {"serviceName": "web", "labelNames": ["colour"], **blue_green}}
    return {
        "apiVersion": "kcd.io/v1",
        "kind": "KCD",
        "metadata": {"name": "web"},
        "spec": {
            "imageRepo": REPO,
            "tag": "env-prod",
            "versionSyntax": "[a-z0-9-]+",
            "selector": {"kcdapp": "web"},
            "container": {"name": "app"},
            "timeoutSeconds": 120,
            "strategy": strategy,
        },
    }


class Sampler:
    """Samples the live Service's ready endpoints until stopped (bounded: one sample every 50 ms)."""

    def __init__(self, api: Any, namespace: str, name: str) -> None:
        self.samples: list[list[str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(api, namespace, name), daemon=True)

    def _run(self, api: Any, namespace: str, name: str) -> None:
        while not self.stop.wait(0.05) and len(self.samples) < 20_000:
            self.samples.append(ready_endpoints(api, namespace, name))


def colours(api: Any, namespace: str) -> None:
    """web-blue (2 replicas) live behind `web`, web-green (0) idle; `web-test` the verification Service."""
    create(api, namespace, colour("web-blue", "blue", replicas=2))
    create(api, namespace, colour("web-green", "green", replicas=0))
    service(api, namespace, "web", "blue")
    service(api, namespace, "web-test", "blue")
    wait_until(lambda: len(ready_endpoints(api, namespace, "web")) == 2, what="blue serving", timeout=60)


@pytest.fixture
def setup(kube_api: Any, namespace: str) -> Iterator[None]:
    colours(kube_api, namespace)
    yield


def test_blue_green_switches_to_the_new_colour_only_when_it_is_ready_and_never_empties_the_service(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, setup: None
) -> None:
    create(kube_api, namespace, bg_kcd(verificationServiceName="web-test", scaleDown=True))
    announce(kube_api, namespace, "Deployment", "web-blue", "good-1")
    sampler = Sampler(kube_api, namespace, "web")
    sampler.thread.start()
    try:
        status = wait_status(kube_api, namespace, "web", timeout=120, rollout=None, successVersion="good-1")
    finally:
        sampler.stop.set()
        sampler.thread.join()
    assert status["currStatus"] == "Success" and condition(status, "Ready")["status"] == "True"
    live = client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector
    assert live == {"app": "web", "colour": "green"}
    assert image_of(kube_api, namespace, "Deployment", "web-green") == f"{REPO}:good-1"
    assert image_of(kube_api, namespace, "Deployment", "web-blue") == f"{REPO}:aaaaa11"  # the old colour, kept
    assert [r["version"] for r in history(kube_api, namespace, "web-green")] == ["good-1"]
    assert history(kube_api, namespace, "web-blue") == []
    assert sampler.samples and all(sampler.samples), "the live Service had no ready endpoint at some point"
    assert any(all(p.startswith("web-green-") for p in s) for s in sampler.samples[-3:])
    wait_until(
        lambda: client.AppsV1Api(kube_api).read_namespaced_deployment("web-blue", namespace).spec.replicas == 0,
        what="the old colour scaled down after the delay",
        timeout=60,
    )


def test_a_new_colour_that_never_becomes_ready_leaves_traffic_where_it_was(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, setup: None
) -> None:
    body = bg_kcd(verificationServiceName="web-test")
    body["spec"]["timeoutSeconds"] = 10
    create(kube_api, namespace, body)
    announce(kube_api, namespace, "Deployment", "web-blue", "bad-fault-never-ready")
    wait_status(kube_api, namespace, "web", timeout=90, currStatus="Failed", rollout=None)
    live = client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector
    assert live == {"app": "web", "colour": "blue"}
    assert sorted(p.split("-")[1] for p in ready_endpoints(kube_api, namespace, "web")) == ["blue", "blue"]
    assert "bad-fault-never-ready" in kcd_status(kube_api, namespace, "web")["failedVersions"]


def test_three_deployments_are_stalled_with_what_to_change(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, setup: None
) -> None:
    create(kube_api, namespace, colour("web-red", "red", replicas=0))
    create(kube_api, namespace, bg_kcd())
    announce(kube_api, namespace, "Deployment", "web-blue", "good-1")

    def stalled() -> str:
        return str(condition(kcd_status(kube_api, namespace, "web"), "Stalled").get("message", ""))

    wait_until(lambda: "exactly two Deployments" in stalled(), what="Stalled", timeout=30)
    assert image_of(kube_api, namespace, "Deployment", "web-green") == f"{REPO}:aaaaa11"


def _cli(cluster: Any, *args: str) -> Any:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "kcd", "rollout", *args, "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603 - our CLI


def test_manual_promotion_waits_for_kcd_rollout_promote_and_abort_keeps_traffic(
    controller: kcdrun.Controller, cluster: Any, kube_api: Any, namespace: str, setup: None
) -> None:
    create(kube_api, namespace, bg_kcd(verificationServiceName="web-test", promotion="Manual"))
    early = _cli(cluster, "promote", "web", "-n", namespace)
    assert early.returncode == 1 and "no rollout is in flight" in early.stderr
    announce(kube_api, namespace, "Deployment", "web-blue", "good-1")
    wait_until(
        lambda: (kcd_status(kube_api, namespace, "web").get("rollout") or {}).get("phase") == "AwaitingPromotion",
        what="AwaitingPromotion",
        timeout=60,
    )
    live = client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector
    assert live["colour"] == "blue"  # verified and up, but nobody promoted it
    promoted = _cli(cluster, "promote", "web", "-n", namespace)
    assert promoted.returncode == 0, promoted.stderr
    wait_status(kube_api, namespace, "web", timeout=60, currStatus="Success", successVersion="good-1")
    assert client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector["colour"] == "green"

    announce(kube_api, namespace, "Deployment", "web-blue", "good-2", when="2026-11-26T12:05:00Z")
    wait_until(
        lambda: (kcd_status(kube_api, namespace, "web").get("rollout") or {}).get("phase") == "AwaitingPromotion",
        what="the second rollout awaiting promotion",
        timeout=60,
    )
    aborted = _cli(cluster, "abort", "web", "-n", namespace)
    assert aborted.returncode == 0, aborted.stderr
    wait_status(kube_api, namespace, "web", timeout=60, currStatus="Failed", currVersion="good-2", rollout=None)
    assert client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector["colour"] == "green"
