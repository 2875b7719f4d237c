"""The values a Helm user looks for render where they belong, the schema stops wrong types, and the README's values
table is the one values.yaml generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.chart.helm import CHART, helm, template

pytestmark = pytest.mark.chart
ROOT = Path(__file__).resolve().parents[2]


def _deployments(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}


def _kcd_pods(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The controller's and the API's pod templates (the charts' own pods, not the syncers')."""
    found = _deployments(docs)
    return {name: found[name]["spec"]["template"] for name in ("kcd", "kcd-api")}


def test_one_replica_still_elects_a_leader_so_a_surged_or_scaled_pod_never_acts_twice() -> None:
    args = _deployments(template())["kcd"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--leader-elect" in args


def test_every_kcd_pod_and_container_runs_under_the_runtime_default_seccomp_profile_as_non_root() -> None:
    for name, pod in _kcd_pods(template()).items():
        assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["spec"]["containers"]:
            security = container["securityContext"]
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name


def test_pod_annotations_labels_pull_secrets_priority_args_and_env_reach_the_kcd_pods() -> None:
    docs = template(
        "--set", "podAnnotations.team=platform",
        "--set", "podLabels.tier=ops",
        "--set", "imagePullSecrets[0].name=registry-creds",
        "--set", "priorityClassName=system-cluster-critical",
        "--set", "extraArgs[0]=--history=false",
        "--set", "extraEnv[0].name=HTTPS_PROXY",
        "--set", "extraEnv[0].value=http://proxy:3128",
    )  # fmt: skip
    for name, pod in _kcd_pods(docs).items():
        assert pod["metadata"]["annotations"]["team"] == "platform", name
        assert pod["metadata"]["labels"]["tier"] == "ops", name
        assert pod["spec"]["imagePullSecrets"] == [{"name": "registry-creds"}], name
        assert pod["spec"]["priorityClassName"] == "system-cluster-critical", name
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["HTTPS_PROXY"] == "http://proxy:3128", name
    assert "--history=false" in _kcd_pods(docs)["kcd"]["spec"]["containers"][0]["args"]


def test_the_ha_values_add_a_disruption_budget_and_a_service_monitor_for_the_controller() -> None:
    docs = template("-f", str(CHART / "ci" / "ha-values.yaml"))
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    controller = _deployments(docs)["kcd"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= controller.items()
    api = _deployments(docs)["kcd-api"]["spec"]["template"]["metadata"]["labels"]
    assert not pdb["spec"]["selector"]["matchLabels"].items() <= api.items()
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


@pytest.mark.parametrize(
    "setting",
    ["replicas=two", "podAnnotations.team=null", "extraArgs=--flag", "unknownKey=1", "leaderElection.enabled=maybe"],
)
def test_values_of_the_wrong_type_or_unknown_keys_are_rejected_by_the_schema(setting: str) -> None:
    result = helm("template", "kcd", str(CHART), "--set-string" if "two" in setting else "--set", setting, check=False)
    assert result.returncode != 0
    assert "schema" in result.stderr


def test_the_readme_values_table_is_the_one_values_yaml_generates() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools/chart/values_table.py"), str(CHART), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
