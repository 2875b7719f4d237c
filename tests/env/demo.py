"""The demo's story on top of the local environment: kcd's controller and a syncer run as processes, and a new
version of the sample app is "released" (pushed under the watched tag) every `interval` seconds, so a newcomer sees
the whole job: registry push -> syncer annotation -> controller rollout -> pods replaced -> status and history.
The dashboard (`kcd api`, Flask under gunicorn) runs too: its address is printed, and each rollout appears on it.
A second app, `shop`, follows the same tag with the blue-green strategy (tests.env.demo_bluegreen): each release
switches its live Service from one colour to the other. Once the third release is live the demo rolls the first app
back by hand (`kcd rollout rollback`): the version rolled away from is held, so the syncer still reporting it does
not bring it back; the next release rolls out as usual.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

from kubernetes import client

from tests import crd
from tests.env import demo_bluegreen, pusher, stack
from tests.env.kubeready import api_client
from tests.env.procs import free_port, wait_until

NS, APP, TAG = "demo", "demo", "env-prod"


def _resources(st: stack.Stack, image: str, repo: str) -> None:
    api = api_client(st.cluster)
    crd.install(api)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
    labels = {"app": APP}
    client.AppsV1Api(api).create_namespaced_deployment(
        NS,
        {
            "metadata": {"name": APP, "labels": {"kcdapp": APP}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}},
            },
        },
    )
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kcd.io",
        "v1",
        NS,
        "kcds",
        {
            "apiVersion": "kcd.io/v1",
            "kind": "KCD",
            "metadata": {"name": APP},
            "spec": {
                "imageRepo": repo,
                "tag": TAG,
                "selector": {"kcdapp": APP},
                "container": {"name": "app"},
                "pollIntervalSeconds": 5,
                "rollback": {"enabled": True},
                "config": {"name": "versions", "key": APP},
            },
        },
    )
    api.close()


def start_processes(st: stack.Stack) -> dict[str, str]:
    """Controller and syncer, as processes logging under the environment's log directory."""
    kubeconfig = str(st.cluster.kubeconfig)
    port = free_port()
    ctl = st.procs.start(
        "kcd-controller",
        [sys.executable, "-m", "kcd", "run", "--kubeconfig", kubeconfig, "--bind", "127.0.0.1", "--port", str(port)],
    )
    env = {
        "KCD_KUBECONFIG": kubeconfig,
        "KCD_NAMESPACE": NS,
        "KCD_NAME": APP,
        "KCD_WORKLOAD_KIND": "Deployment",
        "KCD_WORKLOAD_NAME": APP,
        "POD_NAME": "demo-syncer",
        "KCD_SYNCER_ADDRESS": "127.0.0.1",
        "KCD_SYNCER_PORT": str(free_port()),
    }
    syncer = st.procs.start("kcd-syncer", [sys.executable, "-m", "sidecar"], env=env)
    shop = st.procs.start(
        "kcd-syncer-shop", [sys.executable, "-m", "sidecar"], env=demo_bluegreen.syncer_env(env, free_port())
    )
    api_port = free_port()
    api = st.procs.start(
        "kcd-api",
        [sys.executable, "-m", "kcd", "api", "--kubeconfig", kubeconfig, "--bind", f"127.0.0.1:{api_port}"],
    )
    return {
        "controller": str(ctl.log),
        "syncer": f"{syncer.log} (shop: {shop.log})",
        "metrics": f"http://127.0.0.1:{port}/metrics",
        "api": str(api.log),
        "dashboard": f"http://127.0.0.1:{api_port}/",
    }


def release(st: stack.Stack, version: str) -> str:
    reg = st.registries["anonymous"]
    pushed = pusher.push_image(pusher.RegistryClient(reg.url), "demo/app", [version, TAG])
    return pushed.digest


def _status(api: Any) -> dict[str, Any]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object("kcd.io", "v1", NS, "kcds", APP)
    return dict(obj.get("status") or {})


ROLL_BACK_AFTER = 3  # releases


def _shop_line(api: Any) -> str:
    try:
        return demo_bluegreen.line(api)
    except Exception:  # noqa: BLE001 - the demo keeps narrating through API hiccups
        return ""


def roll_back(st: stack.Stack) -> None:
    """What a person does when a release misbehaves: `kcd rollout rollback` (back to the previous live version)."""
    argv = [
        sys.executable,
        "-m",
        "kcd",
        "rollout",
        "rollback",
        APP,
        "-n",
        NS,
        "--kubeconfig",
        str(st.cluster.kubeconfig),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603 - our own CLI
    said = (done.stdout or done.stderr).strip()
    print(f"[{time.strftime('%H:%M:%S')}] $ kcd rollout rollback {APP} -n {NS}\n           {said}", flush=True)


def narrate(st: stack.Stack, stop: threading.Event, interval: float) -> None:
    """Release a version every `interval` s and print each transition of the KCD until `stop`."""
    api = api_client(st.cluster)
    counter, last, rolled_back, shop_last = 0, "", False, ""
    next_release = time.monotonic() + 10
    while not stop.wait(1):
        if time.monotonic() >= next_release:
            counter += 1
            version = f"{0xABC1234 + counter:07x}"
            digest = release(st, version)
            print(f"[{time.strftime('%H:%M:%S')}] released {version} under {TAG} ({digest[:19]}…)", flush=True)
            next_release = time.monotonic() + interval
        try:
            status = _status(api)
        except Exception:  # noqa: BLE001 - the demo keeps narrating through API hiccups
            continue
        phase = (status.get("rollout") or {}).get("phase", "")
        ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), {})
        line = f"{status.get('currStatus')} {status.get('currVersion')} {phase} {ready.get('reason')}".strip()
        if line != last:
            last = line
            print(
                f"[{time.strftime('%H:%M:%S')}] kcd {NS}/{APP}: {status.get('currStatus')} "
                f"version={status.get('currVersion')} live={status.get('successVersion')} {phase} "
                f"- {ready.get('message', '')}",
                flush=True,
            )
            if ready.get("reason") == "Held":
                print(
                    f"           held (not redeployed until `kcd rollout clear`): {status['heldVersions']}", flush=True
                )
            if status.get("currStatus") == "Success" and not phase:
                cm = client.CoreV1Api(api).read_namespaced_config_map(f"{APP}.history", NS)
                newest = json.loads(cm.data["history"])[0]
                print(
                    f"           history: {newest['version']} {newest['outcome']} in {newest['durationSeconds']:.1f}s",
                    flush=True,
                )
        shop = _shop_line(api)
        if shop and shop != shop_last:
            shop_last = shop
            print(f"[{time.strftime('%H:%M:%S')}] {shop}", flush=True)
        if counter == ROLL_BACK_AFTER and not rolled_back and status.get("successVersion") == version:
            rolled_back = True
            roll_back(st)
    api.close()


def setup(st: stack.Stack) -> dict[str, str]:
    reg = st.registries["anonymous"]
    repo = f"{reg.host}/demo/app"
    release(st, "abc1234")
    _resources(st, f"{repo}:abc1234", repo)
    api = api_client(st.cluster)
    demo_bluegreen.resources(api, f"{repo}:abc1234", repo, TAG)
    apps = client.AppsV1Api(api)
    wait_until(
        lambda: apps.read_namespaced_deployment_status(APP, NS).status.ready_replicas == 3,
        what="the demo Deployment's 3 replicas",
        timeout=90,
    )
    api.close()
    return start_processes(st)
