"""The hardened engine on the local control plane: edits, faults and hostile input handled by a real controller.

Numbers refer to the defects of the issue "The rollout engine, hardened" (each failed on the old controller).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import (
    REPO,
    VERSION_SYNTAX,
    announce,
    condition,
    create,
    history,
    image_of,
    kcd_body,
    kcd_status,
    wait_status,
    workload,
)
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster


def _live(api: Any, namespace: str, name: str, version: str = "good-1", **spec: Any) -> None:
    create(api, namespace, workload("Deployment", name, deadline=3))
    create(api, namespace, kcd_body(name, **{"versionSyntax": VERSION_SYNTAX, **spec}))
    announce(api, namespace, "Deployment", name, version, when="2026-11-26T12:00:00Z")
    wait_status(api, namespace, name, currStatus="Success", successVersion=version)


def _patch_kcd(api: Any, namespace: str, name: str, patch: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).patch_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", name, patch)


def _ready_reason(api: Any, namespace: str, name: str) -> str:
    return str(condition(kcd_status(api, namespace, name), "Ready").get("reason"))


def test_1_a_failed_version_is_left_when_the_tag_moves_back(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "back", timeoutSeconds=30)
    announce(kube_api, namespace, "Deployment", "back", "bad-fault-never-ready", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "back", timeout=90, currStatus="Failed", currVersion="bad-fault-never-ready")
    assert image_of(kube_api, namespace, "Deployment", "back") == f"{REPO}:bad-fault-never-ready"  # rollback is off
    announce(kube_api, namespace, "Deployment", "back", "good-1", when="2026-11-26T12:02:00Z")
    wait_status(kube_api, namespace, "back", timeout=60, currStatus="Success", currVersion="good-1")
    assert image_of(kube_api, namespace, "Deployment", "back") == f"{REPO}:good-1"
    assert condition(kcd_status(kube_api, namespace, "back"), "Ready")["status"] == "True"


def test_2_a_rollout_whose_workload_is_deleted_ends_failed(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "gone")
    announce(kube_api, namespace, "Deployment", "gone", "slow-fault-never-ready", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "gone", currStatus="Progressing")
    client.AppsV1Api(kube_api).delete_namespaced_deployment("gone", namespace)
    wait_status(kube_api, namespace, "gone", timeout=30, currStatus="Failed", rollout=None)
    wait_until(lambda: _ready_reason(kube_api, namespace, "gone") == "WorkloadNotFound", what="steady", timeout=30)


def test_3_a_workload_joining_mid_rollout_gets_the_new_version(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("Deployment", "one", selector_labels={"kcdapp": "join"}))
    create(kube_api, namespace, kcd_body("join", versionSyntax=VERSION_SYNTAX))
    announce(kube_api, namespace, "Deployment", "one", "v-2")
    wait_status(kube_api, namespace, "join", currStatus="Success", successVersion="v-2")
    # A second workload is stuck (never ready) so the next rollout stays in Waiting while a third joins.
    create(kube_api, namespace, workload("Deployment", "two", selector_labels={"kcdapp": "join"}))
    announce(kube_api, namespace, "Deployment", "one", "v-3", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "join", currStatus="Success", successVersion="v-3")
    create(kube_api, namespace, workload("Deployment", "three", selector_labels={"kcdapp": "join"}))
    wait_until(
        lambda: image_of(kube_api, namespace, "Deployment", "three") == f"{REPO}:v-3",
        what="late joiner patched",
        timeout=30,
    )


def test_3_an_image_repo_edit_mid_rollout_supersedes_it_without_quarantine(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "edit")
    announce(kube_api, namespace, "Deployment", "edit", "slow-fault-never-ready", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "edit", currStatus="Progressing")
    _patch_kcd(kube_api, namespace, "edit", {"spec": {"imageRepo": "127.0.0.1:5000/team/other"}})
    status = wait_status(kube_api, namespace, "edit", timeout=30, rollout=None)
    assert status.get("failedVersions") in (None, [])
    outcomes = [(r["version"], r["outcome"]) for r in history(kube_api, namespace, "edit")]
    assert outcomes[0] == ("slow-fault-never-ready", "Superseded")


def test_4_a_stale_candidate_after_a_tag_edit_is_not_deployed(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "stale")
    _patch_kcd(kube_api, namespace, "stale", {"spec": {"tag": "env-staging"}})
    announce(kube_api, namespace, "Deployment", "stale", "old-tag-2", when="2026-11-26T12:01:00Z")  # source env-prod
    announce(
        kube_api,
        namespace,
        "Deployment",
        "stale",
        "new-tag-3",
        when="2026-11-26T12:02:00Z",
        source=f"{REPO}:env-staging",
    )
    wait_status(kube_api, namespace, "stale", currStatus="Success", successVersion="new-tag-3")
    assert [r["version"] for r in history(kube_api, namespace, "stale")] == ["new-tag-3", "good-1"]


def test_4_the_newer_of_two_overlapping_kcds_is_stalled_naming_the_older(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "owner")
    time.sleep(1.1)  # creationTimestamp has whole seconds: the intruder must be the newer one
    create(kube_api, namespace, kcd_body("intruder", versionSyntax=VERSION_SYNTAX, selector={"kcdapp": "owner"}))
    wait_until(
        lambda: _ready_reason(kube_api, namespace, "intruder") == "OverlappingSelector", what="Stalled", timeout=30
    )
    stalled = condition(kcd_status(kube_api, namespace, "intruder"), "Stalled")
    assert stalled["status"] == "True" and "owner" in stalled["message"]
    assert _ready_reason(kube_api, namespace, "owner") != "OverlappingSelector"


@pytest.mark.parametrize("version", ["5000/evil:1", "v1 --evil", "a" * 200], ids=["other-host", "flag", "long"])
def test_5_a_hostile_candidate_is_refused_with_a_warning(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, version: str
) -> None:
    _live(kube_api, namespace, "host", versionSyntax=".+")
    announce(kube_api, namespace, "Deployment", "host", version, when="2026-11-26T12:01:00Z")
    wait_until(
        lambda: _ready_reason(kube_api, namespace, "host") == "InvalidCandidate", what="InvalidCandidate", timeout=30
    )
    assert image_of(kube_api, namespace, "Deployment", "host") == f"{REPO}:good-1"
    assert controller.image_patches(f"{namespace}/host") == controller.image_patches(f"{namespace}/host")[:1]


def test_8_a_hotfix_supersedes_a_stuck_rollout_without_waiting_for_its_timeout(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "hotfix", timeoutSeconds=900)
    announce(kube_api, namespace, "Deployment", "hotfix", "stuck-fault-never-ready", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "hotfix", currStatus="Progressing", currVersion="stuck-fault-never-ready")
    announce(kube_api, namespace, "Deployment", "hotfix", "fix-2", when="2026-11-26T12:02:00Z")
    wait_status(kube_api, namespace, "hotfix", timeout=60, currStatus="Success", successVersion="fix-2")
    outcomes = [(r["version"], r["outcome"]) for r in history(kube_api, namespace, "hotfix")]
    assert outcomes[:2] == [("fix-2", "Success"), ("stuck-fault-never-ready", "Superseded")]
    assert kcd_status(kube_api, namespace, "hotfix").get("failedVersions") in (None, [])


def test_a_manual_rollback_sticks_until_cleared(controller: kcdrun.Controller, kube_api: Any, namespace: str) -> None:
    _live(kube_api, namespace, "manual")
    announce(kube_api, namespace, "Deployment", "manual", "v-new", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "manual", currStatus="Success", successVersion="v-new")
    notes = {
        "kcd.io/rollback-to": "good-1",
        "kcd.io/rollback-requested-at": "2026-11-26T12:05:00Z",
        "kcd.io/rollback-by": "ann",
    }
    _patch_kcd(kube_api, namespace, "manual", {"metadata": {"annotations": notes}})
    status = wait_status(kube_api, namespace, "manual", timeout=60, currStatus="Success", successVersion="good-1")
    assert status["heldVersions"] == ["v-new"] and status["lastRollback"] == "2026-11-26T12:05:00Z"
    # The syncer still reports v-new: further reconciles (a touch wakes the controller) do not redeploy it.
    client.AppsV1Api(kube_api).patch_namespaced_deployment(
        "manual", namespace, {"metadata": {"labels": {"touch": "1"}}}
    )
    wait_until(lambda: _ready_reason(kube_api, namespace, "manual") == "Held", what="Held", timeout=30)
    assert image_of(kube_api, namespace, "Deployment", "manual") == f"{REPO}:good-1"
