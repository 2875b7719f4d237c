"""`kcd run`: the controller."""

from __future__ import annotations

import sys
from typing import Any

import click

from kcd.cli import cli, kubeconfig_option, legacy
from kcd.cli.common import connect
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
@legacy.run_options
@click.pass_context
def run(
    ctx: click.Context,
    /,
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
    **original: Any,
) -> None:
    """Run the controller: roll out the versions the syncers report, record them, roll back failures.

    The original kcd's flags (--v, --logtostderr, --history, --rollback, --kcd-img-repo, --stats-*) are accepted.
    """
    from kcd.controller import run as run_controller

    log_level = _log_level(ctx, log_level, original)
    connect(kubeconfig).close()  # a configuration problem as one line here, not a traceback from the controller
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


def _log_level(ctx: click.Context, log_level: str, original: dict[str, Any]) -> str:
    """--log-level, or the original's --v when --log-level was not given; the original's flags noted on stderr."""
    mapped = None
    if original.get("v") is not None and ctx.get_parameter_source("log_level") is click.core.ParameterSource.DEFAULT:
        mapped = log_level = legacy.glog_level(original["v"])
    legacy.announce("kcd run", original, v_maps_to=mapped)
    return log_level
