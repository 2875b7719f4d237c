"""The per-KCD reconcile loops (kcd.controller.loops) with a scripted step function: no cluster needed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kcd.controller.loops import Loops
from kcd.kube.reconciler import StepResult
from kcd.settings import Settings

KEY = ("ns", "app")


class Script:
    """A step function answering from a list (the last answer repeats) and recording each call and its thread."""

    def __init__(self, *answers: StepResult | Exception, gate: threading.Event | None = None) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[tuple[str, str], str]] = []
        self.times: list[float] = []  # monotonic time of each call
        self.gate = gate

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:], strict=False)]

    def __call__(self, namespace: str, name: str) -> StepResult:
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append(((namespace, name), threading.current_thread().name))
        self.times.append(time.monotonic())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def run(
    script: Script,
    body: Callable[[Loops], Coroutine[Any, Any, None]],
    timing: Settings | None = None,
    **options: float,
) -> Loops:
    async def main() -> Loops:
        with (
            ThreadPoolExecutor(2, thread_name_prefix="main") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="resync") as resync,
        ):
            loops = Loops(
                script,
                timing or Settings(idle_resync_seconds=60, progress_poll_seconds=60, error_backoff_seconds=0.05),
                pool,
                resync,
                **options,
            )
            try:
                await body(loops)
            finally:
                await loops.close()
            return loops

    return asyncio.run(main())


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_a_new_kcd_is_stepped_at_once_and_again_each_time_it_is_woken() -> None:
    script = Script(StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 1)
        loops.ensure(KEY)  # a second event of the same KCD does not start a second loop
        loops.wake(KEY)
        await until(lambda: len(script.calls) == 2)
        await asyncio.sleep(0.1)
        assert len(script.calls) == 2
        assert len(loops.tasks) == 1

    run(script, body)
    assert {call[0] for call in script.calls} == {KEY}


def test_a_step_asking_again_is_followed_by_another_step_without_waiting() -> None:
    script = Script(StepResult(again=True), StepResult(again=True), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 3)

    run(script, body)


def test_an_in_flight_rollout_is_polled_without_any_event() -> None:
    script = Script(StepResult(in_flight=True), StepResult(in_flight=True), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 3)

    run(script, body, Settings(idle_resync_seconds=60, progress_poll_seconds=0.05))


def test_a_quiet_wait_is_rechecked_after_its_own_delay_not_the_progress_poll() -> None:
    script = Script(StepResult(in_flight=True, poll_after=0.3), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await asyncio.sleep(0.15)  # the progress poll (0.01 s) would have stepped many times by now
        assert len(script.calls) == 1
        await until(lambda: len(script.calls) == 2)

    run(script, body, Settings(idle_resync_seconds=60, progress_poll_seconds=0.01))
    assert script.gaps()[0] >= 0.29


def test_an_event_cuts_a_quiet_wait_short() -> None:
    script = Script(StepResult(in_flight=True, poll_after=60), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 1)
        loops.wake(KEY)
        await until(lambda: len(script.calls) == 2)

    run(script, body)


def test_a_gone_kcd_ends_its_loop_and_is_forgotten() -> None:
    script = Script(StepResult(gone=True))

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: KEY not in loops.tasks)
        assert KEY not in loops.wakes
        loops.wake(KEY)  # nothing left to wake: no error, no step
        await asyncio.sleep(0.05)

    run(script, body)
    assert len(script.calls) == 1


def test_a_crashing_step_is_retried_after_a_backoff_and_the_loop_survives() -> None:
    script = Script(RuntimeError("bug"), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 2)
        assert not loops.tasks[KEY].done()

    run(script, body)


def test_stopping_a_deleted_kcd_cancels_its_loop() -> None:
    script = Script(StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 1)
        task = loops.tasks[KEY]
        loops.stop(KEY)
        await until(task.done)
        assert KEY not in loops.tasks

    run(script, body)


def test_an_idle_kcd_is_resynced_on_the_resync_pool() -> None:
    script = Script(StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 2)

    run(script, body, Settings(idle_resync_seconds=0.05, progress_poll_seconds=60))
    assert script.calls[0][1].startswith("main")
    assert script.calls[1][1].startswith("resync")


def test_an_event_moves_a_queued_resync_to_the_main_pool() -> None:
    gate = threading.Event()
    blocker = Script(StepResult(), gate=gate)  # holds the only resync thread until the gate opens
    script = Script(StepResult())

    async def body(loops: Loops) -> None:
        loops.resync_pool.submit(blocker, "ns", "other")
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 1)
        await asyncio.sleep(0.2)  # the idle timeout passes: a resync queues behind the blocker
        assert len(script.calls) == 1
        loops.wake(KEY)
        await until(lambda: len(script.calls) == 2)
        gate.set()

    run(script, body, Settings(idle_resync_seconds=0.1, progress_poll_seconds=60))
    assert script.calls[1][1].startswith("main")


def test_a_step_failing_with_an_api_error_is_retried_after_its_retry_after_without_any_event() -> None:
    script = Script(StepResult(retry_after=0.2), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 2)

    run(script, body)
    assert script.gaps()[0] >= 0.2 * 0.9


def test_events_during_an_api_error_backoff_do_not_cut_it_short_but_cause_one_step_right_after_it() -> None:
    script = Script(StepResult(retry_after=0.4), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 1)
        for _ in range(3):  # a persistent 403 must not be retried on every workload event
            loops.wake(KEY)
            await asyncio.sleep(0.05)
        assert len(script.calls) == 1
        await until(lambda: len(script.calls) == 2)
        await asyncio.sleep(0.2)  # the remembered wakes were answered by that step: no further one
        assert len(script.calls) == 2

    run(script, body)
    assert script.gaps()[0] >= 0.4 * 0.9


def test_consecutive_crashes_double_the_backoff() -> None:
    script = Script(RuntimeError("bug"), RuntimeError("bug"), RuntimeError("bug"), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 4)

    run(script, body, Settings(idle_resync_seconds=60, progress_poll_seconds=60, error_backoff_seconds=0.1))
    gaps = script.gaps()  # 0.1 s, 0.2 s, 0.4 s
    assert gaps[1] >= 0.2 * 0.9
    assert gaps[2] >= 0.4 * 0.9


def test_a_successful_step_resets_the_crash_backoff() -> None:
    script = Script(RuntimeError("bug"), RuntimeError("bug"), StepResult(), RuntimeError("bug"), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 3)
        loops.wake(KEY)
        await until(lambda: len(script.calls) == 5)

    run(script, body, Settings(idle_resync_seconds=60, progress_poll_seconds=60, error_backoff_seconds=0.15))
    gaps = script.gaps()
    assert gaps[1] >= 0.3 * 0.9  # the second crash in a row waited twice as long …
    assert gaps[3] < 0.3  # … the first crash after a success the base delay again (0.15 s), not 0.6 s


def test_crash_backoff_stops_doubling_at_its_cap() -> None:
    script = Script(*[RuntimeError("bug")] * 4, StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 5)

    settings = Settings(idle_resync_seconds=60, progress_poll_seconds=60, error_backoff_seconds=0.1)
    run(script, body, settings, max_crash_backoff=0.15)
    assert script.gaps()[3] < 0.4  # uncapped it would be 0.8 s


def test_events_during_a_crash_backoff_do_not_cut_it_short() -> None:
    script = Script(RuntimeError("bug"), StepResult())

    async def body(loops: Loops) -> None:
        loops.ensure(KEY)
        await until(lambda: len(script.calls) == 1)
        loops.wake(KEY)
        await asyncio.sleep(0.1)
        assert len(script.calls) == 1
        await until(lambda: len(script.calls) == 2)
        await asyncio.sleep(0.1)
        assert len(script.calls) == 2

    run(script, body, Settings(idle_resync_seconds=60, progress_poll_seconds=60, error_backoff_seconds=0.3))
