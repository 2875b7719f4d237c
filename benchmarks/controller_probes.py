"""What the controller benchmark reads off the controller process besides the audit log: CPU per thread, reconcile
steps from its /metrics, and which code it ran; and what the API server served to every client (its /metrics)."""

from __future__ import annotations

import re
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from tests.controller import kcdrun


def cpu_seconds(ctl: kcdrun.Controller) -> tuple[float, float]:
    """CPU time of the controller process so far: (its main thread, kopf's event loop; every other thread)."""
    threads = psutil.Process(ctl.proc.popen.pid).threads()
    main = sum(t.user_time + t.system_time for t in threads if t.id == ctl.proc.popen.pid)
    return main, sum(t.user_time + t.system_time for t in threads) - main


def step_metrics(ctl: kcdrun.Controller) -> tuple[float, float]:
    """(reconcile steps, seconds in them) so far, from the controller's /metrics: to show that the resyncs ran, and
    what a step costs (never to count API requests: the audit log does that)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{ctl.port}/metrics", timeout=5) as resp:  # noqa: S310 - loopback
        lines = resp.read().decode().splitlines()

    def total(name: str) -> float:
        return sum(float(ln.split()[-1]) for ln in lines if ln.startswith(f"kcd_reconcile_step_seconds_{name}"))

    return total("count"), total("sum")


def code_version() -> str:
    """The commit the controller code was measured at, and whether kcd/ had uncommitted changes then."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "kcd"], cwd=root, capture_output=True, text=True)
    except OSError:
        return "unknown"
    changed = len(dirty.stdout.splitlines())
    return head.stdout.strip() + (f" + {changed} uncommitted files in kcd/" if changed else "")


_REQUESTS = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$", re.MULTILINE)
_WRITES = ('verb="POST"', 'verb="PUT"', 'verb="PATCH"', 'verb="DELETE"', 'verb="APPLY"')


def apiserver_requests(api: Any) -> tuple[float, float]:
    """(requests, writes) the API server has answered since it started, from every client (the controller, the
    kube-controller-manager, the scheduler, kwok, the benchmark): its apiserver_request_total, watches not counted.
    The storms' difference in these is the work the controller adds to the cluster's."""
    text = _get(api, "/metrics").decode()
    requests = writes = 0.0
    for labels, value in _REQUESTS.findall(text):
        if 'verb="WATCH"' in labels:
            continue
        requests += float(value)
        if any(w in labels for w in _WRITES):
            writes += float(value)
    return requests, writes


def _get(api: Any, path: str, **query: str) -> bytes:
    """The raw body of a GET of the API server's own endpoints (/metrics, /debug/pprof) with the benchmark's client."""
    resp = api.call_api(
        path,
        "GET",
        query_params=list(query.items()),
        auth_settings=["BearerToken"],
        _preload_content=False,
        _request_timeout=30,  # a 10 s profile included
    )
    return bytes((resp[0] if isinstance(resp, tuple) else resp).data)


def process_cpu(procs: list[Any], ctl: kcdrun.Controller | None = None) -> dict[str, float]:
    """CPU seconds so far of each control-plane process, the benchmark itself and the controller: a storm's
    difference in these says who did the extra work on the shared cores."""

    def seconds(p: psutil.Process) -> float:
        t = p.cpu_times()
        return float(t.user + t.system)

    out: dict[str, float] = {}
    for proc in procs:
        try:
            out[proc.name] = seconds(psutil.Process(proc.popen.pid))
        except psutil.Error:  # a process that has exited
            continue
    out["benchmark"] = seconds(psutil.Process())
    if ctl is not None:
        out["controller"] = seconds(psutil.Process(ctl.proc.popen.pid))
    return out


def cpu_since(before: dict[str, float], now: dict[str, float]) -> dict[str, float]:
    return {name: now[name] - before.get(name, 0.0) for name in now}


class Pprof:
    """Diagnostic (`--pprof DIR`): CPU profiles of the API server (its /debug/pprof, on with
    KCD_TEST_APISERVER_PROFILING=1), 10 s each, back to back while a storm runs; read them with
    `go tool pprof -top DIR/<label>-*.pb.gz`."""

    def __init__(self, api: Any, outdir: Path) -> None:
        self.api, self.outdir = api, outdir
        self.stop_flag = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, label: str) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.stop_flag.clear()
        self.thread = threading.Thread(target=self._run, args=(label,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_flag.set()
        if self.thread is not None:
            self.thread.join()

    def _run(self, label: str) -> None:
        i = 0
        while not self.stop_flag.is_set():
            (self.outdir / f"{label}-{i:02d}.pb.gz").write_bytes(_get(self.api, "/debug/pprof/profile", seconds="10"))
            i += 1
