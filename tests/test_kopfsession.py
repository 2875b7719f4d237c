"""The event loop the injection webhook's kopf runs on."""

from __future__ import annotations

import asyncio

import uvloop

from kcd import kopfsession


def test_kopf_runs_on_uvloop_and_the_loop_is_closed_after() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())

    kopfsession.run(main())

    assert isinstance(loops[0], uvloop.Loop)
    assert loops[0].is_closed()
