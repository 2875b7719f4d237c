"""`make demo`: bring the whole local environment up, release a sample app into it, and keep it running until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.env import pusher, stack
from tests.env.procs import EnvError, wait_until


def _sample_app(st: stack.Stack) -> str:
    from kubernetes import client

    from tests.env.kubeready import api_client

    reg = st.registries["anonymous"]
    pushed = pusher.push_image(pusher.RegistryClient(reg.url), "demo/app", ["abc1234", "env-prod"])
    api = api_client(st.cluster)
    apps = client.AppsV1Api(api)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "demo"}})
    labels = {"app": "demo"}
    apps.create_namespaced_deployment(
        "demo",
        {
            "metadata": {"name": "demo", "labels": labels},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": f"{reg.host}/demo/app:abc1234"}]},
                },
            },
        },
    )
    wait_until(
        lambda: apps.read_namespaced_deployment_status("demo", "demo").status.ready_replicas == 3,
        what="the demo Deployment's 3 replicas",
        timeout=60,
    )
    api.close()
    return f"{reg.host}/demo/app:abc1234 ({pushed.digest[:19]}…), Deployment demo/demo with 3 ready replicas"


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="kcd-demo-"))
    print(f"kcd demo: starting the local environment under {workdir} …", flush=True)
    try:
        st = stack.start(workdir)
    except EnvError as err:
        print(f"kcd demo: {err}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print(f"\nup in {st.timings['total']:.1f}s:\n{st.describe()}", flush=True)
        if st.cluster.local:
            print(f"sample app: {_sample_app(st)}", flush=True)
        print(
            f"\ntry:  KUBECONFIG={st.cluster.kubeconfig} kubectl get pods -A"
            "\n      (kubectl is in ~/.cache/kcd/bin/kube-v*/)"
            "\nnot yet here: the controller (issue 3) and the syncer (issue 4) join this demo as they land."
            "\nCtrl-C stops everything.",
            flush=True,
        )
        stop.wait()
    finally:
        print("\nkcd demo: stopping …", flush=True)
        st.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
