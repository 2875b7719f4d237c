"""Benchmark of the syncer: what one poll costs when nothing changed, and the syncer process's steady memory.

Per no-change poll: registry requests (counted by a proxy on 127.0.0.1 in front of the registry or moto ECR) and CPU
time of the polling thread (the real ``Syncer.step``: Lease renewal, KCD read, registry check, on the real API server).
Steady RSS of the real ``python -m sidecar`` process after a few polls, for an OCI and an ECR repository.
Baselines in the same run: a naive poll (list the tags and HEAD every version tag each time, as tag-listing pollers
do) for requests and CPU, and a bare ``python`` process for RSS.
Run: make bench-syncer   (or .venv/bin/python -m benchmarks.bench_syncer --polls 200 --tags 50)
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

from kcd import images, registries
from sidecar import kubeapi
from sidecar.syncer import Settings, Syncer
from tests import crd
from tests.env import cluster as cluster_mod
from tests.env import ecr as ecr_mod
from tests.env import pusher
from tests.env import registry as registry_mod
from tests.env.kubeready import api_client
from tests.env.procs import ProcGroup, wait_until
from tests.sidecar.cluster import grant, setup_workload, start_syncer

MB = 1024 * 1024


class CountingProxy:
    """A reverse proxy on 127.0.0.1 that counts requests (method, path, X-Amz-Target) before forwarding them."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.seen: list[tuple[str, str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append((self.command, self.path, self.headers.get("X-Amz-Target", "")))
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                conn.request(self.command, self.path, body=body or None, headers=dict(self.headers))
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", resp.getheader("Content-Length") or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _forward  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


def _syncer(api: kubeapi.KubeApi, namespace: str, factory: Any) -> Syncer:
    settings = Settings(namespace=namespace, kcd="web", workload_kind="deployment", workload_name="web", pod_name="b")
    return Syncer(settings, api, registry_factory=factory)


def _measure_steps(syncer: Syncer, proxy: CountingProxy, polls: int) -> dict[str, float]:
    for _ in range(3):  # warm: first resolution, annotation write, connections, token
        syncer.step()
    assert syncer.failures == 0, "the syncer failed while warming up"
    before, api_before = len(proxy.seen), syncer.api.calls  # type: ignore[attr-defined]
    cpu = []
    for _ in range(polls):
        t0 = time.thread_time()
        syncer.step()
        cpu.append(time.thread_time() - t0)
    assert syncer.failures == 0, "a measured poll failed"
    kinds = sorted({f"{m} {t.split('.')[-1]}" if t else m for m, _, t in proxy.seen[before:]})
    print(f"  requests seen during the measured polls: {', '.join(kinds)}")
    return {
        "requests": (len(proxy.seen) - before) / polls,
        "api_calls": (syncer.api.calls - api_before) / polls,  # type: ignore[attr-defined]
        "cpu_ms": statistics.median(cpu) * 1000,
    }


def _naive_poll(reg: Any, tag: str, pattern: Any) -> str:
    """A tag-listing poller without a digest check or cache: list, HEAD the tag, HEAD every version tag."""
    digest = reg.digest(tag)
    matches = [t for t in reg.list_tags() if t != tag and images.is_version(pattern, t) and reg.digest(t) == digest]
    return images.choose_version(matches, pattern, watched=tag).version or digest


def _measure_naive(repo: str, proxy: CountingProxy, polls: int) -> dict[str, float]:
    reg = registries.for_repo(repo)
    pattern = images.compile_syntax(None)
    _naive_poll(reg, "env-prod", pattern)
    before, cpu = len(proxy.seen), []
    for _ in range(polls):
        t0 = time.thread_time()
        _naive_poll(reg, "env-prod", pattern)
        cpu.append(time.thread_time() - t0)
    return {"requests": (len(proxy.seen) - before) / polls, "cpu_ms": statistics.median(cpu) * 1000}


def _rss_of_syncer(procs: ProcGroup, cl: Any, namespace: str, token: Path, env: dict[str, str]) -> float:
    run = start_syncer(procs, cl, namespace, token, pod=f"rss-{len(procs.procs)}", env=env)
    wait_until(
        lambda: run.metric("kcd_syncer_polls_total", outcome="ok") >= 3, what="3 polls", timeout=90, proc=run.proc
    )
    rss = psutil.Process(run.proc.popen.pid).memory_info().rss / MB
    run.proc.stop()
    return float(rss)


