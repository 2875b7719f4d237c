"""`kcd rollout …`, `kcd history` and `kcd rd get` against the local control plane."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from kubernetes import client

from kcd.cli import _load_commands, cli
from tests import crd
from tests.controller.fixtures import create, kcd_body, kcd_status, set_status, workload

pytestmark = pytest.mark.cluster


@pytest.fixture
def kcd_cli(cluster: Any, kube_api: Any) -> Any:
    crd.install(kube_api)
    _load_commands()

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, [*args, "--kubeconfig", str(cluster.kubeconfig)], catch_exceptions=False)

    return run


def _quarantined(api: Any, namespace: str) -> None:
    create(api, namespace, kcd_body("app"))
    set_status(
        api,
        namespace,
        "app",
        {
            "currStatus": "Failed",
            "currVersion": "bbbbb22",
            "successVersion": "aaaaa11",
            "failedVersions": ["bbbbb22", "ccccc33"],
        },
    )


def test_rollout_clear_takes_one_version_out_of_quarantine(kcd_cli: Any, kube_api: Any, namespace: str) -> None:
    _quarantined(kube_api, namespace)
    result = kcd_cli("rollout", "clear", "app", "-n", namespace, "--version", "bbbbb22")
    assert result.exit_code == 0, result.output
    assert kcd_status(kube_api, namespace, "app")["failedVersions"] == ["ccccc33"]


def test_rollout_clear_without_a_version_clears_them_all(kcd_cli: Any, kube_api: Any, namespace: str) -> None:
    _quarantined(kube_api, namespace)
    assert kcd_cli("rollout", "clear", "app", "-n", namespace).exit_code == 0
    assert kcd_status(kube_api, namespace, "app").get("failedVersions") == []


def test_clearing_a_version_that_is_not_quarantined_fails_with_one_line(
    kcd_cli: Any, kube_api: Any, namespace: str
) -> None:
    _quarantined(kube_api, namespace)
    result = kcd_cli("rollout", "clear", "app", "-n", namespace, "--version", "zzzzz99")
    assert result.exit_code == 1
    assert "zzzzz99 is not quarantined" in result.output


def test_rollout_status_of_a_missing_kcd_exits_1(kcd_cli: Any, namespace: str) -> None:
    result = kcd_cli("rollout", "status", "nope", "-n", namespace)
    assert result.exit_code == 1


def test_pause_and_resume_set_and_remove_the_annotation(kcd_cli: Any, kube_api: Any, namespace: str) -> None:
    create(kube_api, namespace, kcd_body("app"))
    custom = client.CustomObjectsApi(kube_api)
    assert kcd_cli("rollout", "pause", "app", "-n", namespace).exit_code == 0
    meta = custom.get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "app")["metadata"]
    assert meta["annotations"]["kcd.io/paused"] == "true"
    assert kcd_cli("rollout", "resume", "app", "-n", namespace).exit_code == 0
    meta = custom.get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "app")["metadata"]
    assert "kcd.io/paused" not in (meta.get("annotations") or {})


def test_status_history_and_rd_get_print_json(kcd_cli: Any, kube_api: Any, namespace: str) -> None:
    _quarantined(kube_api, namespace)
    record = {
        "version": "aaaaa11",
        "time": "2026-11-26T12:00:00Z",
        "kcd": "app",
        "type": "Deployment",
        "name": "web",
        "container": "app",
        "strategy": "Simple",
        "outcome": "Success",
        "digest": "",
        "durationSeconds": 3.0,
        "reason": "",
    }
    client.CoreV1Api(kube_api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "web.history"}, "data": {"history": json.dumps([record])}}
    )
    status = json.loads(kcd_cli("rollout", "status", "app", "-n", namespace, "-o", "json").output)
    assert (status["currStatus"], status["successVersion"]) == ("Failed", "aaaaa11")
    history = json.loads(kcd_cli("history", "web", "-n", namespace, "-o", "json").output)
    assert [h["version"] for h in history] == ["aaaaa11"]
    create(kube_api, namespace, workload("Deployment", "web", selector_labels={"kcdapp": "app"}))
    listed = json.loads(kcd_cli("rd", "get", "-n", namespace, "-o", "json").output)
    assert [(d["Name"], d["CV"], d["LiveVersion"], d["Status"]) for d in listed] == [
        ("web", "app", "aaaaa11", "Failed")
    ]
    table = kcd_cli("rd", "get", "-n", namespace).output.splitlines()
    assert table[0].split()[:3] == ["NAMESPACE", "NAME", "TYPE"] and "aaaaa11" in table[1]
