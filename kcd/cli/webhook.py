"""`kcd webhook`: the syncer injection webhook (kcd.webhook): kopf's HTTPS webhook server, 127.0.0.1:9443 by default."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kcd.cli import cli, kubeconfig_option


@cli.command("webhook")
@kubeconfig_option
@click.option("--address", default="127.0.0.1", show_default=True, help="address to serve HTTPS on")
@click.option("--port", default=9443, show_default=True, type=click.IntRange(1, 65535), help="HTTPS port")
@click.option("--health-port", default=0, type=click.IntRange(0, 65535), help="GET /healthz port (0: none)")
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, exists=True),
    required=True,
    help="directory with tls.crt and tls.key (a mounted kubernetes.io/tls Secret; re-read when it changes)",
)
@click.option(
    "--container-template",
    type=click.Path(dir_okay=False, exists=True),
    required=True,
    help="the syncer container the chart rendered (the <release>-syncer ConfigMap's container.yaml)",
)
@click.option(
    "--configmap-key",
    default=None,
    help="<namespace>/<name> of the ConfigMap whose data.version is the syncer image tag",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def webhook(
    kubeconfig: str | None,
    address: str,
    port: int,
    health_port: int,
    cert_dir: str,
    container_template: str,
    configmap_key: str | None,
    log_level: str,
) -> None:
    """Inject the syncer into pods labelled kcd.io/inject=true (POST /inject, an AdmissionReview v1)."""
    if configmap_key and len([p for p in configmap_key.split("/") if p]) != 2:
        raise click.BadParameter(f"{configmap_key!r} is not <namespace>/<name>", param_hint="--configmap-key")
    from kcd.kube.api import Kube
    from kcd.kube.events import setup_logging
    from kcd.webhook import server

    setup_logging(log_level)
    # One line per admission request only at debug: two JSON log lines per admission were most of its latency (p99
    # 24 ms against 5 ms without them, BENCHMARKS.md).
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if log_level == "debug" else logging.WARNING)
    options = server.Options(
        address=address,
        port=port,
        certfile=str(Path(cert_dir) / "tls.crt"),
        keyfile=str(Path(cert_dir) / "tls.key"),
        template=container_template,
        configmap_key=configmap_key,
        health_port=health_port,
    )
    raise SystemExit(server.run(Kube.from_config(kubeconfig), options))
