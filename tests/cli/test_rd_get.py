"""`kcd rd get`: one row per managed workload (the original's columns), `-o json|yaml` the items of
GET /v1/kcd/workloads (kcd.overview.items), `-n` one namespace."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from kcd import overview, syncerhealth
from kcd.cli.listing import managed
from kcd.kube.api import Kube
from kcd.model import CANDIDATE_VERSION
from tests.cli.conftest import Run
from tests.controller.fixtures import create, kcd_body, set_status, workload
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster

FAILING = "registry 401: unauthorized"
HEADER = [
    "NAMESPACE",
    "NAME",
    "TYPE",
    "CONTAINER",
    "VERSION",
    "PODS",
    "KCD",
    "TAG",
    "STATUS",
    "LIVE",
    "CANDIDATE",
    "SYNCER",
]


@pytest.fixture
def other_namespace(kube_api: Any) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def _lease(api: Any, namespace: str, workload_name: str) -> None:
    """The syncer's Lease of Deployment `workload_name`, renewed now, its last poll failed since 10:02."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "metadata": {
            "name": syncerhealth.lease_name("Deployment", workload_name),
            "labels": {"app.kubernetes.io/component": "kcd-syncer"},
            "annotations": {syncerhealth.ERROR: FAILING, syncerhealth.ERROR_SINCE: "2026-12-01T10:02:00Z"},
        },
        "spec": {"holderIdentity": "web-1", "leaseDurationSeconds": 60, "renewTime": now},
    }
    client.CoordinationV1Api(api).create_namespaced_lease(namespace, body)


def _managed(api: Any, namespace: str) -> None:
    """KCD `app` selecting Deployment `web` (2 pods, candidate bbbbb22, a failing syncer) and StatefulSet `db`."""
    create(api, namespace, kcd_body("app"))
    create(api, namespace, workload("Deployment", "web", selector_labels={"kcdapp": "app"}))
    create(api, namespace, workload("StatefulSet", "db", replicas=1, selector_labels={"kcdapp": "app"}))
    create(api, namespace, workload("Deployment", "unmanaged", selector_labels={"other": "x"}))
    patch = {"metadata": {"annotations": {CANDIDATE_VERSION: "bbbbb22"}}}
    client.AppsV1Api(api).patch_namespaced_deployment("web", namespace, patch)
    set_status(api, namespace, "app", {"currStatus": "Success", "currVersion": "aaaaa11", "successVersion": "aaaaa11"})
    _lease(api, namespace, "web")
    apps = client.AppsV1Api(api)

    def available() -> bool:
        web = apps.read_namespaced_deployment_status("web", namespace).status
        db = apps.read_namespaced_stateful_set_status("db", namespace).status
        return (web.available_replicas, db.available_replicas) == (2, 1)

    wait_until(available, what="web's 2 pods and db's 1 available", timeout=60)


def test_rd_get_shows_one_row_per_managed_workload_with_pods_and_syncer(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _managed(kube_api, namespace)
    result = kcd_cli("rd", "get", "-n", namespace)
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == HEADER
    db, web = rows
    common = ["app", "env-prod", "Success", "aaaaa11"]
    assert db.split()[:10] == [namespace, "db", "StatefulSet", "app", "aaaaa11", "1", *common]
    assert db.endswith("no syncer has reported (no Lease)")
    assert web.split()[:11] == [namespace, "web", "Deployment", "app", "aaaaa11", "2", *common, "bbbbb22"]
    assert web.endswith(f"{FAILING} since 10:02 UTC")


def test_rd_get_json_prints_exactly_the_workloads_endpoint_items(
    kcd_cli: Run, kube_api: Any, cluster: Any, namespace: str
) -> None:
    _managed(kube_api, namespace)
    result = kcd_cli("rd", "get", "-n", namespace, "-o", "json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    kube = Kube.from_config(str(cluster.kubeconfig))
    assert printed == managed(kube, namespace, datetime.datetime.now(datetime.UTC))
    assert [tuple(item) for item in printed] == [overview.KEYS, overview.KEYS]
    assert [(i["Name"], i["AvailablePods"], i["Syncer"]["State"]) for i in printed] == [
        ("db", 1, "Missing"),
        ("web", 2, "Failing"),
    ]


def test_rd_get_yaml_prints_the_same_items_as_json(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _managed(kube_api, namespace)
    as_json = json.loads(kcd_cli("rd", "get", "-n", namespace, "-o", "json").stdout)
    as_yaml = yaml.safe_load(kcd_cli("rd", "get", "-n", namespace, "-o", "yaml").stdout)
    assert as_yaml == as_json


def test_rd_get_with_a_namespace_lists_only_that_namespace_and_without_lists_all(
    kcd_cli: Run, kube_api: Any, namespace: str, other_namespace: str
) -> None:
    for ns in (namespace, other_namespace):
        create(kube_api, ns, kcd_body("app"))
        create(kube_api, ns, workload("Deployment", "web", selector_labels={"kcdapp": "app"}))
    one = json.loads(kcd_cli("rd", "get", "-n", other_namespace, "-o", "json").stdout)
    assert [(i["Namespace"], i["Name"]) for i in one] == [(other_namespace, "web")]
    every = json.loads(kcd_cli("rd", "get", "-o", "json").stdout)
    assert {(namespace, "web"), (other_namespace, "web")} <= {(i["Namespace"], i["Name"]) for i in every}


def test_rd_get_of_a_namespace_without_kcds_prints_only_the_header(kcd_cli: Run, namespace: str) -> None:
    result = kcd_cli("rd", "get", "-n", namespace)
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.stdout.splitlines()] == [HEADER]
    assert json.loads(kcd_cli("rd", "get", "-n", namespace, "-o", "json").stdout) == []
