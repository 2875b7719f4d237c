"""`kcd rollout rollback`: it asks the controller for a rollback through the KCD's annotations, never by writing status.

Covered: the default target from the selected workloads' history (skipping the live, held and other KCDs' versions),
an explicit --to, the request's annotations (target, time, requester), and the one-line refusals with their exit codes.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client

from kcd import model
from kcd.cli import _load_commands, cli
from tests.cli.conftest import Run
from tests.controller.fixtures import create, kcd_body, kcd_status, set_status, workload

pytestmark = pytest.mark.cluster

DIGEST = "sha256:" + "ab" * 32


def _record(version: str, outcome: str, time: str, *, kcd: str = "app", name: str = "web") -> dict[str, Any]:
    return {
        "version": version,
        "time": time,
        "kcd": kcd,
        "type": "Deployment",
        "name": name,
        "container": "app",
        "outcome": outcome,
    }


def _history(api: Any, namespace: str, workload_name: str, records: list[dict[str, Any]]) -> None:
    body = {"metadata": {"name": f"{workload_name}.history"}, "data": {"history": json.dumps(records)}}
    client.CoreV1Api(api).create_namespaced_config_map(namespace, body)


def _live(api: Any, namespace: str, version: str = "ccccc33", **status: Any) -> None:
    """KCD `app` selecting the Deployment `web`, with `version` live."""
    create(api, namespace, kcd_body("app"))
    create(api, namespace, workload("Deployment", "web", selector_labels={"kcdapp": "app"}))
    set_status(
        api, namespace, "app", {"currStatus": "Success", "currVersion": version, "successVersion": version, **status}
    )


def _annotations(api: Any, namespace: str) -> dict[str, str]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "app")
    return dict(obj["metadata"].get("annotations") or {})


def _context_user(cluster: Any) -> str:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    (context,) = [c for c in config["contexts"] if c["name"] == config["current-context"]]
    return str(context["context"]["user"])


def test_rollback_without_to_requests_the_newest_earlier_success_from_history(
    kcd_cli: Run, kube_api: Any, cluster: Any, namespace: str
) -> None:
    _live(kube_api, namespace)
    _history(
        kube_api,
        namespace,
        "web",
        [
            _record("ccccc33", "Success", "2026-11-26T12:20:00Z"),
            _record("bbbbb22", "Failed", "2026-11-26T12:10:00Z"),
            _record("aaaaa11", "Success", "2026-11-26T12:00:00Z"),
        ],
    )
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    result = kcd_cli("rollout", "rollback", "app", "-n", namespace)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "rollback of app to aaaaa11 requested (held: ccccc33)"
    notes = _annotations(kube_api, namespace)
    assert notes[model.ROLLBACK_TO] == "aaaaa11"
    requested = model.parse_time(notes[model.ROLLBACK_REQUESTED_AT])
    assert requested is not None and before <= requested <= before + datetime.timedelta(seconds=30)
    assert notes[model.ROLLBACK_BY] == _context_user(cluster)


def test_rollback_leaves_the_status_to_the_controller(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _live(kube_api, namespace)
    before = kcd_status(kube_api, namespace, "app")
    assert kcd_cli("rollout", "rollback", "app", "-n", namespace, "--to", "aaaaa11").exit_code == 0
    assert kcd_status(kube_api, namespace, "app") == before


def test_the_default_target_skips_held_versions_and_other_kcds_records_across_workloads(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, "ccccc33", heldVersions=["ddddd44"])
    create(kube_api, namespace, workload("StatefulSet", "db", selector_labels={"kcdapp": "app"}))
    _history(
        kube_api,
        namespace,
        "web",
        [
            _record("ccccc33", "Success", "2026-11-26T12:40:00Z"),
            _record("ddddd44", "Success", "2026-11-26T12:30:00Z"),
            _record("eeeee55", "Success", "2026-11-26T12:25:00Z", kcd="other"),
            _record("aaaaa11", "Success", "2026-11-26T12:00:00Z"),
        ],
    )
    _history(kube_api, namespace, "db", [_record("bbbbb22", "Success", "2026-11-26T12:10:00Z", name="db")])
    result = kcd_cli("rollout", "rollback", "app", "-n", namespace)
    assert result.exit_code == 0, result.output
    assert _annotations(kube_api, namespace)[model.ROLLBACK_TO] == "bbbbb22"


@pytest.mark.parametrize("target", ["bbbbb22", DIGEST])
def test_rollback_to_a_given_tag_or_digest_requests_exactly_that(
    kcd_cli: Run, kube_api: Any, namespace: str, target: str
) -> None:
    _live(kube_api, namespace)
    result = kcd_cli("rollout", "rollback", "app", "-n", namespace, "--to", target)
    assert result.exit_code == 0, result.output
    assert _annotations(kube_api, namespace)[model.ROLLBACK_TO] == target


def test_a_new_request_is_later_than_the_previous_one_so_the_controller_carries_it_out(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace)
    previous = "2099-01-01T00:00:00Z"  # the previous request's time, e.g. a request made this very second
    patch = {"metadata": {"annotations": {model.ROLLBACK_REQUESTED_AT: previous}}}
    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", "app", patch)
    assert kcd_cli("rollout", "rollback", "app", "-n", namespace, "--to", "bbbbb22").exit_code == 0
    assert _annotations(kube_api, namespace)[model.ROLLBACK_REQUESTED_AT] == "2099-01-01T00:00:01Z"


def test_rollback_to_the_live_version_during_a_rollout_holds_the_version_in_flight(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace, rollout={"version": "ddddd44", "phase": "Waiting"})
    result = kcd_cli("rollout", "rollback", "app", "-n", namespace, "--to", "ccccc33")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "rollback of app to ccccc33 requested (held: ddddd44)"


def test_rollback_to_the_live_version_with_no_rollout_in_flight_is_refused(
    kcd_cli: Run, kube_api: Any, namespace: str
) -> None:
    _live(kube_api, namespace)
    result = kcd_cli("rollout", "rollback", "app", "-n", namespace, "--to", "ccccc33")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: ccccc33 is already live on {namespace}/app"]
    assert model.ROLLBACK_TO not in _annotations(kube_api, namespace)


def test_rollback_without_an_earlier_success_in_history_is_refused(kcd_cli: Run, kube_api: Any, namespace: str) -> None:
    _live(kube_api, namespace)
    _history(kube_api, namespace, "web", [_record("ccccc33", "Success", "2026-11-26T12:20:00Z")])
    result = kcd_cli("rollout", "rollback", "app", "-n", namespace)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no previous version" in result.stderr
    assert model.ROLLBACK_TO not in _annotations(kube_api, namespace)


def test_rollback_of_a_missing_kcd_fails_with_one_line(kcd_cli: Run, namespace: str) -> None:
    result = kcd_cli("rollout", "rollback", "nope", "-n", namespace, "--to", "aaaaa11")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: kcd {namespace}/nope not found"]


@pytest.mark.parametrize("target", ["repo:tag", "-leading-dash", "sha256:abc", "x" * 129])
def test_a_to_value_that_is_neither_a_tag_nor_a_digest_is_a_usage_error(target: str) -> None:
    _load_commands()
    result = CliRunner().invoke(cli, ["rollout", "rollback", "app", f"--to={target}"])
    assert result.exit_code == 2
    assert "not a valid tag or sha256 digest" in result.stderr
