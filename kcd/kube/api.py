"""The only module that talks to the Kubernetes API server: the official client, plain dicts in and out.

Every call goes through `Kube.request`, which uses the client's configured transport (auth, TLS, timeouts) but skips its
model classes: objects stay JSON dicts, which is faster for large lists and lets the pure modules work on raw bodies.
Watching is kopf's job, not this module's.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from kcd import kinds
from kcd.errors import ApiError, Conflict, Invalid, NotFound

Body = dict[str, Any]
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
FIELD_MANAGER = "kcd"


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name)}"
        if sub:
            base += f"/{sub}"
        return base


KCDS = Resource("kcd.io", "v1", "kcds", "KCD")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
EVENTS = Resource("", "v1", "events", "Event")
PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
JOBS = Resource("batch", "v1", "jobs", "Job")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
WORKLOADS = {k.name: Resource(k.group, k.version, k.plural, k.name) for k in kinds.WORKLOAD_KINDS}


def _error(err: ApiException) -> ApiError:
    try:
        message = json.loads(err.body or "{}").get("message", "") or str(err.reason)
    except ValueError:
        message = str(err.body or err.reason)
    cls = {404: NotFound, 409: Conflict, 422: Invalid}.get(err.status or 0, ApiError)
    return cls(err.status or 0, str(err.reason), message)


class Kube:
    """A thin, typed gate to the API server. Thread-safe as the underlying client is (one pool, many threads)."""

    def __init__(self, api: Any) -> None:
        self.api = api

    @classmethod
    def from_config(cls, kubeconfig: str | None = None, *, pool: int = 16) -> Kube:
        cfg = client.Configuration()
        if kubeconfig:
            config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        else:
            try:
                config.load_incluster_config(client_configuration=cfg)
            except config.ConfigException:
                config.load_kube_config(client_configuration=cfg)
        cfg.connection_pool_maxsize = pool
        return cls(client.ApiClient(cfg))

    def close(self) -> None:
        self.api.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: float = 30,
    ) -> Body:
        try:
            resp = self.api.call_api(
                path,
                method,
                query_params=list((query or {}).items()),
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as err:
            raise _error(err) from None
        data = resp[0].data if isinstance(resp, tuple) else resp.data
        return json.loads(data) if data else {}

    def get(self, res: Resource, namespace: str | None, name: str) -> Body:
        return self.request("GET", res.path(namespace, name))

    def list(
        self, res: Resource, namespace: str | None = None, *, labels: Mapping[str, str] | None = None, page: int = 500
    ) -> list[Body]:
        return [item for items in self.pages(res, namespace, labels=labels, page=page) for item in items]

    def pages(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        selector: str | None = None,
        page: int = 500,
    ) -> Iterator[builtins.list[Body]]:
        """The matching objects (equal `labels`, or a raw label `selector`), `page` at a time (a large cluster's list
        never arrives as one response)."""
        query = {"limit": str(page)}
        if labels:
            query["labelSelector"] = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        elif selector:
            query["labelSelector"] = selector
        while True:
            reply = self.request("GET", res.path(namespace), query=query)
            items: builtins.list[Body] = reply.get("items", [])
            for item in items:  # list items carry no kind/apiVersion; later code relies on them
                item.setdefault("kind", res.kind)
            yield items
            token = (reply.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = str(token)

    def create(self, res: Resource, namespace: str | None, body: Body) -> Body:
        return self.request("POST", res.path(namespace), body=body)

    def replace(self, res: Resource, namespace: str | None, name: str, body: Body) -> Body:
        return self.request("PUT", res.path(namespace, name), body=body)

    def patch(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        content_type: str = MERGE,
        sub: str | None = None,
    ) -> Body:
        # kcd's own field manager: managedFields then tell kcd's writes from another writer's (drift conflicts).
        query = {"fieldManager": FIELD_MANAGER}
        return self.request("PATCH", res.path(namespace, name, sub), body=patch, content_type=content_type, query=query)

    def patch_status(self, res: Resource, namespace: str, name: str, patch: Body) -> Body:
        return self.patch(res, namespace, name, patch, sub="status")

    def delete(self, res: Resource, namespace: str | None, name: str) -> None:
        self.request("DELETE", res.path(namespace, name))
