"""Kubernetes Events on the KCD for each rollout transition, and one structured JSON log line per transition.

Repeated Events are aggregated the way client-go's EventRecorder does it, on core/v1 `count` and `lastTimestamp` (the
API these Events are posted with, and what `kubectl describe` shows as "x5 over 2m"; not events.k8s.io `series`): an
Event with the same involved object, reason, type and message as one this process wrote within the last WINDOW_SECONDS
is PATCHed instead of posted again, so a problem retried every few seconds stays one Event whose count grows. The window
counts from the last write, so the count keeps growing while the problem lasts; a recurrence after a quiet window starts
a new Event. The memory of written Events is an LRU of CAPACITY keys; a key it forgot, or an Event the API server
expired meanwhile (404 on the PATCH), is simply posted anew.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from kcd import eventbodies
from kcd.errors import ApiError, NotFound
from kcd.kube.api import EVENTS, Kube

log = logging.getLogger("kcd.transitions")
COMPONENT = "kcd-controller"
WINDOW_SECONDS = 600.0  # client-go's aggregation interval
CAPACITY = 4096  # client-go's cache size: a few hundred bytes a key


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra=` fields of the record are included (kcd, workload, version, …)."""

    # kopf attaches its whole settings object and a posting flag to every record: noise in a log line.
    _plain = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "message",
        "asctime",
        "settings",
        "k8s_skip",
    }

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in self._plain})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("kopf").setLevel(max(logging.INFO, root.level))
    # kopf logs every successful handler call at INFO: one line per watch event of every workload.
    logging.getLogger("kopf.objects").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("urllib3").setLevel(logging.WARNING)


class Involved(Protocol):
    """What an Event needs of the object it is about (a kcd.model.KCD, or an ObjectRef for one that did not parse)."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def uid(self) -> str: ...


@dataclass(frozen=True)
class ObjectRef:
    namespace: str
    name: str
    uid: str = ""


@dataclass(slots=True)  # thousands of them: no __dict__ each
class _Written:
    """The Event last written for one key. Its lock serialises the API calls for that key: two threads emitting the
    same Event at once must not both post a new one."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    name: str = ""
    count: int = 0
    at: float = 0.0  # clock() of the last write


_Key = tuple[str, str, str, str, str, str]  # namespace, name, uid, reason, type, message


class Recorder:
    """Posts Events, aggregating repeats (see the module docstring). Thread-safe; one per process is the default."""

    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window, self.capacity, self.clock = window, capacity, clock
        self._written: OrderedDict[_Key, _Written] = OrderedDict()
        self._lock = threading.Lock()  # guards the OrderedDict only, never held during an API call

    def post(self, kube: Kube, body: dict[str, Any]) -> None:
        ref = body["involvedObject"]
        key = (ref["namespace"], ref["name"], ref["uid"], body["reason"], body["type"], body["message"])
        written = self._entry(key)
        with written.lock:
            now = self.clock()
            if written.name and now - written.at < self.window and self._update(kube, body, written):
                written.at = now
                return
            created = kube.create(EVENTS, ref["namespace"], body)
            written.name, written.count, written.at = str(created["metadata"]["name"]), 1, now

    def _entry(self, key: _Key) -> _Written:
        with self._lock:
            written = self._written.pop(key, None) or _Written()
            self._written[key] = written  # most recently used last
            if len(self._written) > self.capacity:
                self._written.popitem(last=False)
            return written

    @staticmethod
    def _update(kube: Kube, body: dict[str, Any], written: _Written) -> bool:
        """Count one more occurrence on the Event written before; False if the API server expired it meanwhile."""
        patch = {"count": written.count + 1, "lastTimestamp": body["lastTimestamp"]}
        try:
            kube.patch(EVENTS, body["involvedObject"]["namespace"], written.name, patch)
        except NotFound:
            return False
        written.count += 1
        return True


RECORDER = Recorder()


def emit(
    kube: Kube,
    kcd: Involved,
    *,
    reason: str,
    message: str,
    warning: bool = False,
    recorder: Recorder | None = None,
    **fields: str | None,
) -> None:
    """Post an Event on the KCD (or count one more of the same) and log the transition. A failed post is logged, never
    raised: events are advisory."""
    log.log(
        logging.WARNING if warning else logging.INFO,
        message,
        extra={"kcd": f"{kcd.namespace}/{kcd.name}", "reason": reason, **fields},
    )
    try:
        (recorder or RECORDER).post(kube, _body(kcd, reason=reason, message=message, warning=warning))
    except ApiError as err:
        log.warning("could not post event %s: %s", reason, err)


def _body(kcd: Involved, *, reason: str, message: str, warning: bool) -> dict[str, Any]:
    return eventbodies.body(
        namespace=kcd.namespace,
        name=kcd.name,
        uid=kcd.uid,
        reason=reason,
        message=message,
        warning=warning,
        component=COMPONENT,
    )


class Poster:
    """Posts Events off the step threads, so a step never waits for an Event's round trip. A KCD's Events always go to
    the same one of `threads` single-threaded queues, so they are posted in the order its steps emitted them; several
    queues, because one fell behind at 2,000 KCDs (each Event a round trip of 10-20 ms to a busy API server: the
    storm's Events were still being posted minutes later, BENCHMARKS.md). `threads=0` posts in the caller's thread."""

    def __init__(self, kube: Kube, threads: int = 4) -> None:
        self.kube = kube
        self._queues = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"kcd-events-{i}") for i in range(threads)]

    def emit(
        self, kcd: Involved, *, reason: str, message: str, warning: bool = False, version: str | None = None
    ) -> None:
        if not self._queues:
            emit(self.kube, kcd, reason=reason, message=message, warning=warning, version=version)
            return
        queue = self._queues[zlib.crc32(f"{kcd.namespace}/{kcd.name}".encode()) % len(self._queues)]
        queue.submit(emit, self.kube, kcd, reason=reason, message=message, warning=warning, version=version)

    def close(self) -> None:
        """Post what is queued, then stop (the last transitions' Events, before the process exits)."""
        for queue in self._queues:
            queue.shutdown(wait=True)
