"""``/healthz`` and ``/metrics`` of the syncer on a small threaded HTTP server (stdlib + prometheus_client).

``/healthz`` answers 200 while the poll loop is alive: each step promises its next one (the chosen delay plus a
grace), and a loop stuck past that promise answers 503, so the kubelet restarts the container.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import prometheus_client as prom

from sidecar.syncer import Observer


class Metrics(Observer):
    def __init__(self, registry: prom.CollectorRegistry | None = None) -> None:
        self.registry = registry or prom.REGISTRY
        r = self.registry
        self.polls = prom.Counter(
            "kcd_syncer_polls", "Poll steps by outcome (ok, standby, backoff, error).", ["outcome"], registry=r
        )
        self.errors = prom.Counter("kcd_syncer_errors", "Failed polls by error type.", ["kind"], registry=r)
        self.latency = prom.Histogram(
            "kcd_syncer_registry_seconds",
            "Time to resolve the watched tag at the registry.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.last_success = prom.Gauge(
            "kcd_syncer_last_success_timestamp_seconds", "Unix time of the last successful poll.", registry=r
        )
        self.leader = prom.Gauge("kcd_syncer_leader", "1 while this replica holds the poll Lease.", registry=r)
        self.writes = prom.Counter("kcd_syncer_annotations_written", "Candidate annotation writes.", registry=r)

    def polled(self, outcome: str) -> None:
        self.polls.labels(outcome).inc()

    def failed(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def registry_seconds(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def succeeded(self, when: float) -> None:
        self.last_success.set(when)

    def leading(self, leader: bool) -> None:
        self.leader.set(1 if leader else 0)

    def annotated(self) -> None:
        self.writes.inc()


def serve(address: str, port: int, healthy: Callable[[], bool], metrics: Metrics) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                ok = healthy()
                body, status, kind = (b"ok\n" if ok else b"poll loop stalled\n"), (200 if ok else 503), "text/plain"
            elif path == "/metrics":
                body, status, kind = prom.generate_latest(metrics.registry), 200, prom.CONTENT_TYPE_LATEST
            else:
                body, status, kind = b"not found\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="kcd-syncer-http").start()
    return server
