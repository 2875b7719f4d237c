"""The few Kubernetes API calls the syncer makes, on top of kcd.kube.rest (requests, no ``kubernetes`` client: it
costs ~30 MB per pod, multiplied by every managed workload).

Calls: GET its KCD; GET/POST/PUT its Lease (``coordination.k8s.io/v1``); GET and merge-PATCH its own workload (one of
``kcd.kinds.WORKLOAD_KINDS``, at that kind's group, version and plural).

Configuration (kcd.kube.rest.from_env), first match wins:
- ``KCD_KUBECONFIG``: a kubeconfig file (current context; token, tokenFile or client certificate; CA or insecure).
- in-cluster: ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, the token and CA under
  ``/var/run/secrets/kubernetes.io/serviceaccount``. ``KCD_API_SERVER``, ``KCD_TOKEN_FILE`` and ``KCD_CA_FILE`` override
  the three parts (tests run the syncer on the host with a TokenRequest token in exactly this shape).
The ServiceAccount token is re-read from its file every minute (kubelet rotates projected tokens).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kcd import kinds
from kcd.kube import rest
from kcd.kube.rest import MAX_BODY, SA_DIR, ApiError, ConfigError, Conflict

__all__ = ["MAX_BODY", "SA_DIR", "ApiError", "ConfigError", "Conflict", "KubeApi", "from_env", "from_kubeconfig"]


class KubeApi(rest.Client):
    def get_kcd(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get(f"/apis/kcd.io/v1/namespaces/{namespace}/kcds/{name}")

    def _leases(self, namespace: str) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.get(f"{self._leases(namespace)}/{name}")
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def create_lease(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.post(self._leases(namespace), body)

    def update_lease(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._call("PUT", f"{self._leases(namespace)}/{name}", body))

    def _workload(self, namespace: str, kind: str, name: str) -> str:
        found = kinds.find(kind)
        if found is None:
            raise ConfigError(f"{kind!r} is not one of {', '.join(kinds.NAMES)}")
        return f"/apis/{found.api_version}/namespaces/{namespace}/{found.plural}/{name}"

    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        return self.get(self._workload(namespace, kind, name))

    def annotate_workload(self, namespace: str, kind: str, name: str, annotations: Mapping[str, str]) -> None:
        self.patch(self._workload(namespace, kind, name), {"metadata": {"annotations": dict(annotations)}})


def from_kubeconfig(path: Path) -> KubeApi:
    return rest.from_kubeconfig(path, KubeApi)


def from_env(environ: Mapping[str, str] = os.environ) -> KubeApi:
    return rest.from_env(environ, KubeApi)
