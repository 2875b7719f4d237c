"""`kcd rollout status|pause|resume|clear`, `kcd history` and `kcd rd get`: a person's view of and hand on rollouts."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml

from kcd.cli import cli, kubeconfig_option
from kcd.errors import ApiError, Conflict, NotFound
from kcd.kube.api import KCDS, Kube
from kcd.model import PAUSED, ConditionType, Status, find_condition

namespace_option = click.option("-n", "--namespace", default="default", show_default=True)
output_option = click.option(
    "-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True
)


def _kube(kubeconfig: str | None) -> Kube:
    try:
        return Kube.from_config(kubeconfig)
    except Exception as err:  # noqa: BLE001 - any config problem is one line for a person
        raise click.ClickException(f"cannot load the Kubernetes configuration: {err}") from None


def _fail(err: ApiError) -> None:
    click.echo(f"Error: {err}", err=True)
    sys.exit(1)


def _emit(data: Any, output: str, table: list[list[str]]) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


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
    try:
        body = _kube(kubeconfig).get(KCDS, namespace, kcd)
    except ApiError as err:
        return _fail(err)
    raw = body.get("status") or {}
    st = Status.from_dict(raw)
    ready = find_condition(st.conditions, ConditionType.READY)
    rows = [
        ["FIELD", "VALUE"],
        ["status", str(st.curr_status or "")],
        ["version", st.curr_version],
        ["live", st.success_version],
        ["phase", str(st.rollout.phase) if st.rollout else ""],
        ["quarantined", ",".join(st.failed_versions)],
        ["ready", f"{ready.status} {ready.reason}: {ready.message}" if ready else " : "],
    ]
    _emit(raw, output, rows)


def _set_paused(kcd: str, namespace: str, kubeconfig: str | None, paused: bool) -> None:
    patch = {"metadata": {"annotations": {PAUSED: "true" if paused else None}}}
    try:
        _kube(kubeconfig).patch(KCDS, namespace, kcd, patch)
    except ApiError as err:
        return _fail(err)
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


@rollout.command("clear")
@click.argument("kcd")
@click.option("--version", "version", default=None, help="clear only this version (default: every quarantined one)")
@namespace_option
@kubeconfig_option
def clear(kcd: str, version: str | None, namespace: str, kubeconfig: str | None) -> None:
    """Take failed versions out of quarantine, so that the controller may deploy them again."""
    kube = _kube(kubeconfig)
    try:
        for _attempt in range(5):
            body = kube.get(KCDS, namespace, kcd)
            failed = list((body.get("status") or {}).get("failedVersions") or [])
            if version is not None and version not in failed:
                raise click.ClickException(
                    f"{version} is not quarantined on {namespace}/{kcd} ({failed or 'none are'})"
                )
            kept = [v for v in failed if version is not None and v != version]
            # Conditional on what we read: the controller writes status too.
            patch = {
                "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
                "status": {"failedVersions": kept},
            }
            try:
                kube.patch_status(KCDS, namespace, kcd, patch)
                break
            except Conflict:
                continue
    except ApiError as err:
        return _fail(err)
    click.echo(f"cleared {', '.join(v for v in failed if v not in kept) or 'nothing'} on {namespace}/{kcd}")


@cli.command("history")
@click.argument("workload")
@namespace_option
@kubeconfig_option
@output_option
def history_cmd(workload: str, namespace: str, kubeconfig: str | None, output: str) -> None:
    """The rollout history of a workload, newest first."""
    from kcd.kube.cluster import ConfigMapHistory

    try:
        records = ConfigMapHistory(_kube(kubeconfig)).load(namespace, workload)
    except NotFound:
        records = []
    except ApiError as err:
        return _fail(err)
    rows = [["TIME", "VERSION", "OUTCOME", "DURATION", "KCD", "REASON"]] + [
        [r.time, r.version, str(r.outcome), f"{r.duration_seconds:.0f}s", r.kcd, r.reason[:60]] for r in records
    ]
    _emit([r.to_dict() for r in records], output, rows)


def _summary(item: dict[str, Any]) -> dict[str, str]:
    st = item.get("status") or {}
    return {
        "namespace": item["metadata"]["namespace"],
        "name": item["metadata"]["name"],
        "container": item["spec"].get("container", {}).get("name", ""),
        "tag": item["spec"].get("tag", ""),
        "status": st.get("currStatus") or "",
        "currVersion": st.get("currVersion") or "",
        "liveVersion": st.get("successVersion") or "",
        "lastUpdated": st.get("currStatusTime") or "",
    }


@cli.group("rd")
def rd() -> None:
    """Resources kcd manages."""


@rd.command("get")
@kubeconfig_option
@click.option("-n", "--namespace", default=None, help="one namespace (default: all)")
@output_option
def rd_get(kubeconfig: str | None, namespace: str | None, output: str) -> None:
    """Every KCD with its live and current version."""
    try:
        items = _kube(kubeconfig).list(KCDS, namespace)
    except ApiError as err:
        return _fail(err)
    data = [_summary(i) for i in items]
    rows = [["NAMESPACE", "NAME", "TAG", "STATUS", "VERSION", "LIVE", "UPDATED"]] + [
        [d["namespace"], d["name"], d["tag"], d["status"], d["currVersion"], d["liveVersion"], d["lastUpdated"]]
        for d in data
    ]
    _emit(data, output, rows)
