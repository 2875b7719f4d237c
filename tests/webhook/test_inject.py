"""What the webhook adds to a pod (kcd.webhook.inject), with the kcd chart's own rendered container as the template:
the owner chain to the workload, the per-pod values filled in by name, idempotence, and pods it leaves alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kcd.webhook import inject
from tests.webhook.chart import injected_template

pytestmark = pytest.mark.chart


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return injected_template("--set", "image.repository=127.0.0.1:5000/kcd", "--set", "image.tag=1.0.0")


class FakeLookups:
    def __init__(
        self,
        owners: Mapping[tuple[str, str], Any] | None = None,
        kcds: Mapping[str, Any] | None = None,
        version: str = "",
    ) -> None:
        self.owners, self.kcds, self._version = dict(owners or {}), dict(kcds or {}), version
        self.calls: list[tuple[str, ...]] = []

    def owner(self, kind: str, namespace: str, name: str) -> Any:
        self.calls.append(("owner", kind, namespace, name))
        return self.owners.get((kind, name))

    def kcd(self, namespace: str, name: str) -> Any:
        return self.kcds.get(name)

    def version(self) -> str | None:
        return self._version or None


def _ref(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}


def pod(owner: tuple[str, str] | None, *, kcd: str = "app", **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"generateName": "p-", "namespace": "apps", "labels": {"kcd.io/inject": "true"}}
    if kcd:
        meta["annotations"] = {"kcd.io/kcd": kcd}
    if owner:
        meta["ownerReferences"] = [_ref(*owner)]
    return {"metadata": meta, "spec": {"containers": [{"name": "app", "image": "app:1"}], **spec}}


def kcd_body(liveness: int) -> dict[str, Any]:
    spec = {"imageRepo": "r/app", "tag": "t", "selector": {"a": "b"}, "container": {"name": "app"}}
    meta = {"name": "app", "namespace": "apps", "uid": "u"}
    return {"metadata": meta, "spec": {**spec, "livenessSeconds": liveness}}


def env(container: Mapping[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def decide(body: dict[str, Any], template: dict[str, Any], lookups: FakeLookups) -> inject.Decision:
    return inject.decide(body, namespace="apps", template=template, lookups=lookups)


def test_a_deployments_pod_gets_the_syncer_for_the_deployment_found_through_its_replicaset(
    template: dict[str, Any],
) -> None:
    lookups = FakeLookups(
        owners={("ReplicaSet", "web-5d8f"): {"metadata": {"ownerReferences": [_ref("Deployment", "web")]}}}
    )
    decision = decide(pod(("ReplicaSet", "web-5d8f")), template, lookups)
    assert decision.init_containers is not None
    syncer = decision.init_containers[0]
    assert syncer["name"] == "kcd-syncer"
    assert syncer["restartPolicy"] == "Always"
    assert env(syncer) | {"KCD_NAMESPACE": None, "POD_NAME": None} == {
        "KCD_NAMESPACE": None,
        "KCD_NAME": "app",
        "KCD_WORKLOAD_KIND": "Deployment",
        "KCD_WORKLOAD_NAME": "web",
        "POD_NAME": None,
        "KCD_SYNCER_PORT": "8082",
    }
    assert env(syncer)["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert lookups.calls == [("owner", "ReplicaSet", "apps", "web-5d8f")]


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_a_statefulset_or_daemonset_pod_names_its_owner_without_any_lookup(template: dict[str, Any], kind: str) -> None:
    lookups = FakeLookups()
    decision = decide(pod((kind, "db")), template, lookups)
    assert decision.workload == inject.Workload(kind, "db")
    assert decision.init_containers is not None
    assert (
        env(decision.init_containers[0])["KCD_WORKLOAD_KIND"],
        env(decision.init_containers[0])["KCD_WORKLOAD_NAME"],
    ) == (kind, "db")
    assert lookups.calls == []


def test_a_cronjobs_pod_gets_a_native_sidecar_so_its_job_completes(template: dict[str, Any]) -> None:
    job = {"metadata": {"ownerReferences": [_ref("CronJob", "nightly")]}}
    body = pod(("Job", "nightly-29000"), restartPolicy="Never", initContainers=[{"name": "migrate", "image": "m:1"}])
    decision = decide(body, template, FakeLookups(owners={("Job", "nightly-29000"): job}))
    assert decision.workload == inject.Workload("CronJob", "nightly")
    assert decision.init_containers is not None
    # An init container with restartPolicy Always is a sidecar: the pod completes when its app container exits.
    assert [c["name"] for c in decision.init_containers] == ["kcd-syncer", "migrate"]
    assert decision.init_containers[0]["restartPolicy"] == "Always"


@pytest.mark.parametrize(
    ("owner", "owners"),
    [
        (None, {}),
        (("ReplicaSet", "bare"), {("ReplicaSet", "bare"): {"metadata": {}}}),
        (("Job", "once"), {("Job", "once"): {"metadata": {}}}),
        (("ReplicaSet", "gone"), {}),
        (("Node", "n1"), {}),
    ],
    ids=["no-owner", "bare-replicaset", "bare-job", "owner-not-found", "other-owner"],
)
def test_a_pod_without_a_managed_workload_is_left_alone_with_a_warning(
    template: dict[str, Any], owner: tuple[str, str] | None, owners: dict[tuple[str, str], Any]
) -> None:
    decision = decide(pod(owner), template, FakeLookups(owners=owners))
    assert decision.init_containers is None
    assert decision.warnings and "no syncer injected" in decision.warnings[0]


def test_a_pod_without_the_kcd_annotation_is_left_alone_with_a_warning(template: dict[str, Any]) -> None:
    decision = decide(pod(("StatefulSet", "db"), kcd=""), template, FakeLookups())
    assert decision.init_containers is None
    assert "kcd.io/kcd" in decision.warnings[0]


def test_a_pod_that_already_has_a_syncer_gets_no_second_one(template: dict[str, Any]) -> None:
    first = decide(pod(("StatefulSet", "db")), template, FakeLookups())
    assert first.init_containers is not None
    again = decide(pod(("StatefulSet", "db"), initContainers=first.init_containers), template, FakeLookups())
    assert again.init_containers is None
    assert again.warnings == ()


def test_the_liveness_probe_follows_the_kcds_liveness_seconds(template: dict[str, Any]) -> None:
    period = template["livenessProbe"]["periodSeconds"]
    for liveness, threshold in ((600, 600 // period), (35, -(-35 // period)), (1, 1)):
        lookups = FakeLookups(kcds={"app": kcd_body(liveness)})
        syncer = decide(pod(("DaemonSet", "agent")), template, lookups).init_containers
        assert syncer is not None
        assert syncer[0]["livenessProbe"]["failureThreshold"] == threshold, liveness


def test_a_missing_kcd_gives_the_crds_default_liveness(template: dict[str, Any]) -> None:
    syncer = decide(pod(("DaemonSet", "agent")), template, FakeLookups()).init_containers
    assert syncer is not None
    assert syncer[0]["livenessProbe"]["failureThreshold"] * syncer[0]["livenessProbe"]["periodSeconds"] == 300


def test_the_image_tag_comes_from_the_version_configmap(template: dict[str, Any]) -> None:
    upgraded = decide(pod(("DaemonSet", "agent")), template, FakeLookups(version="1.2.0")).init_containers
    assert upgraded is not None and upgraded[0]["image"] == "127.0.0.1:5000/kcd:1.2.0"
    unknown = decide(pod(("DaemonSet", "agent")), template, FakeLookups()).init_containers
    assert unknown is not None and unknown[0]["image"] == "127.0.0.1:5000/kcd:1.0.0"


def test_the_template_is_never_modified_between_admissions(template: dict[str, Any]) -> None:
    before = repr(template)
    decide(pod(("DaemonSet", "agent")), template, FakeLookups(version="9", kcds={"app": kcd_body(50)}))
    assert repr(template) == before
