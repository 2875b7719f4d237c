"""Kubernetes Events on the KCD for each rollout transition, and one structured JSON log line per transition."""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from kcd.errors import ApiError
from kcd.kube.api import EVENTS, Kube

log = logging.getLogger("kcd.transitions")
COMPONENT = "kcd-controller"


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


def emit(kube: Kube, kcd: Involved, *, reason: str, message: str, warning: bool = False, **fields: str) -> None:
    """Post an Event on the KCD and log the transition. A failed post is logged, never raised: events are advisory."""
    log.log(
        logging.WARNING if warning else logging.INFO,
        message,
        extra={"kcd": f"{kcd.namespace}/{kcd.name}", "reason": reason, **fields},
    )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "metadata": {"name": f"{kcd.name}.{uuid.uuid4().hex[:12]}", "namespace": kcd.namespace},
        "involvedObject": {
            "apiVersion": "kcd.io/v1",
            "kind": "KCD",
            "name": kcd.name,
            "namespace": kcd.namespace,
            "uid": kcd.uid,
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": COMPONENT,
    }
    try:
        kube.create(EVENTS, kcd.namespace, body)
    except ApiError as err:
        log.warning("could not post event %s: %s", reason, err)
