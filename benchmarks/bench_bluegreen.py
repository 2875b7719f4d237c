"""Blue-green switch latency on the local control plane: how long after the new colour is ready kcd moves traffic.

Two Deployments (web-blue live, web-green idle; 2 replicas each), the live Service `web` and the verification Service
`web-verify` (both first on blue), a KCD with strategy ServiceBlueGreen (labelNames [colour], verificationServiceName,
scaleDown false), and one `kcd run` process watching that namespace. Each rollout announces a new candidate on the
live colour (what the syncer does); kcd sets the idle colour's image, points the verification Service at it, waits
until its pods are ready endpoints and the Deployment is complete, then patches the live Service's selector. The
benchmark waits for the KCD's `Success` before the next rollout, so the colours alternate.

Measured from watches (tests/env has no kubelet: kwok makes the pods ready):
- switch latency: the new colour's last pod appears as a ready endpoint in the verification Service's EndpointSlices
  -> the live Service's selector names the new colour;
- baseline (the physical floor), in a second namespace without a KCD, interleaved with kcd's rollouts: the benchmark
  does kcd's steps itself and patches the live selector from the EndpointSlice watch thread the moment it sees the
  last new endpoint ready; same two watches, same figure. `ratio` = kcd / baseline.
Also printed: how much of kcd's latency is the Deployment's own status catching up (ready endpoint -> Deployment
complete, a condition kcd waits for), and candidate annotation -> switch. The original kcd polled every 15 s.
Run: make bench-bluegreen   (or .venv/bin/python -m benchmarks.bench_bluegreen --rollouts 20)
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from benchmarks.bluegreen_observer import Observer, Ready, Trigger
from benchmarks.bluegreen_report import ms, report
from benchmarks.controller_probes import code_version
from tests import crd
from tests.controller import kcdrun
from tests.controller.fixtures import REPO, announce, create, kcd_status, wait_status
from tests.env import cluster as cluster_mod
from tests.env.kubeready import api_client, ready_endpoints
from tests.env.procs import EnvError, ProcGroup, wait_until

LIVE, VERIFY, LABEL, REPLICAS = "web", "web-verify", "colour", 2
OTHER = {"blue": "green", "green": "blue"}
KCD_NS, BASE_NS = "bg-kcd", "bg-base"


@dataclass
class Rollout:
    version: str
    colour: str  # the colour going live
    before: frozenset[str]  # pod names that existed before the rollout
    started: float  # monotonic, before its first write
    ready: float = math.nan  # the new colour's last endpoint ready (verification Service)
    complete: float = math.nan  # its Deployment complete at the version
    switch: float = math.nan  # the live Service's selector names the new colour

    @property
    def deployment(self) -> str:
        return f"web-{self.colour}"

    def new_ready(self) -> Ready:
        prefix, before = f"{self.deployment}-", self.before
        return lambda pods: sum(1 for p in pods if p.startswith(prefix) and p not in before) >= REPLICAS


@dataclass
class Env:
    kubeconfig: Path
    api: Any
    args: argparse.Namespace
    obs: dict[str, Observer] = field(default_factory=dict)
    live: dict[str, str] = field(default_factory=lambda: {KCD_NS: "blue", BASE_NS: "blue"})


def colour(value: str) -> dict[str, Any]:
    pods = {"app": "web", LABEL: value}
    template = {"metadata": {"labels": pods}, "spec": {"containers": [{"name": "app", "image": f"{REPO}:aaaaa11"}]}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"web-{value}", "labels": {"kcdapp": "web"}},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": pods}, "template": template},
    }


def bg_kcd() -> dict[str, Any]:
    blue_green = {"serviceName": LIVE, "labelNames": [LABEL], "verificationServiceName": VERIFY, "scaleDown": False}
    spec = {
        "imageRepo": REPO,
        "tag": "env-prod",
        "versionSyntax": "[a-z0-9-]+",
        "selector": {"kcdapp": "web"},
        "container": {"name": "app"},
        "timeoutSeconds": 120,
        "strategy": {"kind": "ServiceBlueGreen", "blueGreen": blue_green},
    }
    return {"apiVersion": "kcd.io/v1", "kind": "KCD", "metadata": {"name": "web"}, "spec": spec}


def pod_names(api: Any, ns: str) -> frozenset[str]:
    return frozenset(p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod(ns).items)


def setup(env: Env, ns: str) -> None:
    core = client.CoreV1Api(env.api)
    core.create_namespace({"metadata": {"name": ns}})
    for value in ("blue", "green"):
        create(env.api, ns, colour(value))
    for name in (LIVE, VERIFY):
        selector = {"app": "web", LABEL: "blue"}
        core.create_namespaced_service(
            ns, {"metadata": {"name": name}, "spec": {"selector": selector, "ports": [{"port": 80}]}}
        )
    serving = lambda: len(ready_endpoints(env.api, ns, LIVE)) == REPLICAS  # noqa: E731
    wait_until(serving, what=f"{ns}: blue serving", timeout=120)
    env.obs[ns] = Observer(env.kubeconfig, ns, live=LIVE, verify=VERIFY)


def wait_quiet(obs: Observer, seconds: float = 1.0) -> None:
    """No watch event for `seconds`: the rollout's tail (old pods, status updates) has passed."""
    wait_until(lambda: obs.quiet_for() > seconds, what="a quiet namespace", timeout=60)


