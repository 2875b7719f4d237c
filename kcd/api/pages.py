"""The dashboard: server-rendered HTML pages with inline CSS and JS, no external assets (docs/dashboard.md).

Jinja2 templates in ``kcd/api/templates`` with autoescape on: every value from the cluster reaches the page through
``{{ }}`` and is HTML-escaped, in text and in attributes alike. The pages' script never builds HTML from data: it
reads the server-escaped DOM (sorting, filtering, relative times) and, every few seconds, fetches the same URL and
swaps the elements marked ``data-live`` for the fresh ones parsed with DOMParser.

``nonce`` (optional) is put on the page's one ``<script>`` and ``<style>`` so a Content-Security-Policy of
``script-src 'nonce-…'; style-src 'nonce-…'`` allows them; the pages use no inline ``style=`` attributes and no
inline event handlers.
"""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jinja2

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("kcd.api", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)

WORKLOADS_PATH = "/v1/kcd/workloads"
STATUS_RANK = {"Failed": 0, "Progressing": 1, "Success": 2}
SYNCER_RANK = {"Failing": 0, "Stale": 1, "Missing": 2, "Healthy": 3}
SYNCER_BAD = ("Failing", "Stale")
ROLLOUT_KEYS = ("Phase", "Version", "StartedAt", "Message")


def duration(seconds: Any) -> str:
    """A person's duration: "0 s", "42 s", "3 min 05 s", "2 h 04 min"; "" when not a number."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return ""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def quote(text: Any) -> str:
    """One URL path segment or query value (every reserved character encoded)."""
    return urllib.parse.quote(str(text), safe="")


_env.filters["q"] = quote


def workloads_url(namespace: str | None = None) -> str:
    query = {"format": "html", **({"namespace": namespace} if namespace else {})}
    return f"{WORKLOADS_PATH}?{urllib.parse.urlencode(query)}"


def history_url(namespace: str, name: str) -> str:
    return f"{WORKLOADS_PATH}/{quote(name)}?{urllib.parse.urlencode({'namespace': namespace, 'format': 'html'})}"


def _syncer(item: Mapping[str, Any]) -> dict[str, Any]:
    raw = item.get("Syncer")
    syncer = dict(raw) if isinstance(raw, Mapping) else {}
    syncer.setdefault("State", "Missing")
    for key in ("Message", "LastPoll", "LastSuccess", "Error"):
        syncer.setdefault(key, "")
    syncer.setdefault("RegistryRequests", 0)
    return syncer


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def row(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item with what the templates need and the missing keys filled, so a partial item still renders."""
    text = {k: str(item.get(k) or "") for k in ("Namespace", "Name", "Type", "Container", "Version", "CV", "Tag")}
    text.update({k: str(item.get(k) or "") for k in ("Status", "LiveVersion", "CandidateVersion", "UpdatedAt")})
    pods = item.get("AvailablePods")
    rollout = item.get("Rollout")
    return {
        **text,
        "AvailablePods": pods if isinstance(pods, int) and not isinstance(pods, bool) else 0,
        "Syncer": _syncer(item),
        "FailedVersions": _strings(item.get("FailedVersions")),
        "HeldVersions": _strings(item.get("HeldVersions")),
        "Rollout": {k: str(rollout.get(k) or "") for k in ROLLOUT_KEYS} if isinstance(rollout, Mapping) else {},
        "Message": str(item.get("Message") or ""),
        "Paused": item.get("Paused") is True,
        "status_rank": STATUS_RANK.get(text["Status"], 3),
        "syncer_rank": SYNCER_RANK.get(str(_syncer(item)["State"]), 4),
        "href": history_url(text["Namespace"], text["Name"]),
    }


def counters(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "workloads": len(rows),
        "progressing": sum(r["Status"] == "Progressing" for r in rows),
        "failed": sum(r["Status"] == "Failed" for r in rows),
        "syncers": sum(r["Syncer"]["State"] in SYNCER_BAD for r in rows),
    }


def _record(raw: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("version", "digest", "time", "kcd", "type", "name", "container", "strategy", "outcome", "reason")
    record: dict[str, Any] = {k: str(raw.get(k) or "") for k in keys}
    record["duration"] = duration(raw.get("durationSeconds"))
    return record


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workloads_page(
    items: list[dict[str, Any]], *, namespace: str | None, refreshed_at: str, writes_enabled: bool, nonce: str = ""
) -> str:
    """The table of every managed workload (``/v1/kcd/workloads?format=html``)."""
    rows = [row(i) for i in items]
    return _env.get_template("workloads.html").render(
        rows=rows,
        counts=counters(rows),
        namespace=namespace or "",
        refreshed_at=refreshed_at or _now(),
        writes_enabled=writes_enabled,
        nonce=nonce,
        self_url=workloads_url(namespace),
        all_url=workloads_url(None),
    )


def history_page(
    *,
    namespace: str,
    name: str,
    records: list[dict[str, Any]],
    item: dict[str, Any] | None,
    writes_enabled: bool,
    nonce: str = "",
    refreshed_at: str = "",
) -> str:
    """One workload: its versions, syncer, quarantined and held versions and the timeline of its rollouts."""
    return _env.get_template("history.html").render(
        namespace=namespace,
        name=name,
        records=[_record(r) for r in records if isinstance(r, Mapping)],
        item=row(item) if item is not None else None,
        writes_enabled=writes_enabled,
        nonce=nonce,
        refreshed_at=refreshed_at or _now(),
        self_url=history_url(namespace, name),
        back_url=workloads_url(None),
        ns_url=workloads_url(namespace),
        kcds_path="/v1/kcd/kcds",
    )
