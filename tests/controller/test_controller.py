"""The controller as a real process against the local control plane: rollouts, history, failure, rollback, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import (
    REPO,
    announce,
    condition,
    create,
    event_reasons,
    history,
    image_of,
    kcd_body,
    kcd_status,
    set_status,
    wait_status,
    workload,
)
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "CronJob"])
def test_a_candidate_is_rolled_out_recorded_and_declared_live(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, kind: str
) -> None:
    name = f"app-{kind.lower()}"
    create(kube_api, namespace, workload(kind, name))
    client.CoreV1Api(kube_api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "versions"}, "data": {"other": "kept"}}
    )
    create(kube_api, namespace, kcd_body(name, config={"name": "versions", "key": name}))
    announce(kube_api, namespace, kind, name, "bbbbb22")
    status = wait_status(kube_api, namespace, name, currStatus="Success", successVersion="bbbbb22")
    assert image_of(kube_api, namespace, kind, name) == f"{REPO}:bbbbb22"
    assert condition(status, "Ready")["status"] == "True"
    assert status.get("rollout") is None
    [record] = history(kube_api, namespace, name)
    assert (record["version"], record["outcome"], record["type"], record["name"]) == ("bbbbb22", "Success", kind, name)
    cm = client.CoreV1Api(kube_api).read_namespaced_config_map("versions", namespace)
    assert cm.data == {"other": "kept", name: "bbbbb22"}
    wait_until(lambda: "RolloutSucceeded" in event_reasons(kube_api, namespace, name), what="Events", timeout=15)
    reasons = event_reasons(kube_api, namespace, name)
    assert reasons.index("RolloutStarted") < reasons.index("RolloutSucceeded")
    assert len(controller.image_patches(f"{namespace}/{name}")) == 1


def test_pods_are_replaced_by_the_new_version(controller: kcdrun.Controller, kube_api: Any, namespace: str) -> None:
    create(kube_api, namespace, workload("Deployment", "web", replicas=3))
    create(kube_api, namespace, kcd_body("web"))
    announce(kube_api, namespace, "Deployment", "web", "ccccc33")
    wait_status(kube_api, namespace, "web", currStatus="Success", successVersion="ccccc33")
    pods = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="app=web").items
    running = [p for p in pods if p.metadata.deletion_timestamp is None]
    assert len(running) == 3
    assert {p.spec.containers[0].image for p in running} == {f"{REPO}:ccccc33"}
    assert all(p.status.phase == "Running" for p in running)


def test_a_version_whose_pods_never_become_ready_fails_rolls_back_and_is_quarantined(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("Deployment", "risky", deadline=3))
    create(kube_api, namespace, kcd_body("risky", versionSyntax="[a-z0-9-]+", rollback={"enabled": True}))
    announce(kube_api, namespace, "Deployment", "risky", "good-1", when="2026-11-26T12:00:00Z")
    wait_status(kube_api, namespace, "risky", currStatus="Success", successVersion="good-1")
    announce(kube_api, namespace, "Deployment", "risky", "bad-fault-never-ready", when="2026-11-26T12:01:00Z")
    status = wait_status(
        kube_api, namespace, "risky", timeout=90, currStatus="Failed", currVersion="bad-fault-never-ready"
    )
    assert status["successVersion"] == "good-1"
    assert status["failedVersions"][0] == "bad-fault-never-ready"  # and its digest
    assert image_of(kube_api, namespace, "Deployment", "risky") == f"{REPO}:good-1"
    outcomes = [(r["version"], r["outcome"]) for r in history(kube_api, namespace, "risky")]
    assert outcomes == [("bad-fault-never-ready", "RolledBack"), ("good-1", "Success")]
    wait_until(
        lambda: "RolledBack" in event_reasons(kube_api, namespace, "risky"), what="a RolledBack Event", timeout=15
    )

    # Quarantined: more reconciles (a touch of the workload wakes the controller) do not deploy it again.
    client.AppsV1Api(kube_api).patch_namespaced_deployment("risky", namespace, {"metadata": {"labels": {"touch": "1"}}})
    wait_status(kube_api, namespace, "risky", timeout=30, currStatus="Failed")
    assert condition(kcd_status(kube_api, namespace, "risky"), "Ready")["reason"] in ("Quarantined", "RolledBack")
    patches = len(controller.image_patches(f"{namespace}/risky"))

    # Cleared by a person (what `kcd rollout clear` does): deployed again.
    set_status(kube_api, namespace, "risky", {"failedVersions": []})
    wait_until(
        lambda: len(controller.image_patches(f"{namespace}/risky")) > patches,
        what="the cleared version rolled out again",
        timeout=30,
    )


def test_a_failed_first_rollout_is_not_rolled_back_to_an_empty_tag(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("Deployment", "first", deadline=3))
    create(kube_api, namespace, kcd_body("first", versionSyntax="[a-z0-9-]+", rollback={"enabled": True}))
    announce(kube_api, namespace, "Deployment", "first", "v-fault-never-ready")
    status = wait_status(kube_api, namespace, "first", timeout=90, currStatus="Failed")
    assert status["successVersion"] == ""
    assert image_of(kube_api, namespace, "Deployment", "first") == f"{REPO}:v-fault-never-ready"


@pytest.mark.parametrize(
    ("case", "reason"),
    [("no-container", "ContainerNotFound"), ("no-workload", "WorkloadNotFound"), ("garbage", "InvalidCandidate")],
    ids=["workload-without-the-container", "selector-matching-nothing", "garbage-candidate"],
)
def test_bad_input_gives_a_clear_condition_and_patches_nothing(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, case: str, reason: str
) -> None:
    container = "other" if case == "no-container" else "app"
    labels = {"kcdapp": "nothing-here"} if case == "no-workload" else None
    create(kube_api, namespace, workload("Deployment", "bad", container=container, selector_labels=labels))
    create(kube_api, namespace, kcd_body("bad"))
    announce(kube_api, namespace, "Deployment", "bad", "not a version!" if case == "garbage" else "bbbbb22")

    def reported() -> bool:
        return condition(kcd_status(kube_api, namespace, "bad"), "Ready").get("reason") == reason

    wait_until(reported, what=f"Ready condition {reason}", timeout=30)
    wait_until(lambda: reason in event_reasons(kube_api, namespace, "bad"), what=f"a {reason} Event", timeout=15)
    assert image_of(kube_api, namespace, "Deployment", "bad") == f"{REPO}:aaaaa11"
    assert controller.image_patches(f"{namespace}/bad") == []
    assert controller.proc.alive()


def test_an_untagged_image_is_replaced_by_the_tagged_version(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("Deployment", "untagged", image=REPO))
    create(kube_api, namespace, kcd_body("untagged"))
    announce(kube_api, namespace, "Deployment", "untagged", "ddddd44")
    wait_status(kube_api, namespace, "untagged", currStatus="Success", successVersion="ddddd44")
    assert image_of(kube_api, namespace, "Deployment", "untagged") == f"{REPO}:ddddd44"


def test_an_image_changed_by_hand_is_set_back_to_the_live_version(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("Deployment", "drift"))
    create(kube_api, namespace, kcd_body("drift"))
    announce(kube_api, namespace, "Deployment", "drift", "eeeee55")
    wait_status(kube_api, namespace, "drift", currStatus="Success", successVersion="eeeee55")
    client.AppsV1Api(kube_api).patch_namespaced_deployment(
        "drift",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{REPO}:by-hand"}]}}}},
    )
    wait_until(
        lambda: image_of(kube_api, namespace, "Deployment", "drift") == f"{REPO}:eeeee55",
        what="drift corrected",
        timeout=30,
    )
    wait_until(
        lambda: "DriftCorrected" in event_reasons(kube_api, namespace, "drift"),
        what="a DriftCorrected Event",
        timeout=15,
    )


def test_a_deleted_kcd_goes_at_once_and_one_created_again_is_managed_again(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    custom = client.CustomObjectsApi(kube_api)
    create(kube_api, namespace, workload("Deployment", "again"))
    # A KCD written by an earlier kcd (one kopf daemon per KCD) still carries its finalizer: it is taken off.
    create(
        kube_api, namespace, {**kcd_body("again"), "metadata": {"name": "again", "finalizers": ["kcd.io/controller"]}}
    )
    announce(kube_api, namespace, "Deployment", "again", "ddddd44")
    wait_status(kube_api, namespace, "again", currStatus="Success", successVersion="ddddd44")

    def finalizers() -> list[str]:
        kcd = custom.get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "again")
        return list(kcd["metadata"].get("finalizers") or [])

    wait_until(lambda: finalizers() == [], what="the old finalizer removed", timeout=15)
    custom.delete_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "again")

    def names() -> list[str]:
        items = custom.list_namespaced_custom_object("kcd.io", "v1", namespace, "kcds")["items"]
        return [str(k["metadata"]["name"]) for k in items]

    wait_until(lambda: "again" not in names(), what="the KCD deleted", timeout=10)

    create(kube_api, namespace, kcd_body("again"))
    announce(kube_api, namespace, "Deployment", "again", "eeeee55")
    wait_status(kube_api, namespace, "again", currStatus="Success", successVersion="eeeee55")
    assert image_of(kube_api, namespace, "Deployment", "again") == f"{REPO}:eeeee55"
    assert not [ln for ln in controller.lines() if ln.get("level") == "error"]
