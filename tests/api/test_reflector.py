"""The store's list+watch loop: resumes from the last resourceVersion, lists again after 410 Gone, survives errors.

A tiny in-memory client at the project's own seam (kcd.kube.rest.Client's list and watch) plays the API server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from kcd.api import store
from kcd.kube import rest


def deployment(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "a", "resourceVersion": version}, "spec": {}, "status": {}}


class Stream:
    def __init__(self, events: list[rest.WatchEvent | Exception]) -> None:
        self.events = events

    def __iter__(self) -> Iterator[rest.WatchEvent]:
        for event in self.events:
            if isinstance(event, Exception):
                raise event
            yield event

    def close(self) -> None:
        pass


class FakeApi:
    """Serves scripted LISTs and WATCHes; records the resourceVersion each watch resumed from."""

    def __init__(self, lists: list[list[dict[str, Any]]], watches: list[list[rest.WatchEvent | Exception]]) -> None:
        self.lists, self.watches = lists, watches
        self.listed = 0
        self.resumed_from: list[str] = []
        self.done = threading.Event()

    def list(self, path: str, each: Callable[[dict[str, Any]], None], **_: Any) -> str:
        items = self.lists[self.listed]
        self.listed += 1
        for item in items:
            each(item)
        return str(max(int(i["metadata"]["resourceVersion"]) for i in items))

    def watch(self, path: str, *, resource_version: str, **_: Any) -> Stream:
        self.resumed_from.append(resource_version)
        if len(self.resumed_from) > len(self.watches):
            self.done.set()
            return Stream([])
        return Stream(self.watches[len(self.resumed_from) - 1])


def run(api: FakeApi) -> store.Reflector:
    resource = next(r for r in store.resources() if r.name == "deployments")
    reflector = store.Reflector(api, resource, namespace=None, on_change=lambda: None)  # type: ignore[arg-type]
    stop = threading.Event()
    thread = threading.Thread(target=reflector.run, args=(stop,), daemon=True)
    thread.start()
    assert api.done.wait(10), "the reflector did not get through its script"
    stop.set()
    thread.join(5)
    return reflector


def test_a_watch_resumes_from_the_last_resource_version_and_a_gone_lists_again() -> None:
    api = FakeApi(
        lists=[[deployment("web", "3")], [deployment("web", "9"), deployment("db", "8")]],
        watches=[
            [rest.WatchEvent("ADDED", deployment("api", "4")), rest.WatchEvent("BOOKMARK", deployment("", "6"))],
            [rest.Gone("too old", 410)],
        ],
    )

    reflector = run(api)

    assert api.listed == 2
    assert api.resumed_from[:3] == ["3", "6", "9"]
    assert sorted(reflector.objects) == [("a", "db"), ("a", "web")]


def test_a_failed_watch_is_retried_from_where_it_was_without_listing_again() -> None:
    api = FakeApi(
        lists=[[deployment("web", "3")]],
        watches=[[rest.WatchEvent("DELETED", deployment("web", "5")), rest.ApiError("connection reset")]],
    )

    reflector = run(api)

    assert api.listed == 1
    assert api.resumed_from[:2] == ["3", "5"]
    assert reflector.objects == {}
