"""`kcd run`: the controller."""

from __future__ import annotations

import sys

import click

from kcd.cli import cli, kubeconfig_option
from kcd.settings import Settings


@cli.command("run")
@kubeconfig_option
@click.option("-n", "--namespace", default=None, help="watch one namespace (default: all)")
@click.option("--port", default=8081, show_default=True, help="port of /healthz, /readyz, /metrics")
@click.option("--bind", default="0.0.0.0", show_default=True, help="address of that port")
@click.option("--leader-elect/--no-leader-elect", default=False, help="one active replica through a Lease")
@click.option("--lease-namespace", default="default", show_default=True, envvar="POD_NAMESPACE")
@click.option("--lease-name", default="kcd-controller", show_default=True)
@click.option("--lease-seconds", default=15, show_default=True, type=click.IntRange(2, 300))
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@click.option(
    "--configmap-key",
    default="kube-system/kcd",
    show_default=True,
    help="ns/name of the ConfigMap whose data.version is the syncer image tag (injection webhook)",
)
def run(
    kubeconfig: str | None,
    namespace: str | None,
    port: int,
    bind: str,
    leader_elect: bool,
    lease_namespace: str,
    lease_name: str,
    lease_seconds: int,
    log_level: str,
    configmap_key: str,
) -> None:
    """Run the controller: roll out the versions the syncers report, record them, roll back failures."""
    from kcd.controller import run as run_controller

    settings = Settings(
        kubeconfig=kubeconfig,
        namespace=namespace,
        port=port,
        bind=bind,
        leader_elect=leader_elect,
        lease_namespace=lease_namespace,
        lease_name=lease_name,
        lease_seconds=lease_seconds,
        log_level=log_level,
    )
    sys.exit(run_controller(settings))
