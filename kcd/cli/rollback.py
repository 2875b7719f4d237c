"""`kcd rollout rollback`: ask the controller to roll a KCD back, by annotating the KCD (the CLI never writes status).

The request is three annotations: kcd.io/rollback-to (the target version), kcd.io/rollback-requested-at (its id: the
controller carries out each value once and records it in status.lastRollback) and kcd.io/rollback-by (who asked).
The controller holds the versions rolled away from in status.heldVersions, so the next poll does not bring them back,
and rolls out the target like any version. The hold is sticky: `kcd rollout clear` lifts it.

Without --to the target is the previous live version: the newest Success in the history of the KCD's workloads that
is not the live version, nor held, nor quarantined.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import yaml

from kcd import history, operations
from kcd.cli import kubeconfig_option
from kcd.cli.common import api_failure, connect, get_kcd, namespace_option, update_kcd
from kcd.cli.rollout import rollout
from kcd.errors import ApiError
from kcd.kube.api import WORKLOADS, Body, Kube
from kcd.kube.cluster import ConfigMapHistory


def _version(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    try:
        return None if value is None else operations.check_version(value)
    except operations.InvalidInput as err:
        raise click.BadParameter(str(err)) from None


def records_of(kube: Kube, kcd: Body) -> list[history.Record]:
    """The history records of every workload the KCD selects (any order)."""
    meta, selector = kcd["metadata"], (kcd.get("spec") or {}).get("selector") or {}
    try:
        workloads = [w for res in WORKLOADS.values() for w in kube.list(res, meta["namespace"], labels=selector)]
        return [r for w in workloads for r in ConfigMapHistory(kube).load(meta["namespace"], w["metadata"]["name"])]
    except ApiError as err:
        raise api_failure(err) from None


def _kubeconfigs(kubeconfig: str | None) -> Iterator[dict[str, Any]]:
    """The kubeconfig files the connection reads, in kubectl's order of precedence (missing or unreadable: skipped)."""
    paths = [kubeconfig] if kubeconfig else (os.environ.get("KUBECONFIG") or "~/.kube/config").split(os.pathsep)
    for path in filter(None, paths):
        try:
            loaded = yaml.safe_load(Path(path).expanduser().read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(loaded, dict):
            yield loaded


def _requester(kubeconfig: str | None) -> str:
    """Who asked, for the controller's Event: the user of the kubeconfig's current context, else $USER."""
    if kubeconfig or not os.environ.get("KUBERNETES_SERVICE_HOST"):  # in a pod the connection is the pod's own
        files = list(_kubeconfigs(kubeconfig))
        current = next((f["current-context"] for f in files if f.get("current-context")), None)
        contexts = [c for f in files for c in f.get("contexts") or [] if isinstance(c, dict)]
        found = next((c.get("context") or {} for c in contexts if c.get("name") == current), {})
        if isinstance(found, dict) and found.get("user"):
            return str(found["user"])
    return os.environ.get("USER") or "unknown"


@rollout.command("rollback")
@click.argument("kcd")
@click.option(
    "--to",
    "to",
    callback=_version,
    default=None,
    help="tag or sha256 digest to go back to (default: the previous live version, from history)",
)
@namespace_option
@kubeconfig_option
def rollback(kcd: str, to: str | None, namespace: str, kubeconfig: str | None) -> None:
    """Go back to an earlier version and hold the current one (until `kcd rollout clear`)."""
    kube = connect(kubeconfig)
    records = records_of(kube, get_kcd(kube, namespace, kcd)) if to is None else []
    who = _requester(kubeconfig)

    def decide(body: Body) -> operations.Change:
        return operations.rollback(body, records, to=to, who=who, now=datetime.datetime.now(datetime.UTC))

    _, change = update_kcd(kube, namespace, kcd, decide, what="requesting the rollback")
    click.echo(change.summary)
