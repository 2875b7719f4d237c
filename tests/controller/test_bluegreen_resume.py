"""A controller killed at any blue-green step resumes it exactly once, and the live Service keeps ready endpoints.

Each case leaves the cluster and the KCD's status exactly as a controller that died at that step would have left them
(SIGKILL: nothing after the kill happens), then starts a new controller.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import REPO, announce, create, history, image_of, set_status, wait_status
from tests.controller.test_bluegreen import Sampler, bg_kcd, colour, ready_endpoints, service
from tests.env.procs import ProcGroup, wait_until

pytestmark = pytest.mark.cluster
NEW = f"{REPO}:good-1"


def _stamp(seconds_ago: float = 0) -> str:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _crashed(api: Any, namespace: str, phase: str, *, set_up: bool, switched: bool, persisted_switch: bool) -> None:
    green = NEW if set_up else f"{REPO}:aaaaa11"
    create(api, namespace, colour("web-blue", "blue", replicas=2))
    create(api, namespace, colour("web-green", "green", replicas=2 if set_up else 0, image=green))
    service(api, namespace, "web", "green" if switched else "blue")
    service(api, namespace, "web-test", "green" if set_up else "blue")
    create(api, namespace, bg_kcd(verificationServiceName="web-test", scaleDown=True))
    announce(api, namespace, "Deployment", "web-blue", "good-1")
    rollout: dict[str, Any] = {
        "version": "good-1",
        "phase": phase,
        "digest": "",
        "image": NEW,
        "source": f"{REPO}:env-prod",
        "container": "app",
        "startedAt": _stamp(),
        "phaseStartedAt": _stamp(60 if phase == "ScalingDown" else 0),
        "previousVersion": "aaaaa11",
        "live": "web-blue" if phase != "Patching" else "",
        "idle": "web-green" if phase != "Patching" else "",
        "switchedAt": _stamp() if persisted_switch else None,
        "outcome": "Success" if phase == "Recording" else None,
        "reason": "",
        "message": "Service web serves deployment/web-green" if phase == "Recording" else "",
    }
    status = {"currVersion": "good-1", "currStatus": "Progressing", "successVersion": "aaaaa11", "rollout": rollout}
    set_status(api, namespace, "web", status)


@pytest.mark.parametrize(
    ("phase", "set_up", "switched", "persisted_switch", "switches"),
    [
        ("Patching", False, False, False, 1),  # died after persisting the start, before setting up green
        ("Waiting", True, False, False, 1),  # died while green came up
        ("Waiting", True, True, False, 0),  # died after patching the live selector, before persisting it
        ("Switching", True, True, True, 0),  # died while confirming green's endpoints
        ("ScalingDown", True, True, True, 0),  # died before scaling blue down
        ("Recording", True, True, True, 0),  # died before the history and the final status
    ],
    ids=["patching", "waiting", "switched-unpersisted", "switching", "scaling-down", "recording"],
)
def test_a_restarted_controller_finishes_a_blue_green_rollout_exactly_once(
    procs: ProcGroup,
    cluster: Any,
    kube_api: Any,
    namespace: str,
    phase: str,
    set_up: bool,
    switched: bool,
    persisted_switch: bool,
    switches: int,
) -> None:
    _crashed(kube_api, namespace, phase, set_up=set_up, switched=switched, persisted_switch=persisted_switch)
    serving = "green" if switched else "blue"
    wait_until(lambda: len(ready_endpoints(kube_api, namespace, "web")) >= 2, what=f"{serving} serving", timeout=60)
    sampler = Sampler(kube_api, namespace, "web")
    sampler.thread.start()
    ctl = kcdrun.start(procs, Path(cluster.kubeconfig), extra=["--namespace", namespace])
    try:
        wait_status(kube_api, namespace, "web", timeout=120, currStatus="Success", successVersion="good-1")
    finally:
        sampler.stop.set()
        sampler.thread.join()
    assert [(r["version"], r["outcome"]) for r in history(kube_api, namespace, "web-green")] == [("good-1", "Success")]
    live = client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector
    assert live == {"app": "web", "colour": "green"}
    assert image_of(kube_api, namespace, "Deployment", "web-green") == NEW
    switch_lines = [ln for ln in ctl.lines() if ln.get("msg") == "selector set" and ln.get("service") == "web"]
    assert len(switch_lines) == switches
    assert sampler.samples and all(sampler.samples), "the live Service had no ready endpoint at some point"
