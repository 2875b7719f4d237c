"""The chart passes the real helm and ct linters, renders for the cluster version, and installs into a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests import crd
from tests.chart.helm import CHART, helm, install, run, template
from tests.env import binaries
from tests.env.procs import wait_until

pytestmark = pytest.mark.chart
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.stem for p in CI_VALUES])
def test_helm_lint_passes_strict_with_each_ci_values_file(values: Path) -> None:
    result = helm("lint", "--strict", str(CHART), "-f", str(values))
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_ct_lint_passes_on_the_chart() -> None:
    result = run([str(binaries.binary("ct")), "lint", "--config", "ct.yaml", "--charts", "charts/kcd"])
    assert "All charts linted successfully" in result.stdout + result.stderr


def test_values_outside_the_schema_are_rejected() -> None:
    result = helm("template", "kcd", str(CHART), "--set", "replicas=-1", check=False)
    assert result.returncode != 0
    assert "replicas" in result.stderr


def test_more_than_one_replica_turns_on_leader_election() -> None:
    deployment = _named(template("--set", "replicas=2"), "Deployment", "kcd")
    assert "--leader-elect" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _rules(docs: list[dict[str, Any]], name: str) -> dict[str, set[str]]:
    """ "group/resource" -> verbs of the (Cluster)Role `name`."""
    role = next(d for d in docs if d["kind"] in ("ClusterRole", "Role") and d["metadata"]["name"] == name)
    return {
        f"{g}/{r}": set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }


def test_the_dashboard_runs_as_its_own_deployment_behind_the_service() -> None:
    docs = template()
    api = _named(docs, "Deployment", "kcd-api")
    pod = api["spec"]["template"]
    assert pod["spec"]["containers"][0]["args"][0] == "api"
    assert pod["spec"]["serviceAccountName"] == "kcd-api"
    service = _named(docs, "Service", "kcd")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    controller = _named(docs, "Deployment", "kcd")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= controller.items()


def test_the_api_identity_is_read_only_unless_writes_are_enabled() -> None:
    reads = _rules(template(), "kcd-api")
    assert all(verbs <= {"get", "list", "watch"} for verbs in reads.values())
    docs = template("--set", "api.writes.enabled=true")
    writes = _rules(docs, "kcd-api")
    assert "patch" in writes["kcd.io/kcds"]
    assert _rules(docs, "kcd-api-auth") == {
        "authentication.k8s.io/tokenreviews": {"create"},
        "authorization.k8s.io/subjectaccessreviews": {"create"},
    }
    assert (
        "--enable-writes" in _named(docs, "Deployment", "kcd-api")["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def test_turning_the_api_off_renders_no_api_objects() -> None:
    names = {d["metadata"]["name"] for d in template("--set", "api.enabled=false")}
    assert not {n for n in names if n.startswith("kcd-api")}


@pytest.mark.cluster
def test_chart_installs_into_the_cluster_and_its_deployment_becomes_available(
    cluster: Any, kube_api: Any, namespace: str
) -> None:
    crd.install(kube_api)
    notes = install(namespace, cluster.kubeconfig, "--wait", "--timeout", "120s")
    assert f"kubectl -n {namespace} port-forward svc/kcd 8081" in notes
    assert "Syncer injection is on" in notes
    apps = client.AppsV1Api(kube_api)
    wait_until(
        lambda: apps.read_namespaced_deployment_status("kcd", namespace).status.available_replicas == 1,
        what="kcd Deployment available",
        timeout=60,
    )
    listed = helm("list", "--namespace", namespace, "--short", kubeconfig=cluster.kubeconfig).stdout.split()
    assert listed == ["kcd"]
    helm("uninstall", "kcd", "--namespace", namespace, "--wait", kubeconfig=cluster.kubeconfig)


@pytest.mark.cluster
def test_a_second_release_installs_beside_a_crd_another_release_or_a_person_owns(
    cluster: Any, kube_api: Any, namespace: str
) -> None:
    """crds.install left on: the chart renders the CRD only when none exists or this release owns it (without that,
    Helm refuses the release: the CRD exists and belongs to someone else)."""
    crd.install(kube_api)  # the session's CRD: not this release's
    extensions = client.ApiextensionsV1Api(kube_api)
    before = extensions.read_custom_resource_definition("kcds.kcd.io").metadata.annotations or {}
    values = str(CHART / "ci" / "default-values.yaml")
    off = ("--set", "api.enabled=false", "--set", "webhook.enabled=false", "--set", "replicas=0")
    helm("install", "second", str(CHART), "--namespace", namespace, "-f", values, *off, kubeconfig=cluster.kubeconfig)
    try:
        manifest = helm("get", "manifest", "second", "--namespace", namespace, kubeconfig=cluster.kubeconfig).stdout
        assert "kind: CustomResourceDefinition" not in manifest
        after = extensions.read_custom_resource_definition("kcds.kcd.io").metadata.annotations or {}
        assert after.get("meta.helm.sh/release-name") == before.get("meta.helm.sh/release-name")
    finally:
        helm("uninstall", "second", "--namespace", namespace, kubeconfig=cluster.kubeconfig)
    assert extensions.read_custom_resource_definition("kcds.kcd.io").metadata.name == "kcds.kcd.io"
