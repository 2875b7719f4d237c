"""Rollout history: one ConfigMap per workload, a JSON array of records, newest first and bounded (contract.md).

ConfigMap `<workload>.history` in the workload's namespace, label `kcd.io/history: "true"`, data key `history`. This
module is pure: it encodes and decodes the data and applies the bounds; the controller's ConfigMap adapter implements
the `History` protocol with it (read the ConfigMap, `decode`, `add`, `encode`, write it back with `configmap(...)`).

  Record(version=, digest=, time=, kcd=, type=, name=, container=, strategy=, outcome=, duration_seconds=, reason=)
  Record.to_dict() / Record.from_dict(raw) -> Record | None
  encode(records) -> str;  decode(text) -> list[Record]   (never raises: garbage decodes to [], bad items are skipped)
  add(records, record, max_entries) -> list[Record]       (newest first; idempotent; capped in count and in bytes)
  configmap_name(workload) -> str;  configmap(namespace=, workload=, records=) -> dict   (the whole ConfigMap body)
  History: Protocol with load(namespace, workload) and add(namespace, workload, record, *, max_entries)

`add` is idempotent: adding a record of the same rollout as the newest one changes nothing. The same rollout: equal in
everything but `time`, `durationSeconds` and `reason`, and the newest record's time is not before the new record's
start (`time` - `durationSeconds`); a record of an earlier rollout of that version ended before this one started. A
controller that ends a rollout in the step that saw it done (no Recording phase persisted first) can therefore retry
that step after a restart without doubling the entry, though its time and progress message differ the second time.
Two rollouts of one version with one outcome that end and start within the same second count as one.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from kcd.model import Outcome, parse_time

SUFFIX = ".history"
LABEL = "kcd.io/history"
LABEL_VALUE = "true"
DATA_KEY = "history"
MAX_REASON_CHARS = 1024
MAX_DATA_BYTES = 512 * 1024  # well below the 1 MiB limit of a ConfigMap


@dataclasses.dataclass(frozen=True)
class Record:
    """One rollout outcome for one workload."""

    version: str
    time: str  # RFC 3339, UTC (when the outcome was reached)
    kcd: str  # the KCD's name
    type: str  # workload kind: Deployment, StatefulSet, DaemonSet, CronJob
    name: str  # workload name
    container: str
    outcome: Outcome
    strategy: str = "Simple"
    digest: str = ""
    duration_seconds: float = 0.0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "digest": self.digest,
            "time": self.time,
            "kcd": self.kcd,
            "type": self.type,
            "name": self.name,
            "container": self.container,
            "strategy": self.strategy,
            "outcome": str(self.outcome),
            "durationSeconds": self.duration_seconds,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Record | None:
        """The record, or None when `raw` is not one (no version, unknown outcome, wrong types)."""
        if not isinstance(raw, Mapping):
            return None
        text = {k: raw.get(k) for k in ("version", "digest", "time", "kcd", "type", "name", "container", "strategy")}
        if not isinstance(text["version"], str) or not text["version"]:
            return None
        if any(v is not None and not isinstance(v, str) for v in text.values()):
            return None
        outcome, duration, reason = raw.get("outcome"), raw.get("durationSeconds", 0), raw.get("reason", "")
        if outcome not in set(Outcome) or not isinstance(reason, str):
            return None
        if isinstance(duration, bool) or not isinstance(duration, int | float):
            return None
        return cls(
            version=text["version"],
            digest=text["digest"] or "",
            time=text["time"] or "",
            kcd=text["kcd"] or "",
            type=text["type"] or "",
            name=text["name"] or "",
            container=text["container"] or "",
            strategy=text["strategy"] or "",
            outcome=Outcome(outcome),
            duration_seconds=float(duration),
            reason=reason,
        )


def configmap_name(workload: str) -> str:
    return f"{workload}{SUFFIX}"


def encode(records: Iterable[Record]) -> str:
    """A JSON array, newest first as given; one line (kubectl shows it as is)."""
    return json.dumps([r.to_dict() for r in records], separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes | None) -> list[Record]:
    """The records in `text`; [] for anything that is not a JSON array, and items that are not records are dropped."""
    if not text:
        return []
    try:
        items = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return []
    if not isinstance(items, list):
        return []
    return [r for r in map(Record.from_dict, items) if r is not None]


def add(records: Sequence[Record], record: Record, max_entries: int) -> list[Record]:
    """`record` prepended to `records`, keeping at most `max_entries` (>= 1) and at most MAX_DATA_BYTES of JSON.

    Adding a record equal to the newest one is a no-op (safe retries). An over-long reason is cut to MAX_REASON_CHARS.
    """
    if len(record.reason) > MAX_REASON_CHARS:
        record = dataclasses.replace(record, reason=record.reason[: MAX_REASON_CHARS - 1] + "…")
    merged = list(records) if records and same_rollout(records[0], record) else [record, *records]
    kept: list[Record] = []
    size = 2  # the brackets
    for item in merged[: max(1, max_entries)]:
        size += len(encode([item]).encode()) - 1  # its JSON and a comma
        if kept and size > MAX_DATA_BYTES:
            break
        kept.append(item)
    return kept


def _identity(record: Record) -> Record:
    return dataclasses.replace(record, time="", duration_seconds=0.0, reason="")


def same_rollout(newest: Record, record: Record) -> bool:
    """`record` is a second write of the rollout `newest` recorded (see the module's docstring)."""
    if newest == record:
        return True
    if _identity(newest) != _identity(record):
        return False
    recorded, ended = parse_time(newest.time), parse_time(record.time)
    if recorded is None or ended is None:
        return False
    return recorded >= ended - datetime.timedelta(seconds=record.duration_seconds)


def configmap(*, namespace: str, workload: str, records: Sequence[Record]) -> dict[str, Any]:
    """The whole history ConfigMap body (for create; its labels and data also suit a merge patch)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": configmap_name(workload), "namespace": namespace, "labels": {LABEL: LABEL_VALUE}},
        "data": {DATA_KEY: encode(records)},
    }


class History(Protocol):
    """Where rollout records are kept (the controller's ConfigMap adapter; an in-memory fake in tests)."""

    def load(self, namespace: str, workload: str) -> list[Record]:
        """The workload's records, newest first ([] when it has none)."""
        ...

    def add(self, namespace: str, workload: str, record: Record, *, max_entries: int) -> None:
        """Prepend `record` (see `add` above for the bounds and the idempotence)."""
        ...
