"""The workloads list, rendered once and served to every client until the store changes.

20 clients polling a list of 2,000 workloads must not each build 2,000 items and serialise them: a response is cached
by (format, namespace) with the store's generation it was built from. It is built again only when the store moved on
and the cached one is older than `interval` (a storm of watch events re-renders at most every `interval` seconds), or
when it is older than `max_age` (relative times such as "last poll 12 s ago"). While one thread re-renders, the others
serve the previous response instead of waiting; only a first render makes them wait. At most `capacity` responses
are kept (least recently used dropped), so odd `namespace` values cannot grow memory. The HTML's rows are kept
between renders (kcd.api.pages.Rows): a render re-does only the rows whose values changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import gzip
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcd import overview
from kcd.api.store import Snapshot, Source

HTML = "text/html; charset=utf-8"
JSON = "application/json"


@dataclass
class Page:
    gzipped: bytes  # kept compressed (2,000 rows: ~1.3 MB of HTML, ~1 MB of JSON; tens of KB gzipped)
    content_type: str
    generation: int
    built_at: float  # clock()
    nonce: str = ""  # the CSP nonce the HTML was rendered with


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    page: Page | None = None


def now_text() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Renderer:
    def __init__(
        self,
        source: Source,
        *,
        writes_enabled: bool,
        interval: float = 0.5,
        max_age: float = 5.0,
        capacity: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source, self.writes_enabled = source, writes_enabled
        self.interval, self.max_age, self.capacity, self.clock = interval, max_age, capacity, clock
        self._slots: OrderedDict[tuple[str, str | None], _Slot] = OrderedDict()
        self._lock = threading.Lock()  # guards _slots only
        self._items: tuple[int, float, list[dict[str, Any]]] = (-1, 0.0, [])
        self._items_lock = threading.Lock()
        self._rows: Any = None  # kcd.api.pages.Rows, made on the first HTML render (pages imports Jinja2)
        self.renders = 0

    def items(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every item (kcd.overview), built once per store generation (and at most every `interval`)."""
        return self._built(namespace)[1]

    def _built(self, namespace: str | None) -> tuple[int, list[dict[str, Any]]]:
        """The items and the store generation they were built from."""
        with self._items_lock:
            generation, built_at, found = self._items
            if not self._fresh(generation, built_at):
                generation, snap = self.source.generation(), self.source.snapshot()
                now = datetime.datetime.now(datetime.UTC)
                found = all_items(snap, now)
                self._items = (generation, self.clock(), found)
        return generation, found if namespace is None else [i for i in found if i["Namespace"] == namespace]

    def _fresh(self, generation: int, built_at: float) -> bool:
        age = self.clock() - built_at
        if generation < 0 or age >= self.max_age:
            return False
        return generation == self.source.generation() or age < self.interval

    def page(self, fmt: str, namespace: str | None) -> Page:
        slot = self._slot((fmt, namespace))
        cached = slot.page
        if cached is not None and self._fresh(cached.generation, cached.built_at):
            return cached
        if not slot.lock.acquire(blocking=cached is None):
            return cached  # type: ignore[return-value] # another thread is rendering; the previous page meanwhile
        try:
            if slot.page is not None and self._fresh(slot.page.generation, slot.page.built_at):
                return slot.page
            slot.page = self._render(fmt, namespace)
            return slot.page
        finally:
            slot.lock.release()

    def _slot(self, key: tuple[str, str | None]) -> _Slot:
        with self._lock:
            slot = self._slots.pop(key, None) or _Slot()
            self._slots[key] = slot
            while len(self._slots) > self.capacity:
                self._slots.popitem(last=False)
            return slot

    def _render(self, fmt: str, namespace: str | None) -> Page:
        generation, found = self._built(namespace)
        self.renders += 1
        if fmt == "json":
            page = Page(_gzip(json.dumps(found, separators=(",", ":"))), JSON, generation, self.clock())
        else:
            from kcd.api import pages  # the dashboard's module; imported on first use

            nonce = secrets.token_urlsafe(16)
            if self._rows is None:
                self._rows = pages.Rows()
            html = pages.workloads_page(
                found,
                namespace=namespace,
                refreshed_at=now_text(),
                writes_enabled=self.writes_enabled,
                nonce=nonce,
                rows=self._rows,
            )
            page = Page(_gzip(html), HTML, generation, self.clock(), nonce)
        _trim()
        return page


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode(), compresslevel=1, mtime=0)  # level 1: a render must stay cheap


def _trim() -> None:
    """Give the heap a render freed back to the OS (glibc): rendering 2,000 rows allocates tens of MB briefly."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def all_items(snap: Snapshot, now: datetime.datetime) -> list[dict[str, Any]]:
    return overview.items(snap.kcds, snap.workloads, snap.leases, now)
