"""Workloads API benchmark on the local control plane (etcd + kube-apiserver: nothing reconciles, no controller).

For each size N (default 1,000 then 2,000), in one namespace: N Deployments (0 replicas), N KCDs selecting one each
and N syncer Leases, then `kcd api` started in its own process (as the chart runs it, PYTHONMALLOC=malloc):
1. load: 20 concurrent clients (4 processes x 5 threads, each with a keep-alive connection) GET /v1/kcd/workloads
   as JSON, then as HTML, for `--seconds` each: p50/p99 latency (whole body read) and requests per second. The clients
   ask for gzip, like a browser, and read the raw bytes (http.client: no decompression, no parsing), so that they take
   little of the CPU they share with the server; the CPU the clients and the API worker used is printed per case
   (in cores: 1.00 is one core busy for the whole case);
2. baseline in the same run: the same clients, each request a bare LIST of the N Deployments straight from the API
   server (what a handler without a cache would do at the least), and the ratio of the API's p99 to it;
3. RSS of the serving worker (and of gunicorn's master) after the load (psutil);
4. staleness: `--changes` KCD status patches one after another, each timed until the endpoint shows it.
Bounded: a fixed number of sizes, changes and seconds; every process is stopped at the end. Prints a table.
Goals: p99 <= 100 ms at 1,000 and 2,000 (JSON and HTML); RSS <= 80 MB at 2,000; staleness p99 <= 2 s.
Run: make bench-api   (or .venv/bin/python -m benchmarks.bench_api --sizes 1000,2000 --seconds 15 --changes 50)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import os
import resource
import ssl
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
from kubernetes import client

from tests import crd
from tests.controller.fixtures import REPO, kcd_body, workload
from tests.env import cluster as cluster_mod
from tests.env.kubeready import api_client
from tests.env.procs import Proc, ProcGroup, free_port, wait_until

NS = "bench-api"
MB = 1024 * 1024
CLIENT_PROCS, CLIENT_THREADS = 4, 5  # 20 concurrent clients, in 4 processes so that the clients' GIL is not the limit


@dataclass
class Load:
    p50: float  # ms
    p99: float
    rps: float
    errors: int
    client_cpu: float  # cores: CPU seconds of the client processes / wall seconds


def _connect(url: str, tls: dict[str, Any]) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=tls.get("verify"))
        context.load_cert_chain(*tls["cert"])
        return http.client.HTTPSConnection(str(parts.hostname), parts.port, timeout=30, context=context)
    return http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=30)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _hammer(url: str, seconds: float, tls: dict[str, Any]) -> tuple[list[float], int, float]:
    """CLIENT_THREADS threads GET `url` until `seconds` pass: their latencies in ms, the failed requests, and the CPU
    seconds this process used. Each thread keeps one connection, asks for gzip and reads the raw body."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        conn, mine, failed = _connect(url, tls), [], 0
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn, ok = _connect(url, tls), False
            mine.append((time.perf_counter() - t0) * 1000)
            failed += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    cpu = _cpu()
    threads = [threading.Thread(target=run) for _ in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], _cpu() - cpu


def load(url: str, seconds: float, tls: dict[str, Any] | None = None) -> Load:
    with concurrent.futures.ProcessPoolExecutor(CLIENT_PROCS) as pool:
        runs = list(pool.map(_hammer, [url] * CLIENT_PROCS, [seconds] * CLIENT_PROCS, [tls or {}] * CLIENT_PROCS))
    latencies = sorted(x for lat, _, _ in runs for x in lat)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    errors, cpu = sum(e for _, e, _ in runs), sum(c for _, _, c in runs)
    return Load(statistics.median(latencies), p99, len(latencies) / seconds, errors, cpu / seconds)


def lease(i: int) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    return {
        "metadata": {
            "name": f"kcd-syncer-deployment-w{i}",
            "labels": {"app.kubernetes.io/component": "kcd-syncer"},
            "annotations": {"kcd.io/syncer-last-success": now[:19] + "Z", "kcd.io/syncer-requests": "12"},
        },
        "spec": {"holderIdentity": f"w{i}-0", "leaseDurationSeconds": 120, "renewTime": now},
    }


def populate(api: Any, start: int, stop: int) -> None:
    """Deployments w<start>..w<stop-1> with their KCDs and syncer Leases, 8 requests at a time."""
    apps, custom, coord = client.AppsV1Api(api), client.CustomObjectsApi(api), client.CoordinationV1Api(api)

    def one(i: int) -> None:
        apps.create_namespaced_deployment(NS, workload("Deployment", f"w{i}", image=f"{REPO}:aaaaa11", replicas=0))
        custom.create_namespaced_custom_object("kcd.io", "v1", NS, "kcds", kcd_body(f"w{i}"))
        coord.create_namespaced_lease(NS, lease(i))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(start, stop)))


def count(port: int) -> int:
    resp = requests.get(f"http://127.0.0.1:{port}/v1/kcd/workloads", timeout=10)
    return len(resp.json()) if resp.status_code == 200 else -1


