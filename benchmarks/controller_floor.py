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
import time
from typing import Any

from kubernetes import client

from benchmarks import controller_probes as probes
from benchmarks import controller_report as report
from benchmarks import controller_storms as storms
from kcd import eventbodies, history
from kcd.kube.events import COMPONENT
from kcd.status import (
    ConditionType,
    CurrStatus,
    Outcome,
    Phase,
    Reason,
    RolloutState,
    Status,
    condition,
    format_time,
)
from tests.controller.fixtures import REPO
from tests.env.procs import wait_until

FLOOR = "fffff02"


def _status(done: bool) -> dict[str, Any]:
    """The status patch kcd writes at a rollout's start (Waiting) or end (Success), built by kcd's own model."""
    now = datetime.datetime.now(datetime.UTC)
    reason = Reason.ROLLOUT_SUCCEEDED if done else Reason.ROLLOUT_PROGRESSING
    message = f"set {REPO}:{FLOOR} on deployment/x"
    conditions = (
        condition(ConditionType.READY, done, reason, message, generation=1, now=now),
        condition(ConditionType.RECONCILING, not done, reason, message, generation=1, now=now),
        condition(ConditionType.STALLED, False, reason, "", generation=1, now=now),
        condition(ConditionType.SYNCER_HEALTHY, None, Reason.SYNCER_NOT_REPORTED, "no Lease", generation=1, now=now),
    )
    rollout = RolloutState(
        FLOOR,
        Phase.WAITING,
        digest="sha256:" + "0" * 64,
        image=f"{REPO}:{FLOOR}",
        source=f"{REPO}:env-prod",
        container="app",
        started_at=format_time(now),
        phase_started_at=format_time(now),
        previous_version=storms.BASE_ALL,
    )
    status = Status(
        curr_version=FLOOR,
        curr_status=CurrStatus.SUCCESS if done else CurrStatus.PROGRESSING,
        curr_status_time=format_time(now),
        success_version=FLOOR if done else storms.BASE_ALL,
        observed_generation=1,
        conditions=conditions,
        rollout=None if done else rollout,
    )
    return {"status": status.to_dict()}


def _event(ns: str, name: str, uid: str, reason: str) -> dict[str, Any]:
    message = f"{name}: {reason} {REPO}:{FLOOR}"
    return eventbodies.body(
        namespace=ns, name=name, uid=uid, reason=reason, message=message, warning=False, component=COMPONENT
    )


def _history(ns: str, name: str) -> dict[str, Any]:
    now = format_time(datetime.datetime.now(datetime.UTC))
    record = history.Record(FLOOR, now, name, "Deployment", name, "app", Outcome.SUCCESS, digest="sha256:" + "0" * 64)
    return history.configmap(namespace=ns, workload=name, records=[record])


def floor_storm(env: storms.Env, size: int) -> report.Storm:
    ns, names = f"floor-{size}", [f"w{i}" for i in range(size)]
    obs = storms.setup(env, ns, names)
    base = storms.baseline_all(env, ns, names, obs)
    core, apps, custom = client.CoreV1Api(env.api), client.AppsV1Api(env.api), client.CustomObjectsApi(env.api)
    uids = {
        k["metadata"]["name"]: k["metadata"]["uid"]
        for k in custom.list_namespaced_custom_object("kcd.io", "v1", ns, "kcds")["items"]
    }
    raw = {"_preload_content": False}

    def start(name: str) -> None:
        storms.announce(apps, ns, name, FLOOR)
        storms.set_image(apps, ns, name, FLOOR)
        custom.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", name, _status(False), **raw)
        core.create_namespaced_event(ns, _event(ns, name, uids[name], Reason.ROLLOUT_STARTED), **raw)

    def finish(name: str) -> None:
        custom.patch_namespaced_custom_object_status("kcd.io", "v1", ns, "kcds", name, _status(True), **raw)
        core.create_namespaced_config_map(ns, _history(ns, name), **raw)
        core.create_namespaced_event(ns, _event(ns, name, uids[name], Reason.ROLLOUT_SUCCEEDED), **raw)

    cpu, requests = storms.cluster_cpu(env), probes.apiserver_requests(env.api)
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
    used = probes.cpu_since(cpu, storms.cluster_cpu(env))
    floor = storms.storm(obs, names, FLOOR, (started, sent or time.time()), storms.requests_since(env, requests), used)
    storms.wait_quiet(obs)
    obs.stop.set()
    core.delete_namespace(ns)
    wait_until(lambda: storms.gone(env.api, ns), what=f"namespace {ns} deleted", timeout=600)
    print(
        f"floor at {size} (no controller; the benchmark sends kcd's writes): all live {max(floor.success):.1f} s, "
        f"its own baseline {max(base.available):.1f} s = {max(floor.success) / max(base.available):.2f}x",
        flush=True,
    )
    print("\n".join(report.storm_detail({"size": size, "storms": (base, floor)})), flush=True)
    return floor
