"""`kcd registry sync` and `kcd-syncer` refuse an incomplete configuration with a usage error and one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kcd.cli import _load_commands, cli

_load_commands()


def test_sync_outside_a_pod_needs_the_workload() -> None:
    result = CliRunner().invoke(
        cli, ["registry", "sync", "--namespace", "ns", "--kcd", "web"], env={"KCD_WORKLOAD_KIND": ""}
    )
    assert result.exit_code == 2
    assert "--workload" in result.output


@pytest.mark.parametrize("workload", ["web", "pod/web", "deployment/"])
def test_sync_refuses_a_malformed_workload(workload: str) -> None:
    result = CliRunner().invoke(cli, ["registry", "sync", "-n", "ns", "--kcd", "web", "--workload", workload])
    assert result.exit_code == 2
    assert "KIND/NAME" in result.output


def test_the_syncer_without_its_environment_exits_2_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCD_")}
    out = subprocess.run([sys.executable, "-m", "sidecar"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == "kcd-syncer: missing environment: KCD_NAMESPACE, KCD_NAME, KCD_WORKLOAD_KIND, KCD_WORKLOAD_NAME"
    )


def test_the_syncer_outside_a_pod_says_how_to_reach_the_api() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KCD_", "KUBERNETES_"))}
    env.update(KCD_NAMESPACE="ns", KCD_NAME="web", KCD_WORKLOAD_KIND="Deployment", KCD_WORKLOAD_NAME="web")
    out = subprocess.run([sys.executable, "-m", "sidecar"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert "KCD_KUBECONFIG" in out.stderr


@pytest.mark.parametrize("workload", ["replicaset/web", "job/web", "pod/web"])
def test_sync_accepts_only_the_managed_workload_kinds(workload: str) -> None:
    # A separate process: an accepted workload would replace the running process with the syncer.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KCD_", "KUBERNETES_"))}
    argv = [sys.executable, "-m", "kcd", "registry", "sync", "-n", "ns", "--kcd", "web", "--workload", workload]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for --workload: expected KIND/NAME with KIND one of "
        "Deployment, StatefulSet, DaemonSet, CronJob"
    )
