"""The controller's probes: /healthz fails when a heartbeat stops (a stuck process), /readyz names the role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kcd.controller import probes
from tests.controller.kcdrun import probe
from tests.env.procs import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[int, probes.Heartbeats, Clock, dict[str, object]]]:
    clock, state = Clock(), {"ready": True, "role": "standby"}
    beats = probes.Heartbeats(clock)
    port = free_port()
    server = probes.serve(
        "127.0.0.1", port, ready=lambda: bool(state["ready"]), role=lambda: str(state["role"]), beats=beats
    )
    yield port, beats, clock, state
    server.shutdown()
    server.server_close()


def test_healthz_answers_ok_while_every_heartbeat_is_within_its_limit(served: tuple) -> None:  # type: ignore[type-arg]
    port, beats, clock, _ = served
    beats.beat("election", 30)
    beats.beat("event-loop", 60)
    clock.now += 29
    assert probe(port, "/healthz") == (200, "ok")


def test_healthz_fails_naming_the_heartbeat_that_stopped(served: tuple) -> None:  # type: ignore[type-arg]
    port, beats, clock, _ = served
    beats.beat("election", 30)
    beats.beat("event-loop", 60)
    clock.now += 31
    assert probe(port, "/healthz") == (503, "stuck: election")


def test_a_forgotten_heartbeat_no_longer_counts(served: tuple) -> None:  # type: ignore[type-arg]
    port, beats, clock, _ = served
    beats.beat("event-loop", 60)
    beats.forget("event-loop")
    clock.now += 3600
    assert probe(port, "/healthz") == (200, "ok")


def test_readyz_names_the_role_ready_or_not(served: tuple) -> None:  # type: ignore[type-arg]
    port, _, _, state = served
    assert probe(port, "/readyz") == (200, "ready (standby)")
    state.update(ready=False, role="standby")
    assert probe(port, "/readyz") == (503, "not ready (standby)")
    state.update(ready=True, role="leader")
    assert probe(port, "/readyz") == (200, "ready (leader)")
