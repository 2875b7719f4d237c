"""`helm upgrade` rotates the webhook's certificate while pods keep being created: not one is admitted without its
syncer. The chart's own objects and certificate, registered by `webhook.url` on 127.0.0.1 (the chart adds the IP to
the certificate), `kcd webhook` serving the chart's Secret and loading the new one when its files change, as the
kubelet changes a mounted Secret."""

from __future__ import annotations

import base64
import ssl
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests import crd
from tests.chart.helm import CHART, helm
from tests.env.cluster import Cluster
from tests.env.pki import write_kubeconfig
from tests.env.procs import ProcGroup, free_port, wait_until
from tests.webhook import release
from tests.webhook.test_admission import bare_pod, syncer_of, wait_serving

pytestmark = [pytest.mark.cluster, pytest.mark.chart]
RELEASE = "live"


def _secret_files(api: Any, namespace: str, certs: Path) -> str:
    """The chart's webhook Secret written where a pod would mount it; returns the serving certificate (PEM)."""
    data = client.CoreV1Api(api).read_namespaced_secret(f"{RELEASE}-kcd-webhook-tls", namespace).data
    certs.mkdir(exist_ok=True)
    for key in ("tls.crt", "tls.key"):
        (certs / key).write_bytes(base64.b64decode(data[key]))
    return base64.b64decode(data["tls.crt"]).decode()


def _served(port: int) -> str:
    return ssl.get_server_certificate(("127.0.0.1", port), timeout=5)


def _same(a: str, b: str) -> bool:
    return ssl.PEM_cert_to_DER_cert(a) == ssl.PEM_cert_to_DER_cert(b)


def test_pods_created_throughout_an_upgrade_all_get_the_syncer(
    cluster: Cluster, kube_api: Any, namespace: str, tmp_path: Path
) -> None:
    if cluster.pki is None:
        pytest.skip("needs the local control plane's CA to write a token kubeconfig")
    crd.install(kube_api)
    core = client.CoreV1Api(kube_api)
    apps = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": apps}})
    port = free_port()
    args = (
        *("--namespace", namespace, "--set", "crds.install=false", "--set", "webhook.replicas=0"),
        *("--set", f"webhook.url=https://127.0.0.1:{port}", "--set", "api.enabled=false", "--set", "replicas=0"),
        *("--set", "image.repository=127.0.0.1:5000/kcd", "--set", "image.tag=2.0.0"),
    )
    helm("install", RELEASE, str(CHART), *args, kubeconfig=cluster.kubeconfig)
    procs = ProcGroup(tmp_path / "logs")
    admitted: list[bool] = []
    stop = threading.Event()
    try:
        first = _secret_files(kube_api, namespace, tmp_path / "certs")
        template = core.read_namespaced_config_map(f"{RELEASE}-kcd-syncer", namespace).data["container.yaml"]
        (tmp_path / "container.yaml").write_text(template)
        token = core.create_namespaced_service_account_token(
            f"{RELEASE}-kcd-webhook", namespace, {"spec": {"expirationSeconds": 3600}}
        ).status.token
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=cluster.server, pki=cluster.pki, token=token)
        release.start(procs, kubeconfig, port, tmp_path, f"{namespace}/{RELEASE}-kcd-version")
        wait_serving(kube_api, apps)

        def create_pods() -> None:  # dry-run creations: admitted like real ones (sideEffects: None), nothing to clean
            while not stop.wait(0.2):
                pod = core.create_namespaced_pod(
                    apps, bare_pod(f"p-{uuid.uuid4().hex[:6]}", labelled=True), dry_run="All"
                )
                admitted.append(syncer_of(pod) is not None)

        creator = threading.Thread(target=create_pods, daemon=True)
        creator.start()
        helm("upgrade", RELEASE, str(CHART), *args, kubeconfig=cluster.kubeconfig)
        second = _secret_files(kube_api, namespace, tmp_path / "certs")  # what the kubelet does to a mounted Secret
        assert not _same(first, second)
        wait_until(lambda: _same(_served(port), second), what="the webhook serving the rotated certificate", timeout=40)
        during = len(admitted)
        wait_until(lambda: len(admitted) >= during + 10, what="pods admitted after the rotation", timeout=30)
    finally:
        stop.set()
        procs.stop()
        helm("uninstall", RELEASE, "--namespace", namespace, kubeconfig=cluster.kubeconfig, check=False)
        core.delete_namespace(apps)
    assert len(admitted) >= 30
    assert all(admitted), f"{admitted.count(False)} of {len(admitted)} pods admitted without the syncer"
