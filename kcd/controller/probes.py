"""The controller process's own HTTP port: /healthz, /readyz and /metrics (stdlib WSGI server in a thread).

Readiness does not wait for leadership: a standby that reaches the API server is Ready (a Deployment's surged pod is
a standby until the old leader releases the Lease, and `helm upgrade --wait` waits for it). /readyz says which role
the process has; the `kcd_leader` gauge says it to Prometheus.

/healthz fails when the process is stuck, from heartbeats: the election thread beats whenever the API server answered
a round of the election (a standby waiting, a leader renewing), and the leader's event loop beats every few seconds
from a task of its own (a blocked loop — a step that never returns on the loop, a deadlock — stops it). A beat older
than its limit makes /healthz answer 503 naming it, and the kubelet restarts the pod.

The workloads API and dashboard are a separate Flask app (kcd.api) served by gunicorn in its own container.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import Gauge, make_wsgi_app

LEADER = Gauge("kcd_leader", "1 while this controller process holds the leader Lease (or runs without election)")


class Heartbeats:
    """Named heartbeats, each with the age after which it counts as stuck."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._beats: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def beat(self, name: str, limit: float) -> None:
        with self._lock:
            self._beats[name] = (self.clock(), limit)

    def forget(self, name: str) -> None:
        with self._lock:
            self._beats.pop(name, None)

    def fresh(self, name: str) -> bool:
        with self._lock:
            last, limit = self._beats.get(name, (float("-inf"), 0.0))
        return self.clock() - last <= limit

    def stale(self) -> list[str]:
        with self._lock:
            names = list(self._beats)
        return [name for name in names if not self.fresh(name)]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: no access log
        pass


def _text(start: Callable[..., Any], ok: bool, body: str) -> Iterable[bytes]:
    start("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
    return [body.encode() + b"\n"]


def serve(bind: str, port: int, *, ready: Callable[[], bool], role: Callable[[], str], beats: Heartbeats) -> WSGIServer:
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start)  # type: ignore[no-any-return]
        if path == "/healthz":
            stuck = beats.stale()
            return _text(start, not stuck, f"stuck: {', '.join(stuck)}" if stuck else "ok")
        if path == "/readyz":
            ok = ready()
            return _text(start, ok, f"ready ({role()})" if ok else f"not ready ({role()})")
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    server = make_server(bind, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="kcd-probes").start()
    return server
