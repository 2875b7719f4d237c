"""Controller benchmark on the local control plane: annotation -> image patch latency, Deployment Available -> KCD
Success overhead, and controller RSS, with 1, 100 and 1,000 managed workloads (one KCD each).

Baseline in the same run: the same watch-observed latency for an image patch the benchmark sends itself (what the
API server and watch add without kcd), so `ratio` is kcd's latency over the bare API round trip. `all live`: the
storm before the samples, from announcing a first version on every workload at once to every KCD at `Success`.
Run: make bench-controller   (or .venv/bin/python -m benchmarks.bench_controller --sizes 1,100,1000 --samples 50)
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, watch

from tests import crd
from tests.controller import kcdrun
from tests.controller.fixtures import REPO, kcd_body, workload
from tests.env import cluster as cluster_mod
from tests.env.kubeready import api_client
from tests.env.procs import ProcGroup, wait_until

MB = 1024 * 1024
# The controller runs as the chart runs it (charts/kcd/templates/deployment.yaml): with glibc malloc instead of
# pymalloc, so that what a burst of steps freed goes back to the OS at the next trim (kcd/memtrim.py).
CONTROLLER_ENV = {"PYTHONMALLOC": "malloc"}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Observer:
    """Watches Deployments and KCDs of one namespace; records when images change, become available, reach Success.

    One long watch each (no restarts during a run): a restart re-lists every object through the client's models,
    which takes seconds at 1,000 Deployments and would show up as false latency.
    """

    def __init__(self, api: Any, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.image_at: dict[tuple[str, str], float] = {}
        self.available_at: dict[tuple[str, str], float] = {}
        self.success_at: dict[tuple[str, str], float] = {}
        self.last_event = time.monotonic()
        self.stop = threading.Event()
        apps, custom = client.AppsV1Api(self.api), client.CustomObjectsApi(self.api)
        for follow in (lambda: self._deployment_events(apps), lambda: self._kcd_events(custom)):
            threading.Thread(target=self._forever, args=(follow,), daemon=True).start()

    def _forever(self, follow: Any) -> None:
        while not self.stop.is_set():
            try:
                follow()
            except Exception:  # noqa: BLE001 - a broken watch is re-opened; its re-list repeats current state
                time.sleep(0.1)

    def _deployment_events(self, apps: Any) -> None:
        # deserialize=False: raw dicts. The client's model classes cost milliseconds per event, and a watcher that
        # lags behind its stream would report the lag as kcd's latency.
        stream = watch.Watch().stream(
            apps.list_namespaced_deployment, self.namespace, timeout_seconds=1800, deserialize=False
        )
        for ev in stream:
            d, now = ev["object"], time.monotonic()
            self.last_event = now
            name, spec, st = d["metadata"]["name"], d["spec"], d.get("status") or {}
            image = spec["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[-1]
            self.image_at.setdefault((name, image), now)
            want = spec.get("replicas", 1)
            if (
                st.get("observedGeneration", 0) >= d["metadata"]["generation"]
                and st.get("updatedReplicas", 0) == want
                and st.get("availableReplicas", 0) == want
                and st.get("replicas", 0) == want
            ):
                self.available_at.setdefault((name, image), now)

    def _kcd_events(self, api: Any) -> None:
        for ev in watch.Watch().stream(
            api.list_namespaced_custom_object,
            "kcd.io",
            "v1",
            self.namespace,
            "kcds",
            timeout_seconds=1800,
            deserialize=False,
        ):
            obj, now = ev["object"], time.monotonic()
            self.last_event = now
            status = obj.get("status") or {}
            if status.get("currStatus") == "Success":
                self.success_at.setdefault((obj["metadata"]["name"], status.get("successVersion")), now)


def announce(apps: Any, ns: str, name: str, version: str) -> float:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f".{time.time_ns() % 10**9:09d}"
    apps.patch_namespaced_deployment(
        name, ns, {"metadata": {"annotations": {"kcd.io/candidate-version": version, "kcd.io/candidate-time": stamp}}}
    )
    return time.monotonic()


def run_size(cl: cluster_mod.Cluster, api: Any, procs: ProcGroup, size: int, samples: int) -> dict[str, Any]:
    ns = f"bench-{size}"
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": ns}})
    custom = client.CustomObjectsApi(api)
    for i in range(size):
        apps.create_namespaced_deployment(ns, workload("Deployment", f"w{i}", replicas=1))
        custom.create_namespaced_custom_object("kcd.io", "v1", ns, "kcds", kcd_body(f"w{i}"))
    obs = Observer(api, ns)
    ctl = kcdrun.start(procs, Path(cl.kubeconfig), name=f"kcd-{size}", extra=["--namespace", ns], env=CONTROLLER_ENV)
    names = [f"w{i}" for i in range(size)]
    started = time.monotonic()
    for name in names:  # every workload live at its first version, as in a running cluster
        announce(apps, ns, name, "aaaaa11")
    wait_until(
        lambda: sum(1 for n in names if (n, "aaaaa11") in obs.success_at) == size,
        what=f"{size} KCDs live",
        timeout=60 + size * 0.5,
    )
    all_live = time.monotonic() - started
    # The samples measure a steady cluster: the tail of that storm (old pods terminating, their status updates) must
    # have passed, or the first sample measures the storm's backlog instead (reported separately as `all live`).
    wait_until(lambda: time.monotonic() - obs.last_event > 3, what="a quiet cluster", timeout=120)
    picked = names[:: max(1, size // samples)][:samples]
    patch_lat, overhead, base = [], [], []
    for i, name in enumerate(picked):
        version = f"bbbb{i:04x}"
        t0 = announce(apps, ns, name, version)
        wait_until(
            lambda n=name, v=version: (
                (n, v) in obs.success_at and (n, v) in obs.image_at and (n, v) in obs.available_at
            ),
            what=f"{name} at {version}",
            timeout=60,
        )
        patch_lat.append(obs.image_at[(name, version)] - t0)
        overhead.append(obs.success_at[(name, version)] - obs.available_at[(name, version)])
        time.sleep(0.05)
    time.sleep(12)  # steady state: idle, after the controller's periodic heap trim
    rss = ctl.proc.rss_bytes()
    for i, name in enumerate(picked[: min(20, len(picked))]):  # baseline: a patch sent directly, seen by the watch
        version = f"cccc{i:04x}"
        t0 = time.monotonic()
        apps.patch_namespaced_deployment(
            name, ns, {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{REPO}:{version}"}]}}}}
        )
        wait_until(lambda n=name, v=version: (n, v) in obs.image_at, what="baseline patch seen", timeout=30)
        base.append(obs.image_at[(name, version)] - t0)
    obs.stop.set()
    ctl.proc.stop()
    core.delete_namespace(ns)
    return {"size": size, "patch": patch_lat, "overhead": overhead, "base": base, "rss": rss, "all_live": all_live}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-ctl-"))
    cl = cluster_mod.from_env(workdir / "cluster")
    procs = ProcGroup(workdir / "logs")
    api = api_client(cl)
    crd.install(api)
    try:
        print("kcd controller benchmark (local control plane, one KCD per Deployment, 1 replica each)")
        print(
            f"{'workloads':>9} {'patch p50':>10} {'patch p99':>10} {'base p50':>9} {'base p99':>9} {'ratio':>6} "
            f"{'overhead p50':>13} {'overhead p99':>13} {'RSS':>7} {'all live':>9}"
        )
        for size in (int(s) for s in args.sizes.split(",")):
            r = run_size(cl, api, procs, size, min(args.samples, size))
            p50, p99, b50 = pct(r["patch"], 50), pct(r["patch"], 99), pct(r["base"], 50)
            print(
                f"{size:>9} {p50 * 1000:>8.0f}ms {p99 * 1000:>8.0f}ms {b50 * 1000:>7.0f}ms "
                f"{pct(r['base'], 99) * 1000:>7.0f}ms {p50 / b50:>5.1f}x "
                f"{pct(r['overhead'], 50) * 1000:>11.0f}ms {pct(r['overhead'], 99) * 1000:>11.0f}ms "
                f"{r['rss'] / MB:>5.0f}MB {r['all_live']:>8.1f}s",
                flush=True,
            )
        print("goals: patch p99 <= 1000 ms; overhead p99 <= 1000 ms; RSS at 1,000 <= 150 MB")
    finally:
        procs.stop()
        api.close()
        cl.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
