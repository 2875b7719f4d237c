"""`kcd history` and `kcd rd get`: what kcd did to a workload, and every KCD with its versions."""

from __future__ import annotations

from typing import Any

import click

from kcd.cli import cli, kubeconfig_option, legacy
from kcd.cli.common import api_failure, connect, emit, namespace_option, output_option
from kcd.errors import ApiError
from kcd.kube.api import KCDS
from kcd.kube.cluster import ConfigMapHistory


@cli.command("history")
@click.argument("workload")
@namespace_option
@kubeconfig_option
@output_option
def history_cmd(workload: str, namespace: str, kubeconfig: str | None, output: str) -> None:
    """The rollout history of a workload, newest first."""
    try:
        records = ConfigMapHistory(connect(kubeconfig)).load(namespace, workload)
    except ApiError as err:
        raise api_failure(err) from None
    rows = [["TIME", "VERSION", "OUTCOME", "DURATION", "KCD", "REASON"]] + [
        [r.time, r.version, str(r.outcome), f"{r.duration_seconds:.0f}s", r.kcd, r.reason[:60]] for r in records
    ]
    emit([r.to_dict() for r in records], output, rows)


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
@legacy.glog_options
def rd_get(kubeconfig: str | None, namespace: str | None, output: str, **original: Any) -> None:
    """Every KCD with its live and current version."""
    legacy.announce("kcd rd get", original)
    try:
        items = connect(kubeconfig).list(KCDS, namespace)
    except ApiError as err:
        raise api_failure(err) from None
    data = [_summary(i) for i in items]
    rows = [["NAMESPACE", "NAME", "TAG", "STATUS", "VERSION", "LIVE", "UPDATED"]] + [
        [d["namespace"], d["name"], d["tag"], d["status"], d["currVersion"], d["liveVersion"], d["lastUpdated"]]
        for d in data
    ]
    emit(data, output, rows)