def stamp() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def begin(env: Env, ns: str, version: str) -> Rollout:
    idle = OTHER[env.live[ns]]
    return Rollout(version, idle, pod_names(env.api, ns), time.monotonic())


def finish(env: Env, ns: str, r: Rollout) -> Rollout:
    """The rollout's moments, read off the watches' timelines."""
    obs, want = env.obs[ns], r.new_ready()
    r.ready = next((t for t, pods in obs.ready_since(r.started) if want(pods)), math.nan)
    r.switch = next((t for t, sel in obs.selectors_since(r.started) if sel.get(LABEL) == r.colour), math.nan)
    r.complete = obs.complete.get((r.deployment, r.version), math.nan)
    env.live[ns] = r.colour
    wait_quiet(obs)
    return r


def kcd_rollout(env: Env, version: str) -> Rollout:
    r = begin(env, KCD_NS, version)
    announce(env.api, KCD_NS, "Deployment", f"web-{env.live[KCD_NS]}", version, when=stamp())
    wait_status(
        env.api, KCD_NS, "web", timeout=env.args.timeout, currStatus="Success", successVersion=version, rollout=None
    )
    return finish(env, KCD_NS, r)


def base_rollout(env: Env, version: str) -> Rollout:
    """kcd's steps done by the benchmark: idle image, verification selector, live selector on the first sight."""
    r, apps, core = begin(env, BASE_NS, version), client.AppsV1Api(env.api), client.CoreV1Api(env.api)
    trigger = Trigger(r.new_ready(), {LABEL: r.colour})
    env.obs[BASE_NS].arm(trigger)
    image = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{REPO}:{version}"}]}}}}
    apps.patch_namespaced_deployment(r.deployment, BASE_NS, image)
    core.patch_namespaced_service(VERIFY, BASE_NS, {"spec": {"selector": {LABEL: r.colour}}})

    def served() -> bool:
        if trigger.error:
            raise EnvError(f"baseline selector patch failed: {trigger.error}")
        pods = ready_endpoints(env.api, BASE_NS, LIVE)
        new = [p for p in pods if p.startswith(f"{r.deployment}-") and p not in r.before]
        return bool(trigger.sent) and len(new) == len(pods) == REPLICAS

    wait_until(served, what=f"baseline {version}: traffic on the new colour", timeout=env.args.timeout)
    env.obs[BASE_NS].arm(None)
    return finish(env, BASE_NS, r)


def run(env: Env, procs: ProcGroup) -> None:
    for ns in (KCD_NS, BASE_NS):
        setup(env, ns)
    create(env.api, KCD_NS, bg_kcd())
    ctl = kcdrun.start(procs, env.kubeconfig, extra=["--namespace", KCD_NS], wait_ready=False)
    wait_until(ctl.ready, what="kcd /readyz", timeout=60, proc=ctl.proc)
    wait_until(lambda: bool(kcd_status(env.api, KCD_NS, "web")), what="a first KCD status", timeout=60, proc=ctl.proc)
    kcd: list[Rollout] = []
    base: list[Rollout] = []
    print("| rollout | colour | kcd: ready -> switch | baseline: ready -> switch |\n|---|---|---|---|")
    for i in range(env.args.warmup + env.args.rollouts):
        version = f"bg-{i:03d}"
        k, b = kcd_rollout(env, version), base_rollout(env, version)
        warm = i < env.args.warmup
        print(
            f"| {version}{' (warm-up)' if warm else ''} | {k.colour} | {ms(k.switch - k.ready)} | "
            f"{ms(b.switch - b.ready)} |",
            flush=True,
        )
        if not warm:
            kcd.append(k)
            base.append(b)
    report(kcd, base)


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_bluegreen")
    parser.add_argument("--rollouts", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="rollouts before the measured ones (not counted)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a rollout may take")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-bg-"))
    cl = cluster_mod.from_env(workdir / "cluster")
    procs = ProcGroup(workdir / "logs")
    api = api_client(cl)
    env = Env(Path(cl.kubeconfig), api, args)
    try:
        print(f"kcd blue-green benchmark (local control plane, {REPLICAS} replicas per colour; {workdir})")
        print(f"controller code: {code_version()}; {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
        crd.install(api)
        run(env, procs)
    finally:
        for obs in env.obs.values():
            obs.close()
        procs.stop()
        api.close()
        cl.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
