"""Watched Services and EndpointSlices, for the blue-green strategy: selectors, and which pods are ready endpoints.

Kept as slim projections (a Service's selector; an EndpointSlice's service name and its endpoints' pod names and
readiness), fed by kopf's watch events like kcd.kube.cache, indexed by (namespace, service name).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from kcd.engine.view import Service

SERVICE_NAME = "kubernetes.io/service-name"  # the label an EndpointSlice carries: the Service it belongs to
Key = tuple[str, str]  # (namespace, name)


def _slice(body: Mapping[str, Any]) -> tuple[str, list[tuple[str, bool]]]:
    meta = body.get("metadata") or {}
    service = str((meta.get("labels") or {}).get(SERVICE_NAME) or "")
    endpoints = []
    for endpoint in body.get("endpoints") or []:
        pod = str(((endpoint.get("targetRef") or {}).get("name")) or "")
        ready = (endpoint.get("conditions") or {}).get("ready")
        endpoints.append((pod, ready is not False))  # "nil ready means ready" (discovery.k8s.io/v1)
    return service, endpoints


class Services:
    """Thread-safe store of Service selectors and EndpointSlice endpoints."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._selectors: dict[Key, dict[str, str]] = {}
        self._slices: dict[Key, tuple[str, list[tuple[str, bool]]]] = {}  # slice key -> (service, endpoints)
        self._by_service: dict[Key, set[Key]] = {}  # service key -> slice keys

    def put(self, body: Mapping[str, Any], kind: str) -> None:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name")))
        with self._lock:
            if kind == "Service":
                selector = (body.get("spec") or {}).get("selector") or {}
                self._selectors[key] = {str(k): str(v) for k, v in selector.items()}
                return
            self._drop_slice(key)
            service, endpoints = _slice(body)
            self._slices[key] = (service, endpoints)
            self._by_service.setdefault((key[0], service), set()).add(key)

    def remove(self, kind: str, namespace: str, name: str) -> None:
        with self._lock:
            if kind == "Service":
                self._selectors.pop((namespace, name), None)
            else:
                self._drop_slice((namespace, name))

    def _drop_slice(self, key: Key) -> None:
        old = self._slices.pop(key, None)
        if old is not None:
            keys = self._by_service.get((key[0], old[0]), set())
            keys.discard(key)

    def service(self, namespace: str, name: str) -> Service | None:
        with self._lock:
            selector = self._selectors.get((namespace, name))
            if selector is None:
                return None
            endpoints = [e for key in self._by_service.get((namespace, name), set()) for e in self._slices[key][1]]
        ready = tuple(sorted(pod for pod, ok in endpoints if ok))
        unready = tuple(sorted(pod for pod, ok in endpoints if not ok))
        return Service(name=name, selector=selector, ready_pods=ready, unready_pods=unready)
