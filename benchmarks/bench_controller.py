"""Controller benchmark on the local control plane, one KCD per Deployment (1 replica), for each size N:

1. baseline, no controller: the benchmark patches the image of all N Deployments itself and times until every one is
   Available (`baseline all`: the physical limit of this control plane);
2. `kcd run` (as the chart runs it) brings every KCD to a live version: a first version announced on every workload at
   once, until every KCD is at `Success` (`all live`, and its ratio to the baseline);
3. samples: a new candidate announced on `--samples` workloads one after another (what the syncer does): annotation ->
   image patch latency, Deployment Available -> KCD `Success` overhead; controller RSS, idle, 12 s after them;
4. an idle window with a second controller process whose idle resync is short (`--resync`, default N/20 s, at least
   10 s; production: 300 s), so that the window holds several resyncs of every KCD;
5. a baseline patch latency: image patches the benchmark sends itself (controller stopped), seen by the same watch.

API requests are counted by the API server's own audit log (tests/env/audit.py): the controller runs under its own
user (`kcd-controller`), the benchmark under `kcd-bench`. The same log's timestamps split each sample's latency
(annotation committed -> the controller's first request -> its image PATCH -> seen). Also printed: when the storms'
workloads got their image, became Available and Successful; the controller's CPU (event loop vs other threads) in the
all-live storm; its reconcile steps (its /metrics). No timed assertion anywhere: the figures are printed.
`--profile FILE` writes a cProfile of the first controller's event loop; `--report-from DIR` prints a run's figures
again from the results and audit log it left in its work directory. Diagnostics: `--pprof DIR` (the API server's CPU
profiles during each storm), `--floor` (kcd's writes sent by the benchmark with no controller, controller_floor.py).
Run: make bench-controller   (or .venv/bin/python -m benchmarks.bench_controller --sizes 1,1000,2000 --samples 50)
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from benchmarks import controller_audit as audit
from benchmarks import controller_floor
from benchmarks import controller_probes as probes
from benchmarks import controller_report as report
from benchmarks.controller_observer import Observer
from benchmarks.controller_report import Phases, Sample, Storm
from benchmarks.controller_storms import (
    LIVE,
    Env,
    announce,
    baseline_all,
    cluster_cpu,
    each,
    gone,
    requests_since,
    set_image,
    setup,
    storm,
    wait_quiet,
)
from tests import crd
from tests.controller import kcdrun
from tests.env import cluster as cluster_mod
from tests.env.kubeready import api_client
from tests.env.procs import ProcGroup, free_port, wait_until

# The controller runs as the chart runs it (charts/kcd/templates/deployment.yaml): with glibc malloc instead of
# pymalloc, so that what a burst of steps freed goes back to the OS at the next trim (kcd/memtrim.py).
CONTROLLER_ENV = {"PYTHONMALLOC": "malloc"}


def start_controller(env: Env, namespace: str, name: str, *, idle_resync: float | None = None) -> kcdrun.Controller:
    opts: list[str] = []
    if idle_resync is not None:
        opts += ["--idle-resync", str(idle_resync)]
    if env.args.profile and idle_resync is None:
        opts += ["--profile", str(Path(env.args.profile).with_suffix(f".{namespace}.prof"))]
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.controller_launch", *opts, "--", "run"]
    argv += ["--kubeconfig", str(env.controller_kubeconfig), "--bind", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "info", "--namespace", namespace]
    ctl = kcdrun.Controller(env.procs.start(name, argv, env=CONTROLLER_ENV), port)
    wait_until(ctl.ready, what=f"{name} /readyz", timeout=60, proc=ctl.proc)
    if idle_resync is not None:  # the launcher says so once kcd built its settings
        said = lambda: any(ln.get("msg") == "idle resync set" for ln in ctl.lines())  # noqa: E731
        wait_until(said, what=f"{name}: idle resync applied", timeout=30, proc=ctl.proc)
    return ctl


def all_live(env: Env, ctl: kcdrun.Controller, ns: str, names: list[str], obs: Observer, ph: Phases) -> Storm:
    apps, n = client.AppsV1Api(env.api), len(names)
    cpu, requests, every = probes.cpu_seconds(ctl), probes.apiserver_requests(env.api), cluster_cpu(env, ctl)
    ph.live = time.time()
    if env.pprof:
        env.pprof.start(f"live-{n}")
    # Every workload live at its first version, as in a running cluster; --senders concurrent syncers.
    each(env.args.senders, lambda name: announce(apps, ns, name, LIVE), names)
    sent = time.time()
    wait_until(lambda: obs.succeeded(names, LIVE) == n, what=f"{n} KCDs live", timeout=60 + n * 0.5)
    after = probes.cpu_seconds(ctl)
    ph.live_cpu = (after[0] - cpu[0], after[1] - cpu[1])
    used = probes.cpu_since(every, cluster_cpu(env, ctl))
    if env.pprof:
        env.pprof.stop()
    wait_quiet(obs)
    return storm(obs, names, LIVE, (ph.live, sent), requests_since(env, requests), used)


def sample(env: Env, ns: str, picked: list[str], obs: Observer, ph: Phases) -> None:
    apps = client.AppsV1Api(env.api)
    ph.sampling = time.time()
    for i, name in enumerate(picked):
        version = f"bbbb{i:04x}"
        s = Sample(name, version, *announce(apps, ns, name, version))
        key = (name, version)
        done = lambda k=key: k in obs.success_at and k in obs.image_at and k in obs.available_at  # noqa: E731
        wait_until(done, what=f"{name} at {version}", timeout=60)
        s.seen, s.available, s.success = obs.image_at[key], obs.available_at[key], obs.success_at[key]
        ph.samples.append(s)
        time.sleep(0.05)


def idle_window(env: Env, ns: str, size: int, ph: Phases) -> None:
    """A controller with a short idle resync, after its start-up steps: requests while nothing changes."""
    ph.resync = env.args.resync or max(10.0, size / 20)
    window = max(60.0, 2 * ph.resync)
    assert env.cluster.audit_log is not None
    tail = audit.Tail(env.cluster.audit_log, audit.CONTROLLER_USER)
    last = {"at": time.time()}

    ctl = start_controller(env, ns, f"kcd-{size}-idle", idle_resync=ph.resync)

    def settled() -> bool:  # its start-up steps are over: one per KCD, then no request of the controller for 2 s
        if tail.count_new() or probes.step_metrics(ctl)[0] < size:
            last["at"] = time.time()
        return time.time() - last["at"] > 2

    wait_until(settled, what="the idle controller's start-up steps", timeout=120 + size * 0.2)
    tail.close()
    steps, start = probes.step_metrics(ctl)[0], time.time()
    time.sleep(window)
    ph.idle = (start, time.time())
    ph.idle_steps = probes.step_metrics(ctl)[0] - steps
    ctl.proc.stop()


def base_patches(env: Env, ns: str, picked: list[str], obs: Observer) -> list[float]:
    apps, base = client.AppsV1Api(env.api), []
    for i, name in enumerate(picked[:20]):  # baseline: a patch sent directly, seen by the watch
        key = (name, f"cccc{i:04x}")
        t0 = time.time()
        set_image(apps, ns, name, key[1])
        wait_until(lambda k=key: k in obs.image_at, what="baseline patch seen", timeout=30)  # type: ignore[misc]
        base.append(obs.image_at[key] - t0)
        time.sleep(0.05)
    return base


def run_size(env: Env, size: int, samples: int) -> dict[str, Any]:
    ns, names = f"bench-{size}", [f"w{i}" for i in range(size)]
    obs = setup(env, ns, names)
    base_storm = baseline_all(env, ns, names, obs)
    ph = Phases(started=time.time())
    ctl = start_controller(env, ns, f"kcd-{size}")
    # Its start-up: a first step of every KCD, which writes a first status; then the tail of those writes.
    wait_until(lambda: len(obs.with_status) == size, what="a first status on every KCD", timeout=120 + size * 0.5)
    wait_quiet(obs)
    ph.ready = time.time()
    live = all_live(env, ctl, ns, names, obs, ph)
    step = max(1, size // samples)
    picked = [names[(i * step) % size] for i in range(samples)]  # 1 workload: the same one, `samples` times
    sample(env, ns, picked, obs, ph)
    time.sleep(12)  # steady state: idle, after the controller's periodic heap trim
    rss = ctl.proc.rss_bytes()
    ph.steps, ph.step_seconds = probes.step_metrics(ctl)
    ctl.proc.stop()
    ph.stopped = time.time()
    idle_window(env, ns, size, ph)
    base = base_patches(env, ns, picked, obs)
    obs.stop.set()
    client.CoreV1Api(env.api).delete_namespace(ns)
    wait_until(lambda: gone(env.api, ns), what=f"namespace {ns} deleted", timeout=600)
    return {
        "size": size,
        "base": base,
        "rss": rss,
        "all_live": max(live.success),
        "base_all": max(base_storm.available),
        "storms": (base_storm, live),
        "phases": ph,
    }


GOALS = (
    "goals: patch p99 <= 1000 ms; overhead p99 <= 1000 ms; at 1 workload patch p50 <= 3x base p50; "
    "all live <= 1.3x baseline all at 1,000; RSS at 2,000 <= 180 MB; idle <= 1 API request per KCD per resync"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_controller")
    parser.add_argument("--sizes", default="1,1000,2000")
    parser.add_argument("--samples", type=int, default=50, help="sampled rollouts per size (1 workload: repeated)")
    parser.add_argument(
        "--senders",
        type=int,
        default=1,
        help="concurrent clients sending the baseline's image patches and the storm's announcements (1: in turn)",
    )
    parser.add_argument("--resync", type=float, default=0.0, help="idle resync of the idle window (0: N/20 s, >= 10)")
    parser.add_argument("--profile", default=None, help="diagnostic: cProfile of the controller's event loop to FILE")
    parser.add_argument(
        "--pprof", default=None, help="diagnostic: the API server's CPU profiles during the storms, to DIR"
    )
    parser.add_argument(
        "--floor", action="store_true", help="diagnostic: first a storm of kcd's writes sent with no controller"
    )
    parser.add_argument("--report-from", default=None, help="print the figures of an earlier run's work directory")
    return parser.parse_args()


def print_results(results: list[dict[str, Any]], log: Path) -> None:
    reqs = audit.load(log)
    counted = [(r, report.requests(r, reqs)) for r in results]
    print("\nAPI requests of the controller (the API server's audit log, user kcd-controller)")
    print(report.REQUESTS_HEAD)
    for r, q in counted:
        print(report.requests_row(r, q))
    for r, q in counted:
        print("\n".join(report.requests_detail(r, q)))
    print("\nwhere the time goes, candidate annotation -> image patch seen (audit log timestamps; median, p90):")
    for r in results:
        print("\n".join(report.latency_detail(r, reqs)))


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.report_from:  # the figures again, from the results and the audit log a run left behind
        saved = Path(args.report_from)
        results = pickle.loads((saved / "results.pickle").read_bytes())  # noqa: S301 - our own file
        print(report.TIMING_HEAD)
        print("\n".join(report.timing_row(r) for r in results))
        print_results(results, saved / "audit.log")
        return
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-ctl-"))
    if args.pprof:  # read by tests.env.cluster when it starts the API server
        os.environ["KCD_TEST_APISERVER_PROFILING"] = "1"
    cl = cluster_mod.from_env(
        workdir / "cluster", audit_log=workdir / "audit.log", audit_users=[audit.CONTROLLER_USER, audit.BENCH_USER]
    )
    procs = ProcGroup(workdir / "logs")
    admin = api_client(cl)
    crd.install(admin)
    admin.close()
    bench = config.new_client_from_config(config_file=str(cl.user_kubeconfig(audit.BENCH_USER)))
    env = Env(cl, bench, procs, cl.user_kubeconfig(audit.CONTROLLER_USER), args)
    if args.pprof:
        env.pprof = probes.Pprof(bench, Path(args.pprof))
    results = []
    try:
        print(f"kcd controller benchmark (local control plane, one KCD per Deployment, 1 replica each; {workdir})")
        print(f"controller code: {probes.code_version()}")
        print(report.TIMING_HEAD)
        for size in (int(s) for s in args.sizes.split(",")):
            if args.floor:
                controller_floor.floor_storm(env, size)
            results.append(run_size(env, size, args.samples))
            (workdir / "results.pickle").write_bytes(pickle.dumps(results))
            print(report.timing_row(results[-1]), flush=True)
        print(GOALS)
        assert cl.audit_log is not None
        print_results(results, cl.audit_log)
    finally:
        procs.stop()
        bench.close()
        cl.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
