"""The core/v1 Event kcd posts about a KCD: its body, built in one place for the controller's transitions
(kcd.kube.events) and the API's audit of a person's action (kcd.api.actions). Pure, stdlib only."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from kcd import model
from kcd.status import format_time

MAX_MESSAGE = 1024


def body(
    *, namespace: str, name: str, uid: str, reason: str, message: str, warning: bool, component: str
) -> dict[str, Any]:
    """A new Event (count 1) on the KCD `namespace/name`, named after it with a random suffix."""
    now = format_time(datetime.datetime.now(datetime.UTC))
    return {
        "metadata": {"name": f"{name}.{uuid.uuid4().hex[:12]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "name": name,
            "namespace": namespace,
            "uid": uid,
        },
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "type": "Warning" if warning else "Normal",
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": component,
    }
