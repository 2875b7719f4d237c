"""Two controller replicas: only the Lease holder acts; killing it hands over to the other."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import announce, create, kcd_body, wait_status, workload
from tests.env.procs import ProcGroup, wait_until

pytestmark = pytest.mark.cluster


def _holder(api: Any, namespace: str) -> str:
    lease = client.CoordinationV1Api(api).read_namespaced_lease("kcd-controller", namespace)
    return str(lease.spec.holder_identity or "")


def _leader(procs: ProcGroup, cluster: Any, api: Any, namespace: str, lease_seconds: int) -> kcdrun.Controller:
    """A controller with leader election in `namespace`, once it holds the Lease."""
    ha = [
        "--namespace",
        namespace,
        "--leader-elect",
        "--lease-namespace",
        namespace,
        "--lease-seconds",
        str(lease_seconds),
    ]
    ctl = kcdrun.start(procs, Path(cluster.kubeconfig), name="kcd-a", extra=ha)
    wait_until(lambda: _holder(api, namespace) != "", what="a Lease holder", timeout=30)
    return ctl


def test_only_the_lease_holder_acts_and_killing_it_hands_over(
    procs: ProcGroup, cluster: Any, kube_api: Any, namespace: str
) -> None:
    a = _leader(procs, cluster, kube_api, namespace, 4)
    ha = ["--namespace", namespace, "--leader-elect", "--lease-namespace", namespace, "--lease-seconds", "4"]
    b = kcdrun.start(procs, Path(cluster.kubeconfig), name="kcd-b", extra=ha, wait_ready=False)
    leader, standby = (a, b) if any(ln.get("msg") == "acquired leadership" for ln in a.lines()) else (b, a)
    # Ready without leading: a surged pod of a rolling update must be Ready for `helm upgrade --wait` to finish.
    wait_until(standby.ready, what="the standby Ready", timeout=30, proc=standby.proc)
    assert standby.probe("/readyz") == (200, "ready (standby)")
    assert leader.leads() and not standby.leads()

    create(kube_api, namespace, workload("Deployment", "app"))
    create(kube_api, namespace, kcd_body("app"))
    announce(kube_api, namespace, "Deployment", "app", "bbbbb22", when="2026-11-26T12:00:00Z")
    wait_status(kube_api, namespace, "app", currStatus="Success", successVersion="bbbbb22")
    assert len(leader.image_patches()) == 1 and standby.image_patches() == []

    leader.proc.popen.send_signal(signal.SIGKILL)
    wait_until(standby.leads, what="the standby takes over", timeout=30, proc=standby.proc)
    announce(kube_api, namespace, "Deployment", "app", "ccccc33", when="2026-11-26T12:05:00Z")
    wait_status(kube_api, namespace, "app", currStatus="Success", successVersion="ccccc33")
    assert len(standby.image_patches()) == 1


def test_a_gracefully_stopped_leader_releases_the_lease(
    procs: ProcGroup, cluster: Any, kube_api: Any, namespace: str
) -> None:
    ctl = _leader(procs, cluster, kube_api, namespace, 60)
    ctl.proc.popen.send_signal(signal.SIGTERM)
    assert ctl.proc.popen.wait(30) == 0
    assert _holder(kube_api, namespace) == ""  # released: a standby need not wait 60 s
