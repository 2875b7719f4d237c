"""Where the injection's inputs come from: the API server (kcd.kube.api GETs, cached briefly) and the syncer container
the chart rendered (a file: the ``<fullname>-syncer`` ConfigMap mounted into the webhook's pod).

Each admission needs the pod's ReplicaSet (or Job), its KCD and the syncer image tag. A rollout creates its pods
within seconds of each other from the same ReplicaSet, so a short cache turns those GETs into one per object; 30 s
bounds how long an edited ``livenessSeconds`` or a new ``data.version`` takes to reach new pods.
"""

from __future__ import annotations

import copy
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from kcd.errors import NotFound
from kcd.kube.api import CONFIGMAPS, JOBS, KCDS, Kube, Resource

log = logging.getLogger("kcd.webhook")

REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
_OWNERS = {"ReplicaSet": REPLICASETS, "Job": JOBS}
TTL = 30.0


class Miss(Exception):
    """A cached-only lookup found nothing fresh: the caller must load it (a blocking GET)."""


class TtlCache:
    """Values (not misses) by key for `ttl` seconds; thread-safe (a miss is loaded in a thread while the event loop
    reads hits)."""

    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._items: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def fresh(self, key: tuple[str, ...]) -> Any:
        """The cached value, or Miss when it is absent or expired (never loads)."""
        with self._lock:
            hit = self._items.get(key)
        if hit is None or hit[0] <= self.clock():
            raise Miss(key)
        return hit[1]

    def get(self, key: tuple[str, ...], load: Callable[[], Any]) -> Any:
        now = self.clock()
        try:
            return self.fresh(key)
        except Miss:
            pass
        value = load()
        if value is None:  # a miss is not kept: the object may be created any moment (a KCD after its workload)
            return None
        with self._lock:
            if len(self._items) > 10_000:  # a bound, not an LRU: expired or not, start over
                self._items.clear()
            self._items[key] = (now + self.ttl, value)
        return value


class KubeLookups:
    """kcd.webhook.inject.Lookups through the API server."""

    def __init__(
        self, kube: Kube, configmap_key: str | None, cache: TtlCache | None = None, *, cached_only: bool = False
    ) -> None:
        self.kube = kube
        self.configmap = tuple(configmap_key.split("/", 1)) if configmap_key else None
        self.cache = cache or TtlCache()
        self.cached_only = cached_only

    def cached(self) -> KubeLookups:
        """The same lookups answering from the cache only, raising Miss instead of sending a GET: an admission can
        then be decided on the event loop, and only a miss goes to a thread."""
        view = copy.copy(self)
        view.cached_only = True
        return view

    def _get(self, res: Resource, namespace: str, name: str) -> Mapping[str, Any] | None:
        if self.cached_only:
            found: Mapping[str, Any] | None = self.cache.fresh((res.plural, namespace, name))
            return found

        def load() -> Mapping[str, Any] | None:
            try:
                return self.kube.get(res, namespace, name)
            except NotFound:
                return None

        result: Mapping[str, Any] | None = self.cache.get((res.plural, namespace, name), load)
        return result

    def owner(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        res = _OWNERS.get(kind)
        return self._get(res, namespace, name) if res is not None else None

    def kcd(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._get(KCDS, namespace, name)

    def version(self) -> str | None:
        if self.configmap is None or len(self.configmap) != 2:
            return None
        body = self._get(CONFIGMAPS, self.configmap[0], self.configmap[1])
        version = str(((body or {}).get("data") or {}).get("version") or "").strip()
        return version or None


class TemplateFile:
    """The syncer container the chart rendered (a YAML list of one container), re-read when the file changes (a
    mounted ConfigMap is updated in place by the kubelet)."""

    def __init__(self, path: str | os.PathLike[str], check_every: float = 5.0) -> None:
        self.path = Path(path)
        self.check_every = check_every
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._checked = 0.0
        self._container: Mapping[str, Any] = self._load()

    def _load(self) -> Mapping[str, Any]:
        stat = self.path.stat()
        doc = yaml.safe_load(self.path.read_text())
        container = doc[0] if isinstance(doc, list) and doc else doc
        if not isinstance(container, dict) or not container.get("name"):
            raise ValueError(f"{self.path}: not a container (a YAML list of one container, as the chart renders it)")
        self._mtime = stat.st_mtime
        return container

    def current(self) -> Mapping[str, Any]:
        now = time.monotonic()
        with self._lock:
            if now - self._checked >= self.check_every:
                self._checked = now
                try:
                    if self.path.stat().st_mtime != self._mtime:
                        self._container = self._load()
                        log.info("syncer container reloaded", extra={"path": str(self.path)})
                except (OSError, ValueError, yaml.YAMLError) as err:  # keep serving the last good one
                    log.warning("syncer container not reloaded: %s", err)
            return self._container


class CertFiles:
    """The serving certificate in one SSLContext, loaded again when its files change: the kubelet updates a mounted
    Secret in place, and `load_cert_chain` on the same context gives every new TLS handshake the new certificate
    without a restart (connections already open keep theirs; the caBundle trusts both CAs meanwhile)."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.certfile, self.keyfile = certfile, keyfile
        self.context = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)
        self._stamp = self._files()
        self.context.load_cert_chain(certfile, keyfile)

    def _files(self) -> tuple[int, int, bytes]:
        # mtimes and contents: a Secret update swaps a symlink, and a copy may keep the mtime of its source.
        return (
            os.stat(self.certfile).st_mtime_ns,
            os.stat(self.keyfile).st_mtime_ns,
            Path(self.certfile).read_bytes() + Path(self.keyfile).read_bytes(),
        )

    def refresh(self) -> bool:
        """Load the files again when they changed; True when the served certificate changed."""
        try:
            stamp = self._files()
            if stamp == self._stamp:
                return False
            self.context.load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as err:  # half-written files: keep serving the last good certificate
            log.warning("serving certificate not reloaded: %s", err)
            return False
        self._stamp = stamp
        log.info("serving certificate reloaded", extra={"path": self.certfile})
        return True
