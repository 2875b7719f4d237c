"""kopf's API session, logged in with kcd.kube.api's credentials (one --kubeconfig for kcd's calls and kopf's), through
an aiohttp session with a bounded connection pool (shared by the controller and the injection webhook); and the event
loop the webhook's kopf runs on.

kopf's own session has no connection limit: any burst of kopf requests (finalizer patches for a thousand KCDs, say)
opens one TLS connection per concurrent request, each keeping a 256 KiB buffer (80 MB measured at 300 KCDs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
import kopf
import uvloop

from kcd.kube.api import Kube


def connection(kube: Kube) -> kopf.ConnectionInfo:
    cfg = kube.api.configuration
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix("authorization") or ""
    scheme, _sep, token = header.partition(" ")
    return kopf.ConnectionInfo(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        scheme=scheme or None,
        token=token or None,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


def login(kube: Kube, *, connections: int) -> Callable[..., Awaitable[kopf.AiohttpSession]]:
    """A kopf login handler: at most `connections` connections to the API server."""

    async def handler(**_: Any) -> kopf.AiohttpSession:
        info = connection(kube)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, ssl=info.as_ssl_context()),
            headers=info.as_http_headers(),
        )
        return kopf.AiohttpSession(server=info.server, aiohttp_session=session)

    return handler


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run kopf on uvloop, as kopf's own CLI does when uvloop is installed: its sockets and TLS are C, where asyncio's
    are Python (the webhook's CPU per admission 2.70 -> 2.51 ms, BENCHMARKS.md). The webhook's only: the controller's
    step threads, which need the GIL between their API calls, were starved by it (its storm 72.8 -> 89.5 s)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
