"""A controller killed at any step of a rollout resumes it exactly once: no lost or doubled history, one patch."""

from __future__ import annotations

import datetime
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kcd.engine import verify as verification
from kcd.model import KCD
from tests.controller import kcdrun
from tests.controller.fixtures import (
    REPO,
    VERSION_SYNTAX,
    announce,
    create,
    history,
    image_of,
    kcd_body,
    set_status,
    verification_jobs,
    wait_status,
    workload,
)
from tests.env.procs import ProcGroup, wait_until

pytestmark = pytest.mark.cluster


def _crashed_state(api: Any, namespace: str, phase: str, *, patched: bool, recorded: bool) -> None:
    """Leave the cluster exactly as a controller that died in `phase` would have left it."""
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    create(api, namespace, workload("Deployment", "app", image=f"{REPO}:{'bbbbb22' if patched else 'aaaaa11'}"))
    create(api, namespace, kcd_body("app"))
    announce(api, namespace, "Deployment", "app", "bbbbb22")
    rollout = {
        "version": "bbbbb22",
        "phase": phase,
        "digest": "sha256:" + "0" * 64,
        "step": 0,
        "attempt": 0,
        "startedAt": started,
        "phaseStartedAt": started,
        "previousVersion": "aaaaa11",
        "patched": ["Deployment/app"] if patched else [],
        "outcome": "Success" if phase == "Recording" else None,
        "reason": "",
        "message": "3 replicas available" if phase == "Recording" else "",
    }
    set_status(
        api,
        namespace,
        "app",
        {
            "currVersion": "bbbbb22",
            "currStatus": "Progressing",
            "successVersion": "aaaaa11",
            "currStatusTime": started,
            "rollout": rollout,
        },
    )
    if recorded:
        record = {
            "version": "bbbbb22",
            "digest": rollout["digest"],
            "time": started,
            "kcd": "app",
            "type": "Deployment",
            "name": "app",
            "container": "app",
            "strategy": "Simple",
            "outcome": "Success",
            "durationSeconds": 0.0,
            "reason": rollout["message"],
        }
        client.CoreV1Api(api).create_namespaced_config_map(
            namespace,
            {
                "metadata": {"name": "app.history", "labels": {"kcd.io/history": "true"}},
                "data": {"history": json.dumps([record])},
            },
        )


@pytest.mark.parametrize(
    ("phase", "patched", "recorded", "patches"),
    [
        ("Patching", False, False, 1),  # died after persisting Patching, before the patch
        ("Patching", True, False, 0),  # died after the patch, before persisting Waiting
        ("Waiting", True, False, 0),  # died while waiting for the pods
        ("Recording", True, False, 0),  # died before writing history
        ("Recording", True, True, 0),  # died after writing history, before the final status
    ],
    ids=[
        "patching-before-patch",
        "patching-after-patch",
        "waiting",
        "recording-before-history",
        "recording-after-history",
    ],
)
def test_a_restarted_controller_finishes_the_rollout_exactly_once(
    procs: ProcGroup,
    cluster: Any,
    kube_api: Any,
    namespace: str,
    phase: str,
    patched: bool,
    recorded: bool,
    patches: int,
) -> None:
    _crashed_state(kube_api, namespace, phase, patched=patched, recorded=recorded)
    ctl = kcdrun.start(procs, Path(cluster.kubeconfig), extra=["--namespace", namespace])
    wait_status(kube_api, namespace, "app", currStatus="Success", successVersion="bbbbb22")
    assert [(r["version"], r["outcome"]) for r in history(kube_api, namespace, "app")] == [("bbbbb22", "Success")]
    assert len(ctl.image_patches()) == patches
    assert image_of(kube_api, namespace, "Deployment", "app") == f"{REPO}:bbbbb22"


def test_a_controller_killed_mid_rollout_is_replaced_and_the_rollout_completes_once(
    procs: ProcGroup, cluster: Any, kube_api: Any, namespace: str
) -> None:
    if not cluster.local:
        pytest.skip("needs the local control plane: the test pauses kube-controller-manager")
    kcm = next(p for p in cluster.procs.procs if p.name == "kube-controller-manager")
    create(kube_api, namespace, workload("Deployment", "app"))
    create(kube_api, namespace, kcd_body("app"))
    first = kcdrun.start(procs, Path(cluster.kubeconfig), name="kcd-first", extra=["--namespace", namespace])
    os.kill(kcm.popen.pid, signal.SIGSTOP)  # the Deployment cannot progress: the rollout must stay in Waiting
    try:
        announce(kube_api, namespace, "Deployment", "app", "bbbbb22")
        wait_until(
            lambda: (
                (
                    (
                        client.CustomObjectsApi(kube_api)
                        .get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "app")
                        .get("status")
                        or {}
                    ).get("rollout")
                    or {}
                ).get("phase")
                == "Waiting"
            ),
            what="rollout in Waiting",
            timeout=30,
        )
        first.proc.popen.send_signal(signal.SIGKILL)
        first.proc.popen.wait(10)
        second = kcdrun.start(procs, Path(cluster.kubeconfig), name="kcd-second", extra=["--namespace", namespace])
    finally:
        os.kill(kcm.popen.pid, signal.SIGCONT)
    wait_status(kube_api, namespace, "app", currStatus="Success", successVersion="bbbbb22")
    assert [(r["version"], r["outcome"]) for r in history(kube_api, namespace, "app")] == [("bbbbb22", "Success")]
    assert len(first.image_patches()) + len(second.image_patches()) == 1


def test_a_controller_killed_after_creating_a_verification_job_finds_it_again(
    procs: Any, cluster: Any, kube_api: Any, namespace: str
) -> None:
    """Left as a controller killed right after creating the Job (before persisting anything else) leaves it. In this
    module no controller watches every namespace: one would create that Job itself before the test does."""
    create(kube_api, namespace, workload("Deployment", "again"))
    verify = [{"kind": "Image", "image": "team/check", "timeoutSeconds": 60}]
    create(
        kube_api,
        namespace,
        kcd_body("again", versionSyntax=VERSION_SYNTAX, container={"name": "app", "verify": verify}),
    )
    announce(kube_api, namespace, "Deployment", "again", "v-2")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rollout = {
        "version": "v-2",
        "phase": "Verifying",
        "image": f"{REPO}:v-2",
        "source": f"{REPO}:env-prod",
        "container": "app",
        "startedAt": stamp,
        "phaseStartedAt": stamp,
        "verifyIndex": 0,
        "verifyStartedAt": stamp,
    }
    set_status(kube_api, namespace, "again", {"currVersion": "v-2", "currStatus": "Progressing", "rollout": rollout})
    obj = client.CustomObjectsApi(kube_api).get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "again")
    kcd = KCD.from_body(obj)
    assert kcd.status.rollout is not None
    job = verification.job_body(kcd, kcd.status.rollout, kcd.spec.container.verify[0])
    client.BatchV1Api(kube_api).create_namespaced_job(namespace, job)
    ctl = kcdrun.start(procs, Path(cluster.kubeconfig), extra=["--namespace", namespace])
    wait_status(kube_api, namespace, "again", timeout=90, currStatus="Success", successVersion="v-2")
    assert [j.metadata.name for j in verification_jobs(kube_api, namespace)] == [job["metadata"]["name"]]
    assert not [ln for ln in ctl.lines() if ln.get("msg") == "verification job created"]
