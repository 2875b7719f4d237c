"""Diagnostic (`bench_controller --floor`): the all-live storm's floor, with no controller at all.

In a namespace of its own, after a baseline of its own, the benchmark announces a first version on every workload (as
the syncers do) and sends, itself, the writes kcd makes for each rollout, as soon as it may: the image patch, the
status at the start and a first Event; once the Deployment is Available, the final status, the history ConfigMap and
a second Event. Nothing decides, watches or parses in between: what this storm costs beyond its baseline is the
cluster's own work for the syncers' announcements and for kcd's writes, on the same cores. A controller can only
come closer to its baseline than this by writing less.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import time
from typing import Any

from kubernetes import client

from benchmarks import bench_controller as bench
from benchmarks import controller_probes as probes
from benchmarks import controller_report as report
from kcd import eventbodies
from tests.controller.fixtures import REPO
from tests.env.procs import wait_until

FLOOR = "fffff02"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(version: str, previous: str, done: bool) -> dict[str, Any]:
    """A status of the size and shape kcd writes (four conditions, the rollout record)."""
    phase, state = ("Success", "Success") if done else ("Waiting", "Progressing")
    message = f"set {REPO}:{version} on deployment/x"
    conditions = [
        {"type": t, "status": s, "reason": r, "message": message, "lastTransitionTime": _now(), "observedGeneration": 1}
        for t, s, r in (
            ("Ready", "True" if done else "False", phase),
            ("Reconciling", "False" if done else "True", phase),
            ("Stalled", "False", phase),
            ("SyncerHealthy", "Unknown", "SyncerNotReported"),
        )
    ]
    rollout = {
        "phase": phase,
        "version": version,
        "image": f"{REPO}:{version}",
        "previousVersion": previous,
        "container": "app",
        "source": f"{REPO}:env-prod",
        "digest": "sha256:" + "0" * 64,
        "startedAt": _now(),
        "phaseStartedAt": _now(),
    }
    status: dict[str, Any] = {"currStatus": state, "currVersion": version, "currStatusTime": _now()}
    status |= {"conditions": conditions, "rollout": rollout, "observedGeneration": 1}
    if done:  # a rollout that ended leaves no record in flight (a merge patch's null removes it)
        status |= {"successVersion": version, "rollout": None}
    return {"status": status}


def _event(ns: str, name: str, uid: str, reason: str) -> dict[str, Any]:
    message = f"{name}: {reason} {REPO}:{FLOOR}"
    return eventbodies.body(
        namespace=ns, name=name, uid=uid, reason=reason, message=message, warning=False, component="kcd-floor"
    )


def _history(ns: str, name: str) -> dict[str, Any]:
    record = {"version": FLOOR, "previous": bench.BASE_ALL, "status": "Success", "time": _now(), "message": "x" * 80}
    return {"metadata": {"name": f"{name}.floor", "namespace": ns}, "data": {"history": json.dumps([record])}}


def floor_storm(env: bench.Env, size: int) -> report.Storm:
    ns, names = f"floor-{size}", [f"w{i}" for i in range(size)]
    obs = bench.setup(env, ns, names)
    base = bench.baseline_all(env, ns, names, obs)
    core, apps, custom = client.CoreV1Api(env.api), client.AppsV1Api(env.api), client.CustomObjectsApi(env.api)
    uids = {
        k["metadata"]["name"]: k["metadata"]["uid"]
        for k in custom.list_namespaced_custom_object("kcd.io", "v1", ns, "kcds")["items"]
    }
    raw = {"_preload_content": False}

    def start(name: str) -> None:
        bench.announce(apps, ns, name, FLOOR)
        bench.set_image(apps, ns, name, FLOOR)
        custom.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", name, _status(FLOOR, "", False), **raw)
        core.create_namespaced_event(ns, _event(ns, name, uids[name], "RolloutStarted"), **raw)

    def finish(name: str) -> None:
        custom.patch_namespaced_custom_object_status(
            "kcd.io", "v1", ns, "kcds", name, _status(FLOOR, bench.BASE_ALL, True), **raw
        )
        core.create_namespaced_config_map(ns, _history(ns, name), **raw)
        core.create_namespaced_event(ns, _event(ns, name, uids[name], "RolloutSucceeded"), **raw)

    cpu, requests = bench.cluster_cpu(env), probes.apiserver_requests(env.api)
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=env.args.senders) as pool:
        starts = [pool.submit(start, name) for name in names]
        sent, finished, ends = 0.0, set[str](), []
        while len(finished) < size:  # each workload's final writes once the watch saw it Available
            ready = [n for n in names if n not in finished and (n, FLOOR) in obs.available_at]
            finished.update(ready)
            ends += [pool.submit(finish, name) for name in ready]
            if not sent and all(f.done() for f in starts):
                sent = time.time()
            time.sleep(0.05)
        for future in starts + ends:
            future.result()  # a write the API server refused stops the diagnostic here, with its message
    wait_until(lambda: obs.succeeded(names, FLOOR) == size, what="every floor KCD at Success", timeout=120)
    used = probes.cpu_since(cpu, bench.cluster_cpu(env))
    floor = bench.storm(obs, names, FLOOR, (started, sent or time.time()), bench.requests_since(env, requests), used)
    bench.wait_quiet(obs)
    obs.stop.set()
    core.delete_namespace(ns)
    wait_until(lambda: bench.gone(env.api, ns), what=f"namespace {ns} deleted", timeout=600)
    print(
        f"floor at {size} (no controller; the benchmark sends kcd's writes): all live {max(floor.success):.1f} s, "
        f"its own baseline {max(base.available):.1f} s = {max(floor.success) / max(base.available):.2f}x",
        flush=True,
    )
    print("\n".join(report.storm_detail({"size": size, "storms": (base, floor)})), flush=True)
    return floor
