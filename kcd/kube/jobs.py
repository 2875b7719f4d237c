"""Watched verification Jobs (label kcd.io/verify-for), the short HTTP GET of an HTTP verification, and the digest a
verify image's tag points at.

Jobs are projected to how they ended (Complete / Failed conditions); kopf's watch on Jobs is filtered by the label on
the API server, so no other Job reaches kcd. The HTTP probe is one GET with a short timeout per step: an HTTP
verification is a series of these, never a step thread blocked for its whole timeoutSeconds.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from kcd import registries
from kcd.engine.verify import VERIFY_FOR
from kcd.engine.view import Job, Probe

PROBE_TIMEOUT_SECONDS = 2.0
log = logging.getLogger("kcd.verify")


def project(body: Mapping[str, Any]) -> Job:
    name = str((body.get("metadata") or {}).get("name"))
    conditions = (body.get("status") or {}).get("conditions") or []
    ended = {c.get("type"): c for c in conditions if c.get("status") == "True"}
    failed = ended.get("Failed")
    return Job(
        name=name,
        succeeded="Complete" in ended,
        failed=failed is not None,
        message=f"({failed.get('reason', '')}: {failed.get('message', '')})" if failed else "",
    )


class Jobs:
    """Thread-safe: this controller's verification Jobs by (namespace, KCD name)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], dict[str, Job]] = {}

    def put(self, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        owner = str((meta.get("labels") or {}).get(VERIFY_FOR) or "")
        if owner:
            with self._lock:
                self._jobs.setdefault((str(meta.get("namespace")), owner), {})[str(meta.get("name"))] = project(body)

    def remove(self, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        owner = str((meta.get("labels") or {}).get(VERIFY_FOR) or "")
        with self._lock:
            self._jobs.get((str(meta.get("namespace")), owner), {}).pop(str(meta.get("name")), None)

    def of(self, namespace: str, kcd: str) -> dict[str, Job]:
        with self._lock:
            return dict(self._jobs.get((namespace, kcd), {}))


def probe(url: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """GET `url` once: the status it answered (any status, 5xx included), or why it did not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - the KCD's own verification URL
            return Probe(url, status=int(resp.status))
    except urllib.error.HTTPError as err:
        return Probe(url, status=int(err.code))
    except (urllib.error.URLError, OSError, ValueError) as err:
        return Probe(url, error=str(getattr(err, "reason", err)) or type(err).__name__)


def resolve(image: str, tag: str) -> str:
    """The digest `image:tag` points at, as the syncer resolves a tag (one HEAD, or one ECR call); "" when the
    registry cannot say (no credentials here, say): the Job then pulls the tag itself."""
    try:
        registry = registries.for_repo(image, attempts=1, timeout=5.0)
        try:
            return registry.digest(tag)
        finally:
            registry.close()
    except (registries.RegistryError, ValueError) as err:
        log.warning(
            "verify image tag not resolved; the Job pulls the tag", extra={"image": f"{image}:{tag}", "error": str(err)}
        )
        return ""
