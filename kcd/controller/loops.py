"""One reconcile loop per KCD: run a step, then sleep until an event wakes the KCD or a poll/resync is due.

Why not a kopf daemon per KCD: kopf keeps the last-seen body of every object that has a daemon (its DaemonsMemory),
about 19 KB of Python objects per KCD with its managedFields, plus a daemon record, a stopper and a stack of handler
coroutines. At 1,000 KCDs that was most of the controller's memory beyond its imports. kopf still does the watching,
the per-object serialisation of the event handlers that wake these loops, and the index of KCD selectors; a loop holds
only its key, an asyncio.Event and its task.

Each loop is a single task: sleeping is `asyncio.timeout` around the Event (no extra task per wait). Steps run on a
thread pool (they make blocking API calls); periodic re-checks of idle KCDs go to a small pool of their own and are
moved to the main pool when an event arrives for that KCD while it still queues.

Backoff after a failed step is a plain sleep that events do not cut short: a persistent error (a 403, a bug) must not be
retried on every workload event. The step after the backoff reads fresh state, so events that arrived meanwhile are
answered by it. An API error brings its delay (StepResult.retry_after, computed by the reconciler); a crash waits
settings.error_backoff_seconds, doubled on each consecutive crash up to MAX_CRASH_BACKOFF_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from kcd.kube.reconciler import StepResult
from kcd.settings import Settings

log = logging.getLogger("kcd.controller.loops")
Key = tuple[str, str]  # (namespace, name)
Step = Callable[[str, str], StepResult]
MAX_CRASH_BACKOFF_SECONDS = 300.0


class Loops:
    def __init__(
        self,
        step: Step,
        settings: Settings,
        pool: Executor,
        resync_pool: Executor,
        *,
        max_crash_backoff: float = MAX_CRASH_BACKOFF_SECONDS,
    ) -> None:
        self.step, self.settings = step, settings
        self.max_crash_backoff = max_crash_backoff
        self.pool, self.resync_pool = pool, resync_pool
        self.tasks: dict[Key, asyncio.Task[None]] = {}
        self.wakes: dict[Key, asyncio.Event] = {}

    def ensure(self, key: Key) -> None:
        """Start the KCD's loop unless it runs already (first sight of a KCD: listing, creation, a restart)."""
        task = self.tasks.get(key)
        if task is None or task.done():
            self.wakes[key] = asyncio.Event()
            # An empty context, not a copy of the caller's: a task keeps the context it was created in for its whole
            # life, and kopf's handler context holds the event's cause with the KCD's whole body (managedFields
            # included). Copied, it kept the first body of every KCD alive: 2,000 of them at 2,000 KCDs.
            coro, name = self._run(key), f"kcd-loop {key[0]}/{key[1]}"
            self.tasks[key] = asyncio.create_task(coro, name=name, context=contextvars.Context())

    def wake(self, key: Key) -> None:
        event = self.wakes.get(key)
        if event is not None:
            event.set()

    def stop(self, key: Key) -> None:
        """The KCD is gone: end its loop (a step running in a thread still finishes)."""
        task = self.tasks.get(key)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, key: Key) -> None:
        wake = self.wakes[key]
        resync = False
        crash_backoff = self.settings.error_backoff_seconds
        try:
            while True:
                wake.clear()  # before the step: an event during the step must cause another step
                result = await self._guarded(key, resync)
                resync = False
                if result is None:
                    await asyncio.sleep(crash_backoff)
                    crash_backoff = min(crash_backoff * 2, self.max_crash_backoff)
                    continue
                if result.gone:
                    return
                if result.retry_after > 0:
                    await asyncio.sleep(result.retry_after)
                    continue
                crash_backoff = self.settings.error_backoff_seconds  # a successful step (an API error is not one)
                if result.again:
                    continue
                # Jitter (±25 %): KCDs that started together must not all resync in the same second.
                idle = self.settings.idle_resync_seconds * random.uniform(0.75, 1.25)  # noqa: S311 - not security
                poll = result.poll_after if result.poll_after > 0 else self.settings.progress_poll_seconds
                woken = await self._sleep(wake, poll if result.in_flight else idle)
                resync = not woken and not result.in_flight
        finally:
            if self.tasks.get(key) is asyncio.current_task():
                del self.tasks[key]
                self.wakes.pop(key, None)

    async def _guarded(self, key: Key, resync: bool) -> StepResult | None:
        try:
            if resync:
                return await self._resync(key, self.wakes[key])
            return await asyncio.get_running_loop().run_in_executor(self.pool, self.step, *key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconcile step crashed; retrying", extra={"kcd": f"{key[0]}/{key[1]}"})
            return None

    async def _resync(self, key: Key, wake: asyncio.Event) -> StepResult:
        """A periodic re-check on the resync pool; an event for this KCD while it still queues there moves it to the
        main pool at once (a resync wave of a thousand KCDs must not delay a new candidate by the length of the queue).
        """
        queued = self.resync_pool.submit(self.step, *key)
        stepping: asyncio.Future[StepResult] = asyncio.wrap_future(queued)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(wake.wait())
        try:
            done, _ = await asyncio.wait({stepping, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if waiter in done and queued.cancel():
            wake.clear()
            return await asyncio.get_running_loop().run_in_executor(self.pool, self.step, *key)
        return await stepping

    @staticmethod
    async def _sleep(wake: asyncio.Event, seconds: float) -> bool:
        """Sleep until woken (True) or for `seconds` (False)."""
        try:
            async with asyncio.timeout(seconds):
                await wake.wait()
        except TimeoutError:
            return False
        return True
