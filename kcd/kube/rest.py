"""A small Kubernetes API client over HTTPS with requests: GET, paged LIST, WATCH, POST, PATCH. No ``kubernetes``
client, no ``kcd.kube.api``.

Two processes use it instead of the official client, for their memory budget:
- the syncer (``sidecar.kubeapi`` adds its few resource calls on top): the ``kubernetes`` client costs ~30 MB per pod,
  multiplied by every managed workload;
- the workloads API (``kcd.api``): its budget is 80 MB at 2,000 workloads, and importing ``kubernetes`` alone takes
  55 MB, kopf another 60. The controller's rule "kopf is the watch engine" is about the controller, which needs kopf's
  per-object serialisation and retries; the API only needs a read cache of a few kinds, so it has its own small
  list+watch here (paged LIST, then a streaming WATCH with bookmarks, resumed from the last resourceVersion, listed
  again after 410 Gone). ``kcd.api.store`` runs it.

Configuration (``from_config``), first match wins:
- an explicit kubeconfig path (``--kubeconfig``), or ``KCD_KUBECONFIG``: a kubeconfig file (current context; token,
  tokenFile or client certificate; CA or insecure);
- in-cluster: ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, the token and CA under
  ``/var/run/secrets/kubernetes.io/serviceaccount``; ``KCD_API_SERVER``, ``KCD_TOKEN_FILE`` and ``KCD_CA_FILE``
  override the three parts (tests run processes on the host with a TokenRequest token in exactly this shape);
- outside a pod (``from_config`` only): the first file of ``$KUBECONFIG``, else ``~/.kube/config``.
The ServiceAccount token is re-read from its file every minute (kubelet rotates projected tokens).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MAX_BODY = 4 * 1024 * 1024  # one object or one page; a LIST page is bounded by `limit`
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
PAGE_SIZE = 250  # a page's parsed JSON is the API process's transient peak: kept small
WATCH_SECONDS = 290  # the API server ends each watch after this; the client resumes from the last resourceVersion


class ApiError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Conflict(ApiError):
    """409: someone else changed (or created) the object first."""


class NotFound(ApiError):
    """404."""


class Gone(ApiError):
    """410: the resourceVersion (or continue token) is too old; list again."""


class ConfigError(ValueError):
    """No usable API server configuration."""


_ERRORS: dict[int, type[ApiError]] = {404: NotFound, 409: Conflict, 410: Gone}


def _message(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("message", ""))[:300]
    except (ValueError, AttributeError):
        return ""


def _error(what: str, resp: requests.Response) -> ApiError:
    kind = _ERRORS.get(resp.status_code, ApiError)
    return kind(f"{what}: {resp.status_code} {_message(resp)}".strip(), resp.status_code)


class _TokenFile:
    def __init__(self, path: Path, ttl: float = 60.0) -> None:
        self.path, self.ttl = path, ttl
        self._value, self._read_at = "", -ttl

    def __call__(self) -> str:
        if time.monotonic() - self._read_at >= self.ttl:
            self._value, self._read_at = self.path.read_text().strip(), time.monotonic()
        return self._value


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]


class Stream:
    """One open watch: iterate for its events; `close()` (from any thread) ends the iteration."""

    def __init__(self, resp: requests.Response, what: str) -> None:
        self.resp, self.what = resp, what

    def __iter__(self) -> Iterator[WatchEvent]:
        with self.resp:
            for line in self.resp.iter_lines(chunk_size=None):
                if not line:
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    code = int(obj.get("code") or 0)
                    raise _ERRORS.get(code, ApiError)(f"{self.what}: {code} {obj.get('message', '')}", code)
                yield WatchEvent(str(event.get("type")), obj)

    def close(self) -> None:
        # Closing a socket does not wake a thread blocked in recv(); shutting it down does.
        with contextlib.suppress(Exception):
            self.resp.raw.connection.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        with contextlib.suppress(Exception):
            self.resp.close()


class Client:
    """The API calls; thread-safe. `calls` counts every request, `counts` by kind (GET, LIST, WATCH, POST, ...)."""

    def __init__(
        self,
        server: str,
        *,
        token: Callable[[], str] | None = None,
        verify: str | bool = True,
        cert: tuple[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 15.0),
        pool: int = 32,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        self.session.cert = cert
        # One connection per watch thread plus the request threads: more than requests' default pool of 10.
        self.session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=pool))
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=pool))
        self.calls = 0
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def _headers(self, content_type: str = JSON) -> dict[str, str]:
        headers = {"Accept": JSON, "Content-Type": content_type}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        return headers

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls += 1
            self.counts[kind] += 1

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = JSON,
        params: Mapping[str, str] | None = None,
        kind: str | None = None,
    ) -> Any:
        self._count(kind or method)
        try:
            resp = self.session.request(
                method,
                self.server + path,
                json=body,
                params=params,
                headers=self._headers(content_type),
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            raise ApiError(f"{method} {path}: {type(err).__name__}") from None
        if len(resp.content) > MAX_BODY:
            raise ApiError(f"{method} {path}: response larger than {MAX_BODY} bytes")
        if resp.status_code >= 400:
            raise _error(f"{method} {path}", resp)
        try:
            return resp.json()
        except ValueError:
            raise ApiError(f"{method} {path}: response is not JSON") from None

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return dict(self._call("GET", path, params=params))

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", path, body))

    def patch(self, path: str, body: Mapping[str, Any], content_type: str = MERGE_PATCH) -> dict[str, Any]:
        return dict(self._call("PATCH", path, body, content_type))

    def list(
        self,
        path: str,
        each: Callable[[dict[str, Any]], None],
        *,
        params: Mapping[str, str] | None = None,
        page: int = PAGE_SIZE,
    ) -> str:
        """Call `each` with every item of the collection, a page of `page` at a time, and return the collection's
        resourceVersion: a caller projects items as they come and never holds a whole parsed collection.
        Raises Gone when a continue token expired (list again)."""
        query = {**(params or {}), "limit": str(page)}
        while True:
            found = self._call("GET", path, params=query, kind="LIST")
            for item in found.get("items") or []:
                each(item)
            meta = found.get("metadata") or {}
            if not meta.get("continue"):
                return str(meta.get("resourceVersion") or "")
            query["continue"] = meta["continue"]

    def watch(
        self,
        path: str,
        *,
        resource_version: str,
        params: Mapping[str, str] | None = None,
        seconds: int = WATCH_SECONDS,
    ) -> Stream:
        """A watch from `resource_version` with bookmarks; the API server ends it after `seconds`."""
        query = {
            **(params or {}),
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(seconds),
        }
        self._count("WATCH")
        what = f"WATCH {path}"
        try:
            # The read timeout covers a quiet watch: the server sends nothing until an event, a bookmark or its end.
            resp = self.session.get(
                self.server + path,
                params=query,
                headers=self._headers(),
                stream=True,
                timeout=(self.timeout[0], seconds + 30),
            )
        except requests.RequestException as err:
            raise ApiError(f"{what}: {type(err).__name__}") from None
        if resp.status_code >= 400:
            with resp:
                raise _error(what, resp)
        return Stream(resp, what)


C = TypeVar("C", bound=Client)


def _data_file(data: str, suffix: str) -> str:
    handle, path = tempfile.mkstemp(prefix="kcd-kubeconfig-", suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(base64.b64decode(data))
    return path


def _current(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import yaml  # only outside a pod

    try:
        doc = yaml.safe_load(path.read_text()) or {}
        ctx = next(c["context"] for c in doc["contexts"] if c["name"] == doc["current-context"])
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
        user: dict[str, Any] = next((u["user"] for u in doc.get("users", []) if u["name"] == ctx.get("user")), {}) or {}
    except (OSError, KeyError, TypeError, StopIteration, yaml.YAMLError) as err:
        raise ConfigError(f"kubeconfig {path}: cannot read the current context ({type(err).__name__})") from None
    return cluster, user


def from_kubeconfig(path: Path, cls: type[C] = Client) -> C:  # type: ignore[assignment]
    cluster, user = _current(path)
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
    return cls(cluster["server"], token=token, verify=verify, cert=cert)


def from_env(environ: Mapping[str, str] = os.environ, cls: type[C] = Client) -> C:  # type: ignore[assignment]
    if environ.get("KCD_KUBECONFIG"):
        return from_kubeconfig(Path(environ["KCD_KUBECONFIG"]), cls)
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
    return cls(server, token=_TokenFile(token_file), verify=ca_file)


def from_config(kubeconfig: str | None = None, environ: Mapping[str, str] = os.environ) -> Client:
    """An explicit kubeconfig; else the environment or the pod (from_env); else $KUBECONFIG or ~/.kube/config."""
    if kubeconfig:
        return from_kubeconfig(Path(kubeconfig).expanduser())
    if any(environ.get(k) for k in ("KCD_KUBECONFIG", "KCD_API_SERVER", "KUBERNETES_SERVICE_HOST")):
        return from_env(environ)
    first = next((p for p in (environ.get("KUBECONFIG") or "").split(os.pathsep) if p), "~/.kube/config")
    return from_kubeconfig(Path(first).expanduser())