def _rss_of_bare_python() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    time.sleep(1.0)
    rss = psutil.Process(proc.pid).memory_info().rss / MB
    proc.kill()
    proc.wait()
    return float(rss)


def _new_namespace(api: Any, name: str, repo: str, token: Path) -> None:
    from kubernetes import client

    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    setup_workload(api, name, repo, interval=5)
    grant(api, name, token)


def _api_for(cl: Any, token: Path) -> kubeapi.KubeApi:
    return kubeapi.from_env(
        {"KCD_API_SERVER": cl.server, "KCD_TOKEN_FILE": str(token), "KCD_CA_FILE": str(cl.pki.ca_cert)}
    )


def run(polls: int, tags: int) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-syncer-"))
    procs = ProcGroup(workdir / "logs")
    cl = cluster_mod.start(workdir / "cluster", full=False)
    try:
        api = api_client(cl)
        crd.install(api)
        reg = registry_mod.start(procs, workdir, "anonymous")
        moto = ecr_mod.start()
        oci_proxy, ecr_proxy = CountingProxy(reg.url), CountingProxy(moto.endpoint)
        push = pusher.RegistryClient(reg.url)
        for i in range(tags):
            pusher.push_image(push, "bench/app", [f"{i:07x}"])
        pusher.push_image(push, "bench/app", ["abcdef0", "env-prod"])
        ecr = moto.client()
        ecr.create_repository(repositoryName="bench/app")
        for i in range(tags):
            pusher.push_ecr(ecr, "bench/app", [f"{i:07x}"])
        pusher.push_ecr(ecr, "bench/app", ["abcdef0", "env-prod"])
        ecr_env = {**moto.env(), "AWS_ENDPOINT_URL_ECR": f"http://{ecr_proxy.host}"}
        os.environ.update(ecr_env)
        oci_repo, ecr_repo = f"{oci_proxy.host}/bench/app", moto.repo_uri("bench/app")
        results: dict[str, dict[str, float]] = {}
        for label, repo, proxy in (("oci", oci_repo, oci_proxy), ("ecr", ecr_repo, ecr_proxy)):
            token = workdir / f"token-{label}"
            _new_namespace(api, f"bench-{label}", repo, token)
            syncer = _syncer(_api_for(cl, token), f"bench-{label}", partial(registries.for_repo, attempts=2))
            results[label] = _measure_steps(syncer, proxy, polls)
            syncer.release()  # hand the Lease to the process measured next
            results[label]["rss_mb"] = _rss_of_syncer(procs, cl, f"bench-{label}", token, ecr_env)
        results["naive-oci"] = _measure_naive(oci_repo, oci_proxy, max(10, polls // 10))
        results["bare-python"] = {"rss_mb": _rss_of_bare_python()}
        return results
    finally:
        procs.stop()
        cl.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: dict[str, dict[str, float]], polls: int, tags: int) -> str:
    oci, ecr, naive, bare = results["oci"], results["ecr"], results["naive-oci"], results["bare-python"]
    lines = [
        f"Syncer benchmark: {polls} no-change polls per registry, repository with {tags} version tags + env-prod",
        "| measure | OCI (docker-registry) | ECR (moto) | baseline | goal |",
        "|---|---|---|---|---|",
        f"| registry requests per poll | {oci['requests']:.2f} | {ecr['requests']:.2f} "
        f"| naive tag-listing poll: {naive['requests']:.1f} ({naive['requests'] / oci['requests']:.0f}×) | 1 HEAD |",
        f"| Kubernetes API calls per poll (leader) | {oci['api_calls']:.2f} | {ecr['api_calls']:.2f} | | |",
        f"| CPU per poll, median (ms) | {oci['cpu_ms']:.2f} | {ecr['cpu_ms']:.2f} "
        f"| naive poll: {naive['cpu_ms']:.2f} ({naive['cpu_ms'] / oci['cpu_ms']:.1f}×) | ≤ 10 |",
        f"| steady RSS of the syncer process (MB) | {oci['rss_mb']:.1f} | {ecr['rss_mb']:.1f} "
        f"| bare python: {bare['rss_mb']:.1f} (OCI {oci['rss_mb'] / bare['rss_mb']:.1f}×, "
        f"ECR {ecr['rss_mb'] / bare['rss_mb']:.1f}×) | ≤ 35 OCI, ≤ 70 ECR |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--tags", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("kcd.syncer").setLevel(logging.WARNING)
    print(report(run(args.polls, args.tags), args.polls, args.tags))


if __name__ == "__main__":
    main()
