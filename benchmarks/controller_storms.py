"""The storms both controller benchmarks' phases are made of: the set-up of N Deployments with a KCD each, the
syncers' announcements, the direct-patch baseline, and what each storm is measured by (when each workload got its
image, became Available and Successful; the API server's requests; the CPU of every process). Used by
benchmarks/bench_controller.py and its `--floor` diagnostic (benchmarks/controller_floor.py)."""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from benchmarks import controller_probes as probes
from benchmarks.controller_observer import Observer
from benchmarks.controller_report import Storm
from tests.controller import kcdrun
from tests.controller.fixtures import REPO, kcd_body, workload
from tests.env import cluster as cluster_mod
from tests.env.procs import ProcGroup, wait_until

INITIAL, BASE_ALL, LIVE = "aaaaa00", "eeeee01", "aaaaa11"  # image versions of the phases (hex: the versionSyntax)


@dataclass
class Env:
    cluster: cluster_mod.Cluster
    api: Any  # the benchmark's client, user kcd-bench
    procs: ProcGroup
    controller_kubeconfig: Path  # user kcd-controller
    args: argparse.Namespace
    pprof: probes.Pprof | None = None


def announce(apps: Any, ns: str, name: str, version: str) -> tuple[float, float]:
    """What the syncer does: the candidate's version, digest, time and source on the workload itself."""
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    notes = {
        "kcd.io/candidate-version": version,
        "kcd.io/candidate-digest": "sha256:" + hashlib.sha256(version.encode()).hexdigest(),
        "kcd.io/candidate-time": stamp,
        "kcd.io/candidate-source": f"{REPO}:env-prod",  # kcd_body's imageRepo:tag
    }
    sent = time.time()
    # The raw response: decoding each Deployment into the client's models would cost the benchmark more CPU than the
    # API server spends on the patch, on the two cores the control plane and the controller share.
    apps.patch_namespaced_deployment(name, ns, {"metadata": {"annotations": notes}}, _preload_content=False)
    return sent, time.time()


def set_image(apps: Any, ns: str, name: str, version: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{REPO}:{version}"}]}}}}
    apps.patch_namespaced_deployment(name, ns, patch, _preload_content=False)


def each(senders: int, fn: Callable[[str], object], names: list[str]) -> None:
    """fn for every name from `senders` concurrent clients (1: one after the other)."""
    if senders <= 1:
        for name in names:
            fn(name)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(fn, names))


def wait_quiet(obs: Observer, seconds: float = 3.0) -> None:
    """No watch event for `seconds`: the tail of a storm (old pods terminating, status updates) has passed."""
    wait_until(lambda: obs.quiet_for() > seconds, what="a quiet cluster", timeout=600)


def setup(env: Env, ns: str, names: list[str]) -> Observer:
    core, apps, custom = client.CoreV1Api(env.api), client.AppsV1Api(env.api), client.CustomObjectsApi(env.api)
    core.create_namespace({"metadata": {"name": ns}})
    for name in names:
        apps.create_namespaced_deployment(ns, workload("Deployment", name, image=f"{REPO}:{INITIAL}", replicas=1))
        custom.create_namespaced_custom_object("kcd.io", "v1", ns, "kcds", kcd_body(name))
    obs = Observer(env.api, ns)
    n = len(names)
    wait_until(lambda: obs.available(names, INITIAL) == n, what=f"{n} Deployments available", timeout=120 + n * 0.5)
    wait_quiet(obs)
    return obs


def storm(
    obs: Observer,
    names: list[str],
    version: str,
    times: tuple[float, float],
    requests: tuple[float, float],
    cpu: dict[str, float],
) -> Storm:
    started, sent = times

    def after(marks: dict[tuple[str, str], float]) -> list[float]:
        return [marks[(n, version)] - started for n in names if (n, version) in marks]

    return Storm(sent - started, after(obs.image_at), after(obs.available_at), after(obs.success_at), requests, cpu)


def cluster_cpu(env: Env, ctl: kcdrun.Controller | None = None) -> dict[str, float]:
    return probes.process_cpu(env.cluster.procs.procs if env.cluster.procs else [], ctl)


def requests_since(env: Env, before: tuple[float, float]) -> tuple[float, float]:
    now = probes.apiserver_requests(env.api)
    return now[0] - before[0], now[1] - before[1]


def baseline_all(env: Env, ns: str, names: list[str], obs: Observer) -> Storm:
    """The physical limit: every Deployment patched at once by the benchmark, until every one is Available."""
    apps, requests, cpu = client.AppsV1Api(env.api), probes.apiserver_requests(env.api), cluster_cpu(env)
    started = time.time()
    if env.pprof:
        env.pprof.start(f"baseline-{len(names)}")
    each(env.args.senders, lambda name: set_image(apps, ns, name, BASE_ALL), names)
    sent, n = time.time(), len(names)
    wait_until(lambda: obs.available(names, BASE_ALL) == n, what=f"{n} patched and available", timeout=60 + n * 0.5)
    used = probes.cpu_since(cpu, cluster_cpu(env))
    if env.pprof:
        env.pprof.stop()
    wait_quiet(obs)
    return storm(obs, names, BASE_ALL, (started, sent), requests_since(env, requests), used)


def gone(api: Any, ns: str) -> bool:
    return not any(n.metadata.name == ns for n in client.CoreV1Api(api).list_namespace().items)
