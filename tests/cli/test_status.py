"""`kcd rollout status`: the state of a KCD, and a rollout in flight followed until it ends; the exit code is how the
rollout ended (0 Success, 1 Failed, rolled back or timed out, 2 usage)."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from click.testing import CliRunner

from kcd.cli import _load_commands, cli
from kcd.kube.api import Body, Kube, Resource
from kcd.model import format_time
from tests.cli.conftest import Run
from tests.controller.fixtures import create, kcd_body, set_status, workload

pytestmark = pytest.mark.cluster

FAST = ("--interval", "0.1", "--timeout", "60")  # a test that goes wrong ends


def _ready(ok: bool, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-12-01T10:00:00Z",
        "observedGeneration": 1,
    }


def _flight(version: str, phase: str) -> dict[str, Any]:
    now = format_time(datetime.datetime.now(datetime.UTC))
    return {"version": version, "phase": phase, "startedAt": now, "phaseStartedAt": now}


def _app(api: Any, namespace: str, **status: Any) -> None:
    """KCD `app` selecting the Deployment `web`, with aaaaa11 live and `status` on top."""
    create(api, namespace, kcd_body("app"))
    create(api, namespace, workload("Deployment", "web", selector_labels={"kcdapp": "app"}))
    set_status(api, namespace, "app", {"currStatus": "Success", "successVersion": "aaaaa11", **status})


class CountingReads(Kube):
    """The CLI's connection, counting its reads of KCDs so that the test's writer can wait for it to see a step."""

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self.reads = 0
        self.changed = threading.Condition()

    def get(self, res: Resource, namespace: str | None, name: str) -> Body:
        body = super().get(res, namespace, name)
        with self.changed:
            self.reads += 1
            self.changed.notify_all()
        return body

    def wait_reads(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.reads >= count, timeout=30), f"{self.reads} reads, not {count}"


def _later(api: Any, kube: CountingReads, namespace: str, steps: list[dict[str, Any]]) -> threading.Thread:
    """Write `steps` to the KCD's status one after another, as the controller would, each once the CLI has read (and
    so shown) the one before: a slow machine cannot make the CLI miss a step."""

    def write() -> None:
        for step in steps:
            kube.wait_reads(kube.reads + 2)  # the read after the write (or the first read), and one more
            set_status(api, namespace, "app", step)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def counting(cluster: Any) -> CountingReads:
    return CountingReads(Kube.from_config(str(cluster.kubeconfig)).api)


def _phases(lines: list[str]) -> list[str]:
    """The phases in the order printed (a phase prints again when a workload's pods change)."""
    return list(dict.fromkeys(line.split(": ")[1] for line in lines))


def test_status_of_a_kcd_whose_last_rollout_succeeded_exits_0(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _app(kube_api, namespace, conditions=[_ready(True, "RolloutSucceeded", "aaaaa11 is live")])
    result = kcd_cli("rollout", "status", "app", "-n", namespace)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert (rows["status"], rows["live"]) == (["Success"], ["aaaaa11"])


def test_status_of_a_kcd_whose_last_rollout_failed_exits_1_and_prints_the_state(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _app(kube_api, namespace, currStatus="Failed", currVersion="bbbbb22", failedVersions=["bbbbb22"])
    result = kcd_cli("rollout", "status", "app", "-n", namespace)
    assert result.exit_code == 1
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert (rows["status"], rows["quarantined"]) == (["Failed"], ["bbbbb22"])
    assert result.stderr == ""


def test_following_a_rollout_prints_each_phase_and_exits_0_when_it_succeeds(
    kcd_cli: Run, kube_api: Any, counting: CountingReads, namespace: str
) -> None:
    _app(kube_api, namespace, currStatus="Progressing", rollout=_flight("bbbbb22", "Verifying"))
    done = {
        "rollout": None,
        "currStatus": "Success",
        "currVersion": "bbbbb22",
        "successVersion": "bbbbb22",
        "conditions": [_ready(True, "RolloutSucceeded", "bbbbb22 is live on deployment/web")],
    }
    writer = _later(kube_api, counting, namespace, [{"rollout": _flight("bbbbb22", "Waiting")}, done])
    result = kcd_cli("rollout", "status", "app", "-n", namespace, *FAST, kube=counting)
    writer.join()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert _phases(lines[:-1]) == ["Verifying", "Waiting"]
    assert any(f"rollout of bbbbb22 on {namespace}/app: Waiting: deployment/web aaaaa11 " in line for line in lines)
    assert lines[-1] == "Success: bbbbb22 is live on deployment/web"


def test_following_a_rollout_that_is_rolled_back_exits_1(
    kcd_cli: Run, kube_api: Any, counting: CountingReads, namespace: str
) -> None:
    _app(kube_api, namespace, currStatus="Progressing", rollout=_flight("bbbbb22", "Waiting"))
    message = "bbbbb22 failed: not ready in time; rolled back to aaaaa11"
    rolled_back = {
        "rollout": None,
        "currStatus": "Failed",
        "currVersion": "bbbbb22",
        "failedVersions": ["bbbbb22"],
        "conditions": [_ready(False, "RolledBack", message)],
    }
    writer = _later(kube_api, counting, namespace, [{"rollout": _flight("bbbbb22", "RollingBack")}, rolled_back])
    result = kcd_cli("rollout", "status", "app", "-n", namespace, *FAST, kube=counting)
    writer.join()
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert _phases(lines[:-1]) == ["Waiting", "RollingBack"]
    assert lines[-1] == f"RolledBack: {message}"


def test_a_rollout_still_in_flight_at_the_timeout_fails_with_one_line(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _app(kube_api, namespace, currStatus="Progressing", rollout=_flight("bbbbb22", "Waiting"))
    result = kcd_cli("rollout", "status", "app", "-n", namespace, "--timeout", "0.5", "--interval", "0.1")
    assert result.exit_code == 1
    line = f"Error: timed out after 0.5 s: rollout of bbbbb22 on {namespace}/app: Waiting"
    assert result.stderr.splitlines() == [line]


def test_no_follow_prints_the_rollout_in_flight_once_and_exits_0(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _app(kube_api, namespace, currStatus="Progressing", rollout=_flight("bbbbb22", "Waiting"))
    result = kcd_cli("rollout", "status", "app", "-n", namespace, "--no-follow")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert (rows["status"], rows["phase"]) == (["Progressing"], ["Waiting"])


def test_status_of_a_missing_kcd_is_one_line_and_exit_1(kcd_cli: Run, namespace: str) -> None:
    result = kcd_cli("rollout", "status", "nope", "-n", namespace)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"Error: kcd {namespace}/nope not found"]


@pytest.mark.parametrize("args", [[], ["app", "--timeout", "-1"], ["app", "-o", "xml"]])
def test_bad_status_arguments_are_usage_errors(args: list[str]) -> None:
    _load_commands()
    result = CliRunner().invoke(cli, ["rollout", "status", *args])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: ")
