"""The kube-apiserver's own audit log, as an option of the local control plane (off by default).

Level Metadata, stage ResponseComplete only: one JSON line per finished request with its user, verb, objectRef,
requestURI and timestamps (microseconds), and no bodies. A long-running request (a watch) is logged when it ends.
`users` limits the log to those user names (client cert CN); the other components (kcm, scheduler, kwok) all use the
admin cert, and logging their thousands of requests would only cost the API server time during a benchmark.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

Event = dict[str, Any]


def write_policy(path: Path, *, users: Sequence[str] = ()) -> Path:
    """An audit policy: Metadata for every request (or only for `users`), nothing else, ResponseComplete only."""
    rule: dict[str, Any] = {"level": "Metadata"}
    if users:
        rule["users"] = list(users)
    rules = [rule] if not users else [rule, {"level": "None"}]
    policy = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived", "ResponseStarted", "Panic"],
        "rules": rules,
    }
    path.write_text(yaml.safe_dump(policy))
    return path


def apiserver_flags(policy: Path, log: Path) -> list[str]:
    # Blocking mode (the log backend's default): an event is written before its response, so the log is complete
    # as soon as the request returned. No rotation: a benchmark reads the whole file afterwards.
    return [
        f"--audit-policy-file={policy}",
        f"--audit-log-path={log}",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        "--audit-log-maxsize=0",
        "--audit-log-maxbackup=0",
    ]


def read(log: Path) -> Iterator[Event]:
    """Every event in the log; a line still being written (the last one) is skipped."""
    with open(log, encoding="utf-8") as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def stamp(event: Event, key: str = "requestReceivedTimestamp") -> float:
    """An event's timestamp as epoch seconds (`requestReceivedTimestamp` or `stageTimestamp`)."""
    return datetime.datetime.fromisoformat(event[key].replace("Z", "+00:00")).timestamp()
