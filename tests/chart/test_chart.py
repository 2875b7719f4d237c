"""The chart passes the real helm and ct linters, renders for the cluster version, and installs into a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.chart.helm import CHART, helm, run, template
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


def test_watching_one_namespace_renders_a_role_instead_of_a_cluster_role() -> None:
    kinds = {doc["kind"] for doc in template("--set", "watchNamespace=apps")}
    assert {"Role", "RoleBinding"} <= kinds
    assert not {"ClusterRole", "ClusterRoleBinding"} & kinds


def test_more_than_one_replica_turns_on_leader_election() -> None:
    deployment = next(d for d in template("--set", "replicas=2") if d["kind"] == "Deployment")
    assert "--leader-elect" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


@pytest.mark.cluster
def test_chart_installs_into_the_cluster_and_its_deployment_becomes_available(
    cluster: Any, kube_api: Any, namespace: str
) -> None:
    helm(
        "install",
        "kcd",
        str(CHART),
        "--namespace",
        namespace,
        "-f",
        str(CHART / "ci" / "default-values.yaml"),
        "--wait",
        "--timeout",
        "120s",
        kubeconfig=cluster.kubeconfig,
    )
    apps = client.AppsV1Api(kube_api)
    wait_until(
        lambda: apps.read_namespaced_deployment_status("kcd", namespace).status.available_replicas == 1,
        what="kcd Deployment available",
        timeout=60,
    )
    listed = helm("list", "--namespace", namespace, "--short", kubeconfig=cluster.kubeconfig).stdout.split()
    assert listed == ["kcd"]
    helm("uninstall", "kcd", "--namespace", namespace, "--wait", kubeconfig=cluster.kubeconfig)
