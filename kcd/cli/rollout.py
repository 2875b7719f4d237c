"""`kcd rollout status|pause|resume|clear`: a person's view of and hand on a KCD's rollouts (rollback: rollback.py).

Status is the controller's: the CLI writes it only to clear what a person put there (quarantine, holds, the drift
count), conditionally on the status it read. Everything else a person asks for goes through annotations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from kcd.cli import cli, kubeconfig_option
from kcd.cli.common import api_failure, connect, emit, get_kcd, namespace_option, output_option, update_kcd
from kcd.errors import ApiError
from kcd.kube.api import KCDS, Body
from kcd.model import PAUSED, ConditionType, Drift, Status, find_condition


@cli.group("rollout")
def rollout() -> None:
    """Inspect and steer the rollouts of a KCD."""


@rollout.command("status")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
@output_option
def status(kcd: str, namespace: str, kubeconfig: str | None, output: str) -> None:
    """Where the KCD's rollout stands."""
    raw = get_kcd(connect(kubeconfig), namespace, kcd).get("status") or {}
    st = Status.from_dict(raw)
    ready = find_condition(st.conditions, ConditionType.READY)
    rows = [
        ["FIELD", "VALUE"],
        ["status", str(st.curr_status or "")],
        ["version", st.curr_version],
        ["live", st.success_version],
        ["phase", str(st.rollout.phase) if st.rollout else ""],
        ["quarantined", ",".join(st.failed_versions)],
        ["held", ",".join(st.held_versions)],
        ["ready", f"{ready.status} {ready.reason}: {ready.message}" if ready else " : "],
    ]
    emit(raw, output, rows)


def _set_paused(kcd: str, namespace: str, kubeconfig: str | None, paused: bool) -> None:
    patch = {"metadata": {"annotations": {PAUSED: "true" if paused else None}}}
    try:
        connect(kubeconfig).patch(KCDS, namespace, kcd, patch)
    except ApiError as err:
        raise api_failure(err) from None
    click.echo(f"kcd {namespace}/{kcd} {'paused' if paused else 'resumed'}")


@rollout.command("pause")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def pause(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """Start no new rollouts for this KCD (a running one finishes)."""
    _set_paused(kcd, namespace, kubeconfig, True)


@rollout.command("resume")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def resume(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """Allow rollouts again."""
    _set_paused(kcd, namespace, kubeconfig, False)


def _clearing(key: str, version: str | None) -> Callable[[Body], Body]:
    """The status patch that clears `version` (None: every quarantined and held version, and the drift count)."""

    def keep(versions: Sequence[str]) -> list[str]:
        return [v for v in versions if version is not None and v != version]

    def decide(body: Body) -> Body:
        st = Status.from_dict(body.get("status"))
        if version is not None and version not in (*st.failed_versions, *st.held_versions):
            quarantined, held = ", ".join(st.failed_versions) or "none", ", ".join(st.held_versions) or "none"
            raise click.ClickException(
                f"{version} is not quarantined or held on {key} (quarantined: {quarantined}; held: {held})"
            )
        patch: Body = {"failedVersions": keep(st.failed_versions), "heldVersions": keep(st.held_versions)}
        if version is None:
            patch["drift"] = Drift().to_dict()  # since: null removes the window's start
        return {"status": patch}

    return decide


def _cleared(before: Status, patch: Body) -> str:
    new = patch["status"]
    parts = []
    if gone := [v for v in before.failed_versions if v not in new["failedVersions"]]:
        parts.append(f"quarantined {', '.join(gone)}")
    if gone := [v for v in before.held_versions if v not in new["heldVersions"]]:
        parts.append(f"held {', '.join(gone)}")
    if "drift" in new and (before.drift.corrections or before.drift.stalled):
        parts.append(f"the drift count ({before.drift.corrections}{', stalled' if before.drift.stalled else ''})")
    return "; ".join(parts) or "nothing"


@rollout.command("clear")
@click.argument("kcd")
@click.option("--version", "version", default=None, help="clear only this version (default: all, and the drift count)")
@namespace_option
@kubeconfig_option
def clear(kcd: str, version: str | None, namespace: str, kubeconfig: str | None) -> None:
    """Let the controller deploy quarantined (failed) and held (rolled back from) versions again.

    Without --version it also resets the drift count, so a KCD that stopped correcting drift (Stalled) corrects again.
    """
    key = f"{namespace}/{kcd}"
    body, patch = update_kcd(connect(kubeconfig), namespace, kcd, _clearing(key, version), status=True, what="clearing")
    click.echo(f"cleared {_cleared(Status.from_dict(body.get('status')), patch)} on {key}")
