"""The kcd chart's webhook objects applied to the local control plane, and `kcd webhook` run as a process on
127.0.0.1 with a TokenRequest token of the chart's own webhook ServiceAccount. The MutatingWebhookConfiguration is the
chart's, rendered with `webhook.url` (the API server never dials a ClusterIP)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from tests.chart.helm import CHART, KUBE_VERSION, helm, run
from tests.env import binaries
from tests.env.cluster import Cluster
from tests.env.pki import write_kubeconfig
from tests.env.procs import Proc, ProcGroup, free_port, wait_until
from tests.webhook.certs import serving_cert

# What the webhook needs of the chart: its configuration, identity and rights, and the two ConfigMaps it reads.
WEBHOOK_OBJECTS = {
    ("MutatingWebhookConfiguration", "kcd-webhook"),
    ("ServiceAccount", "kcd-webhook"),
    ("ClusterRole", "kcd-webhook-owners"),
    ("ClusterRoleBinding", "kcd-webhook-owners"),
    ("Role", "kcd-webhook"),
    ("RoleBinding", "kcd-webhook"),
    ("ConfigMap", "kcd-syncer"),
    ("ConfigMap", "kcd-version"),
}


def render(namespace: str, *args: str) -> list[dict[str, Any]]:
    out = helm("template", "kcd", str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION, *args).stdout
    return [d for d in yaml.safe_load_all(out) if d and (d["kind"], d["metadata"]["name"]) in WEBHOOK_OBJECTS]


def kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(binaries.binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *args]
    if stdin is None:
        return run(argv)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=True)


@dataclass
class Webhook:
    proc: Proc
    port: int
    namespace: str  # the release namespace (excluded from injection)
    configuration: dict[str, Any]
    procs: ProcGroup
    kubeconfig: Path
    workdir: Path

    def restart(self) -> None:
        self.proc.stop()
        self.proc = start(self.procs, self.kubeconfig, self.port, self.workdir, f"{self.namespace}/kcd-version")

    def requests(self) -> int:
        """Admission requests the server received (aiohttp's access log: one line per request)."""
        return sum('"POST /inject' in line for line in self.proc.log.read_text(errors="replace").splitlines())


def install(
    cluster: Cluster, api: Any, namespace: str, workdir: Path, *, version: str = "2.0.0", log_level: str = "debug"
) -> Webhook:
    """Apply the chart's webhook objects (release namespace `namespace`) and start `kcd webhook` against them."""
    port = free_port()
    ca_bundle = serving_cert(workdir / "certs")
    docs = render(
        namespace,
        "--set", "image.repository=127.0.0.1:5000/kcd",
        "--set", "image.tag=1.0.0",
        "--set", f"syncer.image.tag={version}",
        "--set", f"webhook.url=https://127.0.0.1:{port}",
        "--set", f"webhook.caBundle={ca_bundle}",
        "--set", "webhook.timeoutSeconds=5",
    )  # fmt: skip
    configuration = next(d for d in docs if d["kind"] == "MutatingWebhookConfiguration")
    others = [d for d in docs if d is not configuration]
    kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump_all(others))
    template = next(d for d in docs if d["metadata"]["name"] == "kcd-syncer")["data"]["container.yaml"]
    (workdir / "container.yaml").write_text(template)
    token = client.CoreV1Api(api).create_namespaced_service_account_token(
        "kcd-webhook", namespace, {"spec": {"expirationSeconds": 3600}}
    )
    assert cluster.pki is not None, "the webhook tests need the local control plane's CA"
    kubeconfig = write_kubeconfig(
        workdir / "webhook.kubeconfig", server=cluster.server, pki=cluster.pki, token=token.status.token
    )
    procs = ProcGroup(workdir / "logs")
    proc = start(procs, kubeconfig, port, workdir, f"{namespace}/kcd-version", log_level)
    kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump(configuration))
    return Webhook(proc, port, namespace, configuration, procs, kubeconfig, workdir)


def start(
    procs: ProcGroup, kubeconfig: Path, port: int, workdir: Path, configmap_key: str, log_level: str = "debug"
) -> Proc:
    """`kcd webhook` on 127.0.0.1:`port`; at debug (the tests' default) it logs a line per admission request."""
    health = free_port()
    proc = procs.start(
        "kcd-webhook",
        [
            sys.executable, "-m", "kcd", "webhook",
            "--kubeconfig", str(kubeconfig),
            "--port", str(port),
            "--health-port", str(health),
            "--cert-dir", str(workdir / "certs"),
            "--container-template", str(workdir / "container.yaml"),
            "--configmap-key", configmap_key,
            "--log-level", log_level,
        ],
    )  # fmt: skip
    wait_until(lambda: _healthy(health), what="kcd webhook /healthz", timeout=60, proc=proc)
    return proc


def _healthy(port: int) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:  # noqa: S310
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False