def start_api(procs: ProcGroup, cl: cluster_mod.Cluster, size: int) -> tuple[Proc, int]:
    port = free_port()
    argv = [sys.executable, "-m", "kcd", "api", "--bind", f"127.0.0.1:{port}", "--kubeconfig", str(cl.kubeconfig)]
    proc = procs.start(f"kcd-api-{size}", argv, env={"PYTHONMALLOC": "malloc"})
    wait_until(lambda: count(port) == size, what=f"kcd api showing {size} workloads", timeout=120, proc=proc)
    return proc, port


def worker(proc: Proc) -> psutil.Process:
    """gunicorn's one worker: the child of the master, the process `kcd api` exec'd into."""
    return psutil.Process(proc.popen.pid).children()[0]


def rss(proc: Proc) -> tuple[float, float]:
    """(the worker's RSS, the master's RSS) in MB."""
    return worker(proc).memory_info().rss / MB, psutil.Process(proc.popen.pid).memory_info().rss / MB


def timed_load(url: str, seconds: float, server: psutil.Process) -> tuple[Load, float]:
    """The load, and the CPU the API worker used meanwhile (cores)."""
    before = sum(server.cpu_times()[:2])
    result = load(url, seconds)
    return result, (sum(server.cpu_times()[:2]) - before) / seconds


def staleness(api: Any, port: int, size: int, changes: int) -> list[float]:
    """Seconds from a KCD status patch returning to the endpoint showing it, `changes` times."""
    custom, session, took = client.CustomObjectsApi(api), requests.Session(), []
    for n in range(changes):
        name, stamp = f"w{(n * 37) % size}", f"2026-12-01T00:{n // 60:02d}:{n % 60:02d}Z"
        body = {"status": {"currStatus": "Success", "currStatusTime": stamp}}
        custom.patch_namespaced_custom_object_status("kcd.io", "v1", NS, "kcds", name, body)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            items = session.get(f"http://127.0.0.1:{port}/v1/kcd/workloads?namespace={NS}", timeout=10).json()
            if any(i["Name"] == name and i["UpdatedAt"] == stamp for i in items):
                break
            time.sleep(0.02)
        took.append(time.monotonic() - t0)
    session.close()
    return took


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run_size(cl: cluster_mod.Cluster, api: Any, procs: ProcGroup, size: int, args: argparse.Namespace) -> list[str]:
    proc, port = start_api(procs, cl, size)
    assert cl.pki is not None
    tls = {"verify": str(cl.pki.ca_cert), "cert": (str(cl.pki.admin_cert), str(cl.pki.admin_key))}
    base = load(f"{cl.server}/apis/apps/v1/namespaces/{NS}/deployments", args.seconds, tls)
    url, server = f"http://127.0.0.1:{port}/v1/kcd/workloads?format=", worker(proc)
    results = {fmt: timed_load(url + fmt, args.seconds, server) for fmt in FORMATS}
    worker_rss, master_rss = rss(proc)
    loadavg = os.getloadavg()
    stale = staleness(api, port, size, args.changes)
    proc.stop()
    rows = [
        f"{size:>6}  {'LIST (baseline)':<16} {base.p50:>8.1f} {base.p99:>8.1f} {base.rps:>8.0f} {base.errors:>6}"
        f"  {'':>8}  clients {base.client_cpu:.2f} cores"
    ]
    for fmt, (r, cores) in results.items():
        ratio = r.p99 / base.p99
        rows.append(
            f"{size:>6}  {'API ' + fmt:<16} {r.p50:>8.1f} {r.p99:>8.1f} {r.rps:>8.0f} {r.errors:>6}  {ratio:>7.3f}x"
            f"  clients {r.client_cpu:.2f} cores, API worker {cores:.2f} cores"
        )
    rows.append(f"{size:>6}  RSS worker {worker_rss:.1f} MB, master {master_rss:.1f} MB")
    rows.append(f"{size:>6}  load average after the load: {' '.join(f'{x:.2f}' for x in loadavg)}")
    rows.append(
        f"{size:>6}  staleness ({len(stale)} changes): p50 {pct(stale, 0.5):.2f} s, p99 {pct(stale, 0.99):.2f} s"
    )
    return rows


FORMATS = ("json", "html")
HEAD = "  size  what                  p50 ms   p99 ms    req/s errors  p99 vs LIST  CPU"


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_api")
    parser.add_argument("--sizes", default="1000,2000")
    parser.add_argument("--seconds", type=float, default=15.0, help="load per case")
    parser.add_argument("--changes", type=int, default=50, help="status changes timed per size")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-api-"))
    cl = cluster_mod.from_env(workdir / "cluster", full=False)
    procs = ProcGroup(workdir / "logs")
    api = api_client(cl)
    try:
        crd.install(api)
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
        print(f"kcd api benchmark (local control plane, {CLIENT_PROCS * CLIENT_THREADS} clients, {workdir})")
        print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
        print(HEAD, flush=True)
        made = 0
        for size in (int(s) for s in args.sizes.split(",")):
            populate(api, made, size)
            made = size
            print("\n".join(run_size(cl, api, procs, size, args)), flush=True)
        print("goals: p99 <= 100 ms (JSON and HTML) at 1,000 and 2,000; RSS <= 80 MB at 2,000; staleness p99 <= 2 s")
    finally:
        procs.stop()
        api.close()
        cl.stop()


if __name__ == "__main__":
    main()
