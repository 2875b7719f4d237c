"""Headless Chromium (Debian's ``chromium``) driven by playwright, and the dashboard served on 127.0.0.1.

No browser is downloaded: playwright launches ``/usr/bin/chromium`` with flags for a closed network, in a fresh profile
of its own (playwright gives every launch a new temporary user-data dir). The app is served by werkzeug in a thread,
on a free port of 127.0.0.1: the real app (create_app) over kcd.api.store.StaticStore, filled with the API bodies
of KCDs, workloads and syncer Leases (`Fleet`), which a test may change between refreshes.
"""

from __future__ import annotations

import datetime
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from kcd import syncerhealth
from kcd.api import Settings
from kcd.api.app import create_app
from kcd.api.store import StaticStore
from kcd.model import CANDIDATE_VERSION, PAUSED
from kcd.status import format_time

Body = dict[str, Any]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WALL = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A playwright Browser running /usr/bin/chromium headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1:<free port> in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class Watch:
    """What a page did that it must not: dialogs (alert/confirm/prompt) and script errors."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on("request", lambda req: self.requests.append(req.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


def screenshot(page: Any, tmp_dir: Path, name: str) -> Path:
    """Save a PNG under the test's tmp dir and copy it to docs/screenshots/; print both paths."""
    shot = tmp_dir / name
    page.screenshot(path=str(shot), full_page=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    kept = SCREENSHOTS / name
    shutil.copyfile(shot, kept)
    print(f"screenshot: {shot} -> {kept}")
    return kept


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FAILED = "b00b1e5 failed: Deployment catalog: ProgressDeadlineExceeded; rolled back to 1e2d3c4"


def iso(now: datetime.datetime, seconds_ago: float) -> str:
    return format_time(now - datetime.timedelta(seconds=seconds_ago))


@dataclass
class Fleet:
    """KCDs, their workloads and syncer Leases as the API server returns them; `store` serves them to the app."""

    now: datetime.datetime
    kcds: list[dict[str, Any]] = field(default_factory=list)
    workloads: list[dict[str, Any]] = field(default_factory=list)
    leases: list[dict[str, Any]] = field(default_factory=list)
    histories: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    store: StaticStore = field(default_factory=StaticStore)

    def add(self, ns: str, name: str, status: str = "Success", syncer: str = "Healthy", **o: Any) -> Fleet:
        """One KCD selecting one workload; `o`: kind, pods, live, running, candidate, ago, container, kcd, failed,
        held, rollout (status.rollout), conditions, notes (the KCD's annotations)."""
        live, kind, container = o.get("live", "3f9a2c1"), o.get("kind", "Deployment"), o.get("container", name)
        running, candidate = o.get("running", live), o.get("candidate", live)
        ago = o.get("ago", 3600)
        self.kcds.append(kcd_body(ns, o.get("kcd", name), name, container, status, live, ago, o, self.now))
        self.workloads.append(workload_body(ns, name, kind, container, running, candidate, o.get("pods", 3)))
        if syncer != "Missing":
            self.leases.append(lease_body(ns, name, kind, syncer, self.now))
        return self

    def publish(self) -> StaticStore:
        """Hand the current bodies to the store (a change: the next refresh shows them)."""
        self.store.set(kcds=self.kcds, workloads=self.workloads, leases=self.leases, histories=self.histories)
        return self.store


def kcd_body(
    ns: str, kcd: str, name: str, container: str, status: str, live: str, ago: float, o: dict[str, Any], now: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "kcd.io/v1",
        "kind": "KCD",
        "metadata": {"name": kcd, "namespace": ns, "uid": f"uid-{ns}-{name}", "annotations": o.get("notes", {})},
        "spec": {
            "imageRepo": f"127.0.0.1:5000/{ns}/{name}",
            "tag": "env-prod",
            "selector": {"app": name},
            "container": {"name": container},
        },
        "status": {
            "currStatus": status,
            "currStatusTime": iso(now, ago) if ago is not None else None,
            "successVersion": live,
            "failedVersions": list(o.get("failed", [])),
            "heldVersions": list(o.get("held", [])),
            "rollout": o.get("rollout"),
            "conditions": o.get("conditions", []),
        },
    }


def workload_body(ns: str, name: str, kind: str, container: str, version: str, candidate: str, pods: int) -> Body:
    pod = {"spec": {"containers": [{"name": container, "image": f"127.0.0.1:5000/{ns}/{name}:{version}"}]}}
    meta = {"name": name, "namespace": ns, "labels": {"app": name}, "annotations": {CANDIDATE_VERSION: candidate}}
    if kind == "CronJob":
        return {"kind": kind, "metadata": meta, "spec": {"jobTemplate": {"spec": {"template": pod}}}, "status": {}}
    counts = {"numberAvailable": pods} if kind == "DaemonSet" else {"availableReplicas": pods}
    return {"kind": kind, "metadata": meta, "spec": {"template": pod}, "status": counts}


def lease_body(ns: str, name: str, kind: str, state: str, now: datetime.datetime) -> Body:
    notes = {syncerhealth.REQUESTS: "1432", syncerhealth.LAST_SUCCESS: iso(now, 12 if state == "Healthy" else 2460)}
    if state == "Failing":
        notes.update({syncerhealth.ERROR: "registry 401: unauthorized", syncerhealth.ERROR_SINCE: iso(now, 1500)})
    return {
        "metadata": {"name": syncerhealth.lease_name(kind, name), "namespace": ns, "annotations": notes},
        "spec": {
            "holderIdentity": f"{name}-0",
            "renewTime": iso(now, 2460 if state == "Stale" else 12),
            "leaseDurationSeconds": 60,
        },
    }


def record(now: Any, version: str, outcome: str, ago: float, duration: float, reason: str, **over: Any) -> Body:
    raw = {
        "version": version,
        "digest": "sha256:" + (version * 64)[:64],
        "time": iso(now, ago),
        "kcd": "checkout",
        "type": "Deployment",
        "name": "checkout",
        "container": "checkout",
        "strategy": "Simple",
        "outcome": outcome,
        "durationSeconds": duration,
        "reason": reason,
    }
    raw.update(over)
    return raw


def sample(now: datetime.datetime, *, bulk: int = 0) -> Fleet:
    """A cluster's worth of workloads in every state, one carrying hostile markup, and `bulk` more in "bulk"."""
    fleet = Fleet(now)
    rollout = {"phase": "Waiting", "version": "9d2f6aa", "startedAt": iso(now, 40)}
    fleet.add(
        "shop",
        "checkout",
        "Progressing",
        live="7c41e0b",
        running="9d2f6aa",
        candidate="9d2f6aa",
        ago=40,
        failed=["5be1f07"],
        held=["8a0c3d2"],
        rollout=rollout,
    )
    fleet.add("shop", "cart", pods=6, ago=7200, notes={PAUSED: "true"})
    fleet.add(
        "shop",
        "catalog",
        "Failed",
        live="1e2d3c4",
        candidate="b00b1e5",
        pods=4,
        ago=600,
        failed=["b00b1e5"],
        conditions=[{"type": "Ready", "status": "False", "reason": "RolloutFailed", "message": FAILED}],
    )
    fleet.add("payments", "ledger", kind="StatefulSet", ago=86400)
    fleet.add("payments", "gateway", syncer="Failing", pods=8, ago=5400)
    fleet.add("payments", "fraud-scorer", syncer="Stale", pods=2, ago=172800)
    fleet.add("platform", "node-exporter", kind="DaemonSet", pods=12, ago=259200)
    fleet.add("platform", "nightly-report", syncer="Missing", kind="CronJob", ago=None)
    fleet.add("edge", "web", container=SCRIPT, candidate=IMG, kcd=SCRIPT, ago=300)
    for n in range(bulk):
        fleet.add("bulk", f"svc-{n:02d}", pods=n % 5)
    fleet.histories = {
        ("shop", "checkout"): [
            record(
                now,
                "5be1f07",
                "RolledBack",
                1800,
                312.0,
                "Deployment checkout: ProgressDeadlineExceeded (1 of 3 new pods ready); rolled back to 7c41e0b",
            ),
            record(now, "6f0e9b2", "Superseded", 5400, 35.0, "a newer candidate arrived: 5be1f07"),
            record(now, "7c41e0b", "Success", 86400, 94.5, "3 of 3 pods ready"),
            record(now, "8a0c3d2", "Failed", 172800, 900.0, "verification Image smoke-test: exit code 1"),
        ],
        ("edge", "web"): [
            record(now, "3f9a2c1", "Failed", 60, 12.0, f"{SCRIPT} {IMG}", kcd=SCRIPT, container=IMG, name="web"),
        ],
    }
    fleet.publish()
    return fleet


def app_for(store: StaticStore, *, writes: bool = False) -> Any:
    """The real app (kcd.api.app.create_app) serving `store`."""
    return create_app(store=store, settings=Settings(writes_enabled=writes))
