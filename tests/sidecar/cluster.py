"""Run the syncer as it runs in a pod, against the local control plane: a ServiceAccount whose Role allows only its
KCD, its Lease and its own workload, a TokenRequest token in a file, the API server's CA and address."""

from __future__ import annotations

import re
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from kcd.model import CANDIDATE_DIGEST, CANDIDATE_VERSION
from sidecar import leases
from tests.env.cluster import Cluster
from tests.env.procs import Proc, ProcGroup, free_port, wait_until

SA = "kcd-syncer"
_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$")


def setup_workload(api: Any, namespace: str, repo: str, *, name: str = "web", interval: int = 5, **spec: Any) -> None:
    """A Deployment `name` (no replicas needed) and a KCD `name` following `repo`:env-prod."""
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": f"{repo}:none"}]}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"kcdapp": name}},
        "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": template},
    }
    client.AppsV1Api(api).create_namespaced_deployment(namespace, deployment)
    kcd = {
        "apiVersion": "kcd.io/v1",
        "kind": "KCD",
        "metadata": {"name": name},
        "spec": {
            "imageRepo": repo,
            "tag": "env-prod",
            "selector": {"kcdapp": name},
            "container": {"name": "app"},
            "pollIntervalSeconds": interval,
            **spec,
        },
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", kcd)


def grant(api: Any, namespace: str, token_file: Path, *, kcd: str = "web", workload: str = "web") -> None:
    """The syncer's least privilege: get/watch its KCD, get/update its Lease (create any), get/patch its workload."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": SA}})
    lease = leases.lease_name("deployment", workload)
    rules = [
        {"apiGroups": ["kcd.io"], "resources": ["kcds"], "resourceNames": [kcd], "verbs": ["get", "watch"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [lease],
            "verbs": ["get", "update"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": [workload], "verbs": ["get", "patch"]},
    ]
    rbac.create_namespaced_role(namespace, {"metadata": {"name": SA}, "rules": rules})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": SA},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SA},
            "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": namespace}],
        },
    )
    request = core.create_namespaced_service_account_token(SA, namespace, {"spec": {"expirationSeconds": 3600}})
    token_file.write_text(request.status.token)


@dataclass
class SyncerRun:
    proc: Proc
    port: int

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as resp:  # noqa: S310
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, ""

    def metric(self, name: str, **labels: str) -> float:
        """The sum of `name` samples whose labels include `labels` (0 when absent or the process is not serving)."""
        try:
            status, text = self.get("/metrics")
        except OSError:
            return 0.0
        total = 0.0
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match and match[1] == name and all(f'{k}="{v}"' in (match[2] or "") for k, v in labels.items()):
                total += float(match[3])
        return total


def start_syncer(
    procs: ProcGroup,
    cluster: Cluster,
    namespace: str,
    token_file: Path,
    *,
    pod: str = "web-0",
    workload: str = "web",
    env: dict[str, str] | None = None,
) -> SyncerRun:
    assert cluster.pki is not None, "the syncer tests need the local control plane's CA"
    port = free_port()
    proc = procs.start(
        f"syncer-{pod}",
        [sys.executable, "-m", "sidecar"],
        env={
            "KCD_NAMESPACE": namespace,
            "KCD_NAME": workload,
            "KCD_WORKLOAD_KIND": "Deployment",
            "KCD_WORKLOAD_NAME": workload,
            "POD_NAME": pod,
            "KCD_API_SERVER": cluster.server,
            "KCD_TOKEN_FILE": str(token_file),
            "KCD_CA_FILE": str(cluster.pki.ca_cert),
            "KCD_SYNCER_ADDRESS": "127.0.0.1",
            "KCD_SYNCER_PORT": str(port),
            "KCD_DOCKER_CONFIG": "",
            "KCD_KUBECONFIG": "",
            **(env or {}),
        },
    )
    run = SyncerRun(proc=proc, port=port)
    wait_until(lambda: run.get("/healthz")[0] == 200, what="syncer /healthz", timeout=30, proc=proc)
    return run


def workload_annotations(api: Any, namespace: str, name: str = "web") -> dict[str, str]:
    meta = client.AppsV1Api(api).read_namespaced_deployment(name, namespace).metadata
    return dict(meta.annotations or {})


def wait_for_candidate(api: Any, namespace: str, version: str, digest: str, proc: Proc, timeout: float = 60) -> None:
    def seen() -> bool:
        got = workload_annotations(api, namespace)
        return (got.get(CANDIDATE_VERSION), got.get(CANDIDATE_DIGEST)) == (version, digest)

    wait_until(seen, what=f"candidate annotations {version} {digest}", timeout=timeout, proc=proc)
