"""The dashboard: server-rendered HTML pages with inline CSS and JS, no external assets (docs/dashboard.md).

Jinja2 templates in ``kcd/api/templates`` with autoescape on: every value from the cluster reaches the page through
``{{ }}`` and is HTML-escaped, in text and in attributes alike. The rows of the workloads table (2,000 of them on a
big cluster, rendered every few seconds) are the exception: ``Rows`` renders each with ``markupsafe.escape`` on every
value and keeps it by the values it shows, so a render re-does only the rows that changed (a 2,000-row page: ~3 ms,
~1 MB). A row carries each value once: the script derives sort keys from the cells, CSS the phone's labels, and times
are ``<time datetime>`` made relative in the browser, so a row does not change just because time passed.

The pages' script never builds HTML from data: it reads the server-escaped DOM (sorting, filtering, relative times)
and, every few seconds, fetches the same URL and swaps the elements marked ``data-live`` for the fresh ones parsed
with DOMParser.

``nonce`` (optional) is put on the page's one ``<script>`` and ``<style>`` so a Content-Security-Policy of
``script-src 'nonce-…'; style-src 'nonce-…'`` allows them; the pages use no inline ``style=`` attributes and no
inline event handlers.
"""

from __future__ import annotations

import datetime
import operator
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jinja2
from markupsafe import Markup, escape

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("kcd.api", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)

WORKLOADS_PATH = "/v1/kcd/workloads"
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
        "href": history_url(text["Namespace"], text["Name"]),
    }


def _state(item: Mapping[str, Any]) -> Any:
    syncer = item.get("Syncer")
    return syncer.get("State") if isinstance(syncer, dict) else _syncer(item)["State"]


def counters(items: list[dict[str, Any]]) -> dict[str, int]:
    states = [_state(i) for i in items]
    return {
        "workloads": len(items),
        "progressing": sum(i.get("Status") == "Progressing" for i in items),
        "failed": sum(i.get("Status") == "Failed" for i in items),
        "syncers": sum(s in SYNCER_BAD for s in states),
    }


ROW_KEYS = (
    *("Namespace", "Name", "Type", "Status", "Paused", "Message", "Version", "LiveVersion", "CandidateVersion"),
    *("Tag", "Container", "CV", "AvailablePods", "UpdatedAt"),
)  # what a row shows besides the syncer (the syncer's state and line are the rest of a row's key)
_SHOWN = operator.itemgetter(*ROW_KEYS)
POLLED = "last poll "  # kcd.syncerhealth.describe: "last poll 12 s ago", "no live syncer: last poll 41 min ago"


def _syncer_line(syncer: Mapping[str, Any]) -> tuple[str, str]:
    """The syncer's line as (text, time): "last poll 12 s ago" becomes ("last poll ", LastPoll), made relative by the
    page's script; any other line is (line, "")."""
    line, polled = str(syncer.get("Message") or ""), syncer.get("LastPoll")
    at = line.rfind(POLLED) if polled and line.endswith(" ago") else -1
    return (line[: at + len(POLLED)], str(polled)) if at >= 0 else (line, "")


def _time(iso: str) -> str:
    text = escape(iso)
    return f'<time datetime="{text}">{text}</time>'


def _cell(value: str, css: str) -> str:
    return f'<td><span class="{css}">{escape(value)}</span></td>' if value else "<td></td>"


def row_html(item: Mapping[str, Any]) -> str:
    """One ``<tr>`` of the workloads table, every value escaped; cells in the order of the table's header."""
    r = row(item)
    status, syncer = escape(r["Status"]), r["Syncer"]
    badges = f'<span class="badge {status}">{status or "Unknown"}</span>'
    if r["Paused"]:
        badges += ' <span class="badge Paused">Paused</span>'
    if r["Message"]:
        badges += f' <span class="status-msg muted small">{escape(r["Message"])}</span>'
    new = " new" if r["CandidateVersion"] and r["CandidateVersion"] != r["LiveVersion"] else ""
    text, at = _syncer_line(syncer)
    state = escape(str(syncer["State"]))
    updated = _time(r["UpdatedAt"]) if r["UpdatedAt"] else '<span class="muted">never</span>'
    return "".join(
        (
            f'<tr class="row s-{status or "None"}"><td><a class="wl" href="{escape(r["href"])}">{escape(r["Name"])}',
            f'</a><br><span class="muted small">{escape(r["Namespace"])} · {escape(r["Type"])}</span></td>',
            f"<td>{badges}</td>",
            _cell(r["Version"], "ver"),
            _cell(r["LiveVersion"], "ver"),
            _cell(r["CandidateVersion"], "ver" + new),
            _cell(r["Tag"], "clip"),
            _cell(r["Container"], "clip"),
            _cell(r["CV"], "clip"),
            f'<td class="num">{r["AvailablePods"]}</td>',
            f'<td><span class="badge {state}">{state}</span> <span class="syncer-msg muted small">{escape(text)}',
            f"{_time(at) if at else ''}</span></td><td>{updated}</td></tr>\n",
        )
    )


class Rows:
    """Rendered rows by the values they show (what `row_html` reads), so an unchanged row is not rendered again.

    Bounded by the rows that exist: a render of every namespace (`complete`) keeps only the rows it used; a render of
    one namespace adds its rows, unless that grows the cache past twice the last complete render. Renders of different
    responses may run at once (kcd.api.rendering): the dict is only read and replaced, never changed in place.
    """

    def __init__(self) -> None:
        self._html: dict[Any, str] = {}
        self._complete = 0  # rows in the last complete render
        self.rendered = 0  # rows rendered (not found), for tests

    def __len__(self) -> int:
        return len(self._html)

    def render(self, items: list[dict[str, Any]], *, complete: bool) -> Markup:
        known, parts = self._html, []
        used: dict[Any, str] = {}
        for item in items:
            key = _key(item)
            try:
                html = used.get(key) or known.get(key)
            except TypeError:  # an odd item with a list where a string belongs: rendered, not kept
                key, html = None, None
            if html is None:
                html = row_html(item)
                self.rendered += 1
            if key is not None:
                used[key] = html
            parts.append(html)
        if complete:
            self._html, self._complete = used, len(used)
        elif len(known) + len(used) <= 2 * self._complete + 100:
            self._html = known | used
        else:
            self._html = used
        return Markup("".join(parts))


def _key(item: Mapping[str, Any]) -> Any:
    """What a row shows: its values, the syncer's state and line (with the time of a relative one, not its text)."""
    raw = item.get("Syncer")
    syncer = raw if type(raw) is dict else dict(raw) if isinstance(raw, Mapping) else {}
    try:
        shown = _SHOWN(item)
    except KeyError:  # a partial item
        shown = tuple(map(item.get, ROW_KEYS))
    return shown, syncer.get("State"), _syncer_line(syncer)


def _record(raw: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("version", "digest", "time", "kcd", "type", "name", "container", "strategy", "outcome", "reason")
    record: dict[str, Any] = {k: str(raw.get(k) or "") for k in keys}
    record["duration"] = duration(raw.get("durationSeconds"))
    return record


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workloads_page(
    items: list[dict[str, Any]],
    *,
    namespace: str | None,
    refreshed_at: str,
    writes_enabled: bool,
    nonce: str = "",
    rows: Rows | None = None,
) -> str:
    """The table of every managed workload (``/v1/kcd/workloads?format=html``); `rows` keeps rendered rows between
    renders (kcd.api.rendering holds one)."""
    return _env.get_template("workloads.html").render(
        rows_html=(Rows() if rows is None else rows).render(items, complete=namespace is None),
        counts=counters(items),
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
