"""kcd.kube.events against the local control plane: repeats of one Event are counted on it, not posted again.

Aspects: five emits of one Event give one Event with count 5; another message is another Event; concurrent emits of
one Event still give one; an Event the server expired is posted anew; the aggregation window and the memory bound.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from kubernetes import client

from kcd.kube import events
from kcd.kube.api import Kube

pytestmark = pytest.mark.cluster


@pytest.fixture
def kube(kube_api: Any) -> Kube:
    return Kube(kube_api)  # shares the session's client: closing it here would close theirs


def _ref(namespace: str, name: str = "app") -> events.ObjectRef:
    return events.ObjectRef(namespace, name, str(uuid.uuid4()))


def _events(kube_api: Any, namespace: str) -> list[tuple[str, str, int]]:
    items = client.CoreV1Api(kube_api).list_namespaced_event(namespace).items
    return sorted((e.involved_object.name, e.message, e.count) for e in items)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_same_event_emitted_five_times_is_one_event_with_count_five(
    kube: Kube, kube_api: Any, namespace: str
) -> None:
    ref = _ref(namespace)
    for _ in range(5):
        events.emit(kube, ref, reason="RolloutFailed", message="403 Forbidden", warning=True)
    assert _events(kube_api, namespace) == [("app", "403 Forbidden", 5)]


def test_a_different_message_is_posted_as_a_second_event(kube: Kube, kube_api: Any, namespace: str) -> None:
    ref = _ref(namespace)
    events.emit(kube, ref, reason="RolloutFailed", message="403 Forbidden", warning=True)
    events.emit(kube, ref, reason="RolloutFailed", message="403 Forbidden", warning=True)
    events.emit(kube, ref, reason="RolloutFailed", message="500 Internal Server Error", warning=True)
    assert _events(kube_api, namespace) == [("app", "403 Forbidden", 2), ("app", "500 Internal Server Error", 1)]


def test_the_same_event_emitted_by_many_threads_at_once_is_one_event(kube: Kube, kube_api: Any, namespace: str) -> None:
    ref = _ref(namespace)
    start = threading.Barrier(8)

    def post() -> None:
        start.wait(5)
        events.emit(kube, ref, reason="RolloutStarted", message="rolling out v2")

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert _events(kube_api, namespace) == [("app", "rolling out v2", 8)]


def test_an_event_the_server_expired_is_posted_anew(kube: Kube, kube_api: Any, namespace: str) -> None:
    recorder, ref = events.Recorder(), _ref(namespace)
    events.emit(kube, ref, reason="RolloutFailed", message="timeout", recorder=recorder)
    core = client.CoreV1Api(kube_api)
    [expired] = core.list_namespaced_event(namespace).items
    core.delete_namespaced_event(expired.metadata.name, namespace)  # what the API server's event TTL does
    events.emit(kube, ref, reason="RolloutFailed", message="timeout", recorder=recorder)
    events.emit(kube, ref, reason="RolloutFailed", message="timeout", recorder=recorder)
    assert _events(kube_api, namespace) == [("app", "timeout", 2)]


def test_the_same_event_after_a_quiet_window_starts_a_new_event(kube: Kube, kube_api: Any, namespace: str) -> None:
    clock = Clock()
    recorder, ref = events.Recorder(window=600, clock=clock), _ref(namespace)
    events.emit(kube, ref, reason="RolloutFailed", message="timeout", recorder=recorder)
    clock.now = 599  # within the window: counted
    events.emit(kube, ref, reason="RolloutFailed", message="timeout", recorder=recorder)
    clock.now = 599 + 600  # the window counts from the last write
    events.emit(kube, ref, reason="RolloutFailed", message="timeout", recorder=recorder)
    assert _events(kube_api, namespace) == [("app", "timeout", 1), ("app", "timeout", 2)]


def test_only_the_most_recently_emitted_events_are_remembered(kube: Kube, kube_api: Any, namespace: str) -> None:
    recorder = events.Recorder(capacity=2)
    first, second, third = (_ref(namespace, name) for name in ("a", "b", "c"))
    for ref in (first, second, first, third):  # `third` pushes out the least recently used: `second`
        events.emit(kube, ref, reason="RolloutStarted", message="v2", recorder=recorder)
    events.emit(kube, first, reason="RolloutStarted", message="v2", recorder=recorder)
    events.emit(kube, second, reason="RolloutStarted", message="v2", recorder=recorder)
    assert _events(kube_api, namespace) == [("a", "v2", 3), ("b", "v2", 1), ("b", "v2", 1), ("c", "v2", 1)]


def test_the_poster_posts_each_kcds_events_in_the_order_emitted_and_all_of_them_by_close(
    kube: Kube, kube_api: Any, namespace: str
) -> None:
    poster = events.Poster(kube, threads=3)
    refs = [_ref(namespace, f"app{i}") for i in range(4)]
    for step in range(5):
        for ref in refs:
            poster.emit(ref, reason="RolloutProgressing", message=f"step {step}")
    poster.close()  # returns once everything queued is posted
    items = client.CoreV1Api(kube_api).list_namespaced_event(namespace).items
    by_creation = sorted(items, key=lambda e: int(e.metadata.resource_version))
    for ref in refs:
        mine = [e.message for e in by_creation if e.involved_object.name == ref.name]
        assert mine == [f"step {step}" for step in range(5)]
