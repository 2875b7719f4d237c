"""The few Kubernetes API calls the syncer makes, over HTTPS with requests (no ``kubernetes`` client: it costs ~30 MB
per pod, multiplied by every managed workload).

Calls: GET its KCD; GET/POST/PUT its Lease (``coordination.k8s.io/v1``); GET and merge-PATCH its own workload (one of
``kcd.kinds.WORKLOAD_KINDS``, at that kind's group, version and plural). The ServiceAccount token is re-read from its
file every minute (kubelet rotates projected tokens).

Configuration, first match wins:
- ``KCD_KUBECONFIG``: a kubeconfig file (current context; token, tokenFile or client certificate; CA or insecure).
- in-cluster: ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, the token and CA under
  ``/var/run/secrets/kubernetes.io/serviceaccount``. ``KCD_API_SERVER``, ``KCD_TOKEN_FILE`` and ``KCD_CA_FILE`` override
  the three parts (tests run the syncer on the host with a TokenRequest token in exactly this shape).
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

from kcd import kinds

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MAX_BODY = 4 * 1024 * 1024


class ApiError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Conflict(ApiError):
    """409: someone else changed (or created) the object first."""


class ConfigError(ValueError):
    """No usable API server configuration."""


def _message(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("message", ""))[:300]
    except (ValueError, AttributeError):
        return ""


class _TokenFile:
    def __init__(self, path: Path, ttl: float = 60.0) -> None:
        self.path, self.ttl = path, ttl
        self._value, self._read_at = "", -ttl

    def __call__(self) -> str:
        if time.monotonic() - self._read_at >= self.ttl:
            self._value, self._read_at = self.path.read_text().strip(), time.monotonic()
        return self._value


class KubeApi:
    def __init__(
        self,
        server: str,
        *,
        token: Callable[[], str] | None = None,
        verify: str | bool = True,
        cert: tuple[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        self.session.cert = cert
        self.calls = 0

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        self.calls += 1
        try:
            resp = self.session.request(method, self.server + path, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as err:
            raise ApiError(f"{method} {path}: {type(err).__name__}") from None
        if len(resp.content) > MAX_BODY:
            raise ApiError(f"{method} {path}: response larger than {MAX_BODY} bytes")
        if resp.status_code >= 400:
            kind = Conflict if resp.status_code == 409 else ApiError
            raise kind(f"{method} {path}: {resp.status_code} {_message(resp)}".strip(), resp.status_code)
        try:
            return resp.json()
        except ValueError:
            raise ApiError(f"{method} {path}: response is not JSON") from None

    def get_kcd(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/apis/kcd.io/v1/namespaces/{namespace}/kcds/{name}"))

    def _leases(self, namespace: str) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._call("GET", f"{self._leases(namespace)}/{name}"))
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def create_lease(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", self._leases(namespace), body))

    def update_lease(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._call("PUT", f"{self._leases(namespace)}/{name}", body))

    def _workload(self, namespace: str, kind: str, name: str) -> str:
        found = kinds.find(kind)
        if found is None:
            raise ConfigError(f"{kind!r} is not one of {', '.join(kinds.NAMES)}")
        return f"/apis/{found.api_version}/namespaces/{namespace}/{found.plural}/{name}"

    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        return dict(self._call("GET", self._workload(namespace, kind, name)))

    def annotate_workload(self, namespace: str, kind: str, name: str, annotations: Mapping[str, str]) -> None:
        patch = {"metadata": {"annotations": dict(annotations)}}
        self._call("PATCH", self._workload(namespace, kind, name), patch, "application/merge-patch+json")


def _data_file(data: str, suffix: str) -> str:
    handle, path = tempfile.mkstemp(prefix="kcd-kubeconfig-", suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(base64.b64decode(data))
    return path


def from_kubeconfig(path: Path) -> KubeApi:
    import yaml  # only outside a pod

    try:
        doc = yaml.safe_load(path.read_text()) or {}
        ctx = next(c["context"] for c in doc["contexts"] if c["name"] == doc["current-context"])
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
        user: dict[str, Any] = next((u["user"] for u in doc.get("users", []) if u["name"] == ctx.get("user")), {}) or {}
    except (OSError, KeyError, TypeError, StopIteration, yaml.YAMLError) as err:
        raise ConfigError(f"kubeconfig {path}: cannot read the current context ({type(err).__name__})") from None
    verify: str | bool = not cluster.get("insecure-skip-tls-verify", False)
    if cluster.get("certificate-authority-data"):
        verify = _data_file(cluster["certificate-authority-data"], ".crt")
    elif cluster.get("certificate-authority"):
        verify = cluster["certificate-authority"]
    cert = None
    if user.get("client-certificate-data") and user.get("client-key-data"):
        cert = (_data_file(user["client-certificate-data"], ".crt"), _data_file(user["client-key-data"], ".key"))
    elif user.get("client-certificate") and user.get("client-key"):
        cert = (user["client-certificate"], user["client-key"])
    token: Callable[[], str] | None = None
    if user.get("token"):
        token = lambda: str(user["token"])  # noqa: E731
    elif user.get("tokenFile"):
        token = _TokenFile(Path(user["tokenFile"]))
    return KubeApi(cluster["server"], token=token, verify=verify, cert=cert)


def from_env(environ: Mapping[str, str] = os.environ) -> KubeApi:
    if environ.get("KCD_KUBECONFIG"):
        return from_kubeconfig(Path(environ["KCD_KUBECONFIG"]))
    server = environ.get("KCD_API_SERVER")
    if not server:
        host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise ConfigError("not in a pod: set KCD_KUBECONFIG, or KCD_API_SERVER with KCD_TOKEN_FILE and KCD_CA_FILE")
        server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    token_file = Path(environ.get("KCD_TOKEN_FILE") or SA_DIR / "token")
    ca_file = environ.get("KCD_CA_FILE") or str(SA_DIR / "ca.crt")
    if not token_file.exists():
        raise ConfigError(f"ServiceAccount token {token_file} not found")
    return KubeApi(server, token=_TokenFile(token_file), verify=ca_file)
