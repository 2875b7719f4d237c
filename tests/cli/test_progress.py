"""The pieces of `kcd rollout status`'s live display: one workload's progress, the outcome line and the redraw. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from kcd.cli.rollout import Display, ending, workload_progress


def _deployment(image: str, *, replicas: int, updated: int, available: int, seen: bool = True) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 4},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {"observedGeneration": 4 if seen else 3, "updatedReplicas": updated, "availableReplicas": available},
    }


def test_a_deployment_shows_its_version_and_updated_and_available_pods() -> None:
    body = _deployment("r/app:bbbbb22", replicas=3, updated=2, available=2)
    assert workload_progress(body, "app") == "deployment/web bbbbb22 2/3 updated, 2 available"


def test_a_deployment_whose_new_template_is_not_yet_seen_has_nothing_updated() -> None:
    body = _deployment("r/app:bbbbb22", replicas=3, updated=3, available=3, seen=False)
    assert workload_progress(body, "app") == "deployment/web bbbbb22 0/3 updated, 3 available"


def test_a_daemonset_counts_scheduled_pods() -> None:
    body = {
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "r/app:ccccc33"}]}}},
        "status": {"desiredNumberScheduled": 4, "updatedNumberScheduled": 1, "numberAvailable": 3},
    }
    assert workload_progress(body, "app") == "daemonset/agent ccccc33 1/4 updated, 3 available"


def _status(curr: str, reason: str, message: str) -> dict[str, Any]:
    ready = {"type": "Ready", "status": "True", "reason": reason, "message": message, "lastTransitionTime": ""}
    return {"status": {"currStatus": curr, "successVersion": "aaaaa11", "conditions": [ready]}}


@pytest.mark.parametrize(
    ("status", "line", "code"),
    [
        (_status("Success", "RolloutSucceeded", "b is live"), "Success: b is live", 0),
        (_status("Failed", "RolloutFailed", "b failed: x"), "Failed: b failed: x", 1),
        (_status("Failed", "RolledBack", "b failed; rolled back"), "RolledBack: b failed; rolled back", 1),
        ({"status": {"currStatus": "Success", "successVersion": "aaaaa11"}}, "Success: aaaaa11 is live", 0),
    ],
)
def test_the_outcome_line_and_exit_code_follow_the_kcd_status(status: dict[str, Any], line: str, code: int) -> None:
    assert ending(status) == (line, code)


def test_without_a_terminal_a_line_is_printed_only_when_something_but_the_time_changed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    display = Display(tty=False)
    display.show("rollout of b on ns/app: Waiting", ["deployment/web b 1/2 updated, 1 available"], 3)
    display.show("rollout of b on ns/app: Waiting", ["deployment/web b 1/2 updated, 1 available"], 4)
    display.show("rollout of b on ns/app: Waiting", ["deployment/web b 2/2 updated, 2 available"], 5)
    assert capsys.readouterr().out.splitlines() == [
        "[   3 s] rollout of b on ns/app: Waiting: deployment/web b 1/2 updated, 1 available",
        "[   5 s] rollout of b on ns/app: Waiting: deployment/web b 2/2 updated, 2 available",
    ]


def test_on_a_terminal_the_block_is_redrawn_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    display = Display(tty=True)
    display.show("rollout of b on ns/app: Waiting", ["deployment/web b 1/2 updated"], 3)
    display.show("rollout of b on ns/app: Waiting", ["deployment/web b 2/2 updated"], 4)
    out = capsys.readouterr().out
    first, second = out.split("\x1b[2F\x1b[J")  # back up over the two lines drawn, clear to the end
    assert first == "rollout of b on ns/app: Waiting (3 s)\n  deployment/web b 1/2 updated\n"
    assert second == "rollout of b on ns/app: Waiting (4 s)\n  deployment/web b 2/2 updated\n"
