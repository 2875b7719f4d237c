"""The controller process's own HTTP port: /healthz, /readyz and /metrics (stdlib WSGI server in a thread).

The workloads API and dashboard are a separate Flask app (kcd.api) served by gunicorn in its own container.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: no access log
        pass


def serve(bind: str, port: int, *, ready: Callable[[], bool]) -> WSGIServer:
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start)  # type: ignore[no-any-return]
        if path == "/healthz":
            start("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            ok = ready()
            start("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ready\n" if ok else b"not ready\n"]
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    server = make_server(bind, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="kcd-probes").start()
    return server
