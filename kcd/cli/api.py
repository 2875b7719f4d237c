"""`kcd api`: the workloads API and dashboard (kcd.api), served by gunicorn on 127.0.0.1:8081 by default.

The command checks its flags and then execs ``python -m kcd.api.serve`` in its place (same PID, so a container's
signals reach gunicorn): the serving process must not carry what the CLI imported (kcd.api.serve says why).
"""

from __future__ import annotations

import os
import sys

import click

from kcd.cli import cli, kubeconfig_option


@cli.command("api")
@kubeconfig_option
@click.option("--bind", default="127.0.0.1:8081", show_default=True, help="HOST:PORT to serve on")
@click.option("-n", "--namespace", default=None, help="a namespaced install: watch this namespace only")
@click.option(
    "--enable-writes/--disable-writes",
    default=False,
    envvar="KCD_API_ENABLE_WRITES",
    show_default=True,
    help="POST rollback/clear/pause/resume for callers whose own token may patch the KCD",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="request threads")
def api(kubeconfig: str | None, bind: str, namespace: str | None, enable_writes: bool, threads: int) -> None:
    """Serve GET /v1/kcd/workloads (json, html), the history pages, /healthz, /readyz, /metrics, /openapi.json."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise click.BadParameter(f"{bind!r} is not HOST:PORT", param_hint="--bind")
    argv = [sys.executable, "-m", "kcd.api.serve", "--bind", bind, "--threads", str(threads)]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    if namespace:
        argv += ["--namespace", namespace]
    if enable_writes:
        argv.append("--enable-writes")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
