"""A small faulty registry on 127.0.0.1: serves one repository ``team/app`` like a registry would, and misbehaves on
request. Faults are queued (``queue``, one per request, consumed first) or permanent (``fault``).

Faults: ``500``, ``timeout`` (answers after ``delay`` seconds), ``429`` (``Retry-After: retry_after``), ``malformed``
(non-JSON body), ``oversized`` (a body far over any cap), ``digest-mismatch`` (a ``Docker-Content-Digest`` that is
not the sha256 of the body), ``no-digest`` (no ``Docker-Content-Digest`` header at all, as some registries do on
HEAD). Every request is recorded in ``log`` as (method, path).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def manifest(label: str) -> bytes:
    layer = "sha256:" + hashlib.sha256(label.encode()).hexdigest()
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": layer, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 2}],
    }
    return json.dumps(doc, sort_keys=True).encode()


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass
class FaultyRegistry:
    tags: dict[str, bytes] = field(default_factory=dict)  # tag -> manifest bytes
    fault: str | None = None
    queue: deque[str | None] = field(default_factory=deque)
    retry_after: int = 7
    delay: float = 3.0
    page_size: int = 0  # > 0: paginate the tag list with Link headers
    log: list[tuple[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def push(self, label: str, *tags: str) -> str:
        body = manifest(label)
        for tag in tags:
            self.tags[tag] = body
        return digest_of(body)

    def requests(self, method: str | None = None) -> list[tuple[str, str]]:
        return [r for r in self.log if method is None or r[0] == method]

    def start(self) -> FaultyRegistry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:  # noqa: N802
                registry._serve(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                registry._serve(self, head=False)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # clients hang up on purpose
        threading.Thread(target=self.server.serve_forever, daemon=True, name="faulty-registry").start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _serve(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:
        url = urlparse(h.path)
        self.log.append(("HEAD" if head else "GET", h.path))
        fault = self.queue.popleft() if self.queue else self.fault
        if fault == "500":
            return self._reply(h, 500, b'{"errors":[{"code":"UNKNOWN"}]}', {}, head)
        if fault == "429":
            return self._reply(h, 429, b"slow down", {"Retry-After": str(self.retry_after)}, head)
        if fault == "timeout":
            time.sleep(self.delay)
        if url.path == "/v2/team/app/tags/list":
            return self._tag_list(h, url.query, fault, head)
        prefix = "/v2/team/app/manifests/"
        if not url.path.startswith(prefix):
            return self._reply(h, 404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}', {}, head)
        ref = url.path[len(prefix) :]
        body = self.tags.get(ref) or next((b for b in self.tags.values() if digest_of(b) == ref), None)
        if body is None:
            return self._reply(h, 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', {}, head)
        digest = digest_of(body)
        if fault == "malformed":
            body = b"{this is not json"
            digest = digest_of(body)
        elif fault == "oversized":
            body = b" " * (6 * 1024 * 1024)
        elif fault == "digest-mismatch":
            digest = "sha256:" + "0" * 64
        headers = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest}
        if fault == "no-digest":
            del headers["Docker-Content-Digest"]
        return self._reply(h, 200, body, headers, head)

    def _tag_list(self, h: BaseHTTPRequestHandler, query: str, fault: str | None, head: bool) -> None:
        if fault == "malformed":
            return self._reply(h, 200, b'{"name": "team/app", "tags": [', {}, head)
        if fault == "oversized":
            return self._reply(h, 200, b" " * (6 * 1024 * 1024), {}, head)
        names = sorted(self.tags)
        start = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("last_index", 0))
        size = self.page_size or len(names) or 1
        page = names[start : start + size]
        headers = {"Content-Type": "application/json"}
        if self.page_size and start + size < len(names):
            headers["Link"] = f'</v2/team/app/tags/list?n={size}&last_index={start + size}>; rel="next"'
        return self._reply(h, 200, json.dumps({"name": "team/app", "tags": page}).encode(), headers, head)
