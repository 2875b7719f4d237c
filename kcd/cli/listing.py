"""`kcd history` and `kcd rd get`: what kcd did to a workload, and every workload kcd manages."""

from __future__ import annotations

import datetime
from typing import Any

import click

from kcd import overview
from kcd.cli import cli, kubeconfig_option, legacy
from kcd.cli.common import api_failure, connect, emit, namespace_option, output_option
from kcd.errors import ApiError
from kcd.kube.api import KCDS, LEASES, WORKLOADS, Kube
from kcd.kube.cluster import ConfigMapHistory

SYNCER_LEASES = {"app.kubernetes.io/component": "kcd-syncer"}  # the label of every syncer's Lease (sidecar.leases)
HISTORY_COLUMNS = ("TIME", "VERSION", "OUTCOME", "DURATION", "KCD", "REASON")
# The original's README columns, and the overview.items key each one shows.
RD_COLUMNS = (
    ("NAMESPACE", "Namespace"),
    ("NAME", "Name"),
    ("TYPE", "Type"),
    ("CONTAINER", "Container"),
    ("VERSION", "Version"),
    ("PODS", "AvailablePods"),
    ("KCD", "CV"),
    ("TAG", "Tag"),
    ("STATUS", "Status"),
    ("LIVE", "LiveVersion"),
    ("CANDIDATE", "CandidateVersion"),
    ("SYNCER", "Syncer"),
)


@cli.command("history")
@click.argument("workload")
@namespace_option
@kubeconfig_option
@output_option
def history_cmd(workload: str, namespace: str, kubeconfig: str | None, output: str) -> None:
    """The rollout history of a workload, newest first (ConfigMap WORKLOAD.history)."""
    try:
        records = ConfigMapHistory(connect(kubeconfig)).load(namespace, workload)
    except ApiError as err:
        raise api_failure(err) from None
    if not records:
        raise click.ClickException(f"no rollout history for {namespace}/{workload} (no ConfigMap {workload}.history)")
    rows = [list(HISTORY_COLUMNS)] + [
        [r.time, r.version, str(r.outcome), f"{r.duration_seconds:.0f}s", r.kcd, _line(r.reason, 60)] for r in records
    ]
    emit([r.to_dict() for r in records], output, rows)


def _line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def managed(kube: Kube, namespace: str | None, now: datetime.datetime) -> list[dict[str, Any]]:
    """overview.items of every KCD, selected workload and syncer Lease in `namespace` (None: all namespaces)."""
    try:
        kcds = kube.list(KCDS, namespace)
        workloads = [w for res in WORKLOADS.values() for w in kube.list(res, namespace)] if kcds else []
        leases = kube.list(LEASES, namespace, labels=SYNCER_LEASES) if workloads else []
    except ApiError as err:
        raise api_failure(err) from None
    return overview.items(kcds, workloads, leases, now, namespace=namespace)


def _cell(key: str, value: Any) -> str:
    return str(value["Message"]) if key == "Syncer" else str(value)


def rd_rows(items: list[dict[str, Any]]) -> list[list[str]]:
    """The table of `kcd rd get`: a header, then one row per item."""
    return [[title for title, _ in RD_COLUMNS]] + [[_cell(key, i[key]) for _, key in RD_COLUMNS] for i in items]


@cli.group("rd")
def rd() -> None:
    """Resources kcd manages."""


@rd.command("get")
@kubeconfig_option
@click.option("-n", "--namespace", default=None, help="one namespace (default: all)")
@output_option
@legacy.glog_options
def rd_get(kubeconfig: str | None, namespace: str | None, output: str, **original: Any) -> None:
    """Every workload a KCD manages: its version and pods, the KCD's status and versions, its syncer's health.

    `-o json` prints the items of GET /v1/kcd/workloads (same keys)."""
    legacy.announce("kcd rd get", original)
    items = managed(connect(kubeconfig), namespace, datetime.datetime.now(datetime.UTC))
    emit(items, output, rd_rows(items))
