"""`kcd history <workload>`: the workload's rollout records, newest first, as a table, JSON or YAML; a workload
without history is one error line (exit 1)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.cli.conftest import Run

pytestmark = pytest.mark.cluster


def _record(version: str, outcome: str, time: str, reason: str = "") -> dict[str, Any]:
    return {
        "version": version,
        "digest": "",
        "time": time,
        "kcd": "app",
        "type": "Deployment",
        "name": "web",
        "container": "app",
        "strategy": "Simple",
        "outcome": outcome,
        "durationSeconds": 42.0,
        "reason": reason,
    }


RECORDS = [
    _record("bbbbb22", "RolledBack", "2026-11-26T12:10:00Z", "not ready in time;\nrolled back to aaaaa11"),
    _record("aaaaa11", "Success", "2026-11-26T12:00:00Z"),
]


def _history(api: Any, namespace: str) -> None:
    body = {"metadata": {"name": "web.history"}, "data": {"history": json.dumps(RECORDS)}}
    client.CoreV1Api(api).create_namespaced_config_map(namespace, body)


def test_history_table_lists_the_records_newest_first(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _history(kube_api, namespace)
    result = kcd_cli("history", "web", "-n", namespace)
    assert result.exit_code == 0, result.output
    header, newest, oldest = result.stdout.splitlines()
    assert header.split() == ["TIME", "VERSION", "OUTCOME", "DURATION", "KCD", "REASON"]
    assert newest.split()[:5] == ["2026-11-26T12:10:00Z", "bbbbb22", "RolledBack", "42s", "app"]
    assert newest.endswith("  not ready in time; rolled back to aaaaa11")  # the reason on one line
    assert oldest.split() == ["2026-11-26T12:00:00Z", "aaaaa11", "Success", "42s", "app"]


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_history_json_and_yaml_print_the_records_as_stored(
    kcd_cli: Run, kube_api: Any, namespace: str, output: str
) -> None:
    _history(kube_api, namespace)
    result = kcd_cli("history", "web", "-n", namespace, "-o", output)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == RECORDS


def test_history_of_a_workload_without_history_is_one_line_and_exit_1(kcd_cli: Run, namespace: str) -> None:
    result = kcd_cli("history", "nope", "-n", namespace)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: no rollout history for {namespace}/nope (no ConfigMap nope.history)"]


def test_history_without_a_workload_is_a_usage_error(kcd_cli: Run, namespace: str) -> None:
    result = kcd_cli("history", "-n", namespace)
    assert result.exit_code == 2
    assert "Missing argument 'WORKLOAD'" in result.stderr
