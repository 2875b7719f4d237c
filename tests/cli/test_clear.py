"""`kcd rollout clear`: quarantined and held versions out, the drift count reset, and no false "cleared" after it
lost every race with another writer of the status."""

from __future__ import annotations

from typing import Any

import pytest

from kcd.kube.api import KCDS, Body, Kube, Resource
from tests.cli.conftest import Run
from tests.controller.fixtures import create, kcd_body, kcd_status, set_status

pytestmark = pytest.mark.cluster


class StatusWriterInTheWay(Kube):
    """A connection after whose first `races` reads of the KCD another writer changes its status (as the controller
    does), so the CLI's patch conditional on that read gets a real 409 from the API server."""

    def __init__(self, api: Any, races: int) -> None:
        super().__init__(api)
        self.races = races
        self.writes = 0

    def get(self, res: Resource, namespace: str | None, name: str) -> Body:
        body = super().get(res, namespace, name)
        if res is KCDS and namespace and self.writes < self.races:
            self.writes += 1
            super().patch_status(KCDS, namespace, name, {"status": {"currVersion": f"racing{self.writes}"}})
        return body


def _stuck(api: Any, namespace: str) -> None:
    create(api, namespace, kcd_body("app"))
    set_status(
        api,
        namespace,
        "app",
        {
            "currStatus": "Success",
            "successVersion": "aaaaa11",
            "failedVersions": ["bbbbb22"],
            "heldVersions": ["ccccc33", "ddddd44"],
            "drift": {"corrections": 7, "since": "2026-11-26T12:00:00Z", "stalled": True},
        },
    )


def test_clear_takes_held_versions_out_and_resets_the_drift_count(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _stuck(kube_api, namespace)
    result = kcd_cli("rollout", "clear", "app", "-n", namespace)
    assert result.exit_code == 0, result.output
    status = kcd_status(kube_api, namespace, "app")
    assert (status["failedVersions"], status["heldVersions"]) == ([], [])
    assert status["drift"] == {"corrections": 0, "stalled": False}


def test_clear_of_one_held_version_keeps_the_others_and_the_quarantine(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _stuck(kube_api, namespace)
    result = kcd_cli("rollout", "clear", "app", "-n", namespace, "--version", "ccccc33")
    assert result.exit_code == 0, result.output
    status = kcd_status(kube_api, namespace, "app")
    assert (status["failedVersions"], status["heldVersions"]) == (["bbbbb22"], ["ddddd44"])


def test_clear_retries_a_lost_race_from_a_fresh_read(kcd_cli: Run, kube_api: Any, cluster: Any, namespace: str) -> None:
    _stuck(kube_api, namespace)
    kube = StatusWriterInTheWay(Kube.from_config(str(cluster.kubeconfig)).api, races=2)
    result = kcd_cli("rollout", "clear", "app", "-n", namespace, kube=kube)
    assert result.exit_code == 0, result.output
    status = kcd_status(kube_api, namespace, "app")
    assert (status["currVersion"], status["heldVersions"]) == ("racing2", [])


def test_clear_that_loses_every_race_fails_and_says_nothing_was_cleared(
    kcd_cli: Run, kube_api: Any, cluster: Any, namespace: str
) -> None:
    _stuck(kube_api, namespace)
    kube = StatusWriterInTheWay(Kube.from_config(str(cluster.kubeconfig)).api, races=1000)
    result = kcd_cli("rollout", "clear", "app", "-n", namespace, kube=kube)
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: kcd {namespace}/app kept changing") and "nothing was changed" in line
    assert kcd_status(kube_api, namespace, "app")["heldVersions"] == ["ccccc33", "ddddd44"]


def test_rollout_status_shows_the_held_versions(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _stuck(kube_api, namespace)
    result = kcd_cli("rollout", "status", "app", "-n", namespace)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert rows["held"] == ["ccccc33,ddddd44"]
