"""`make demo`: the local environment, kcd's controller and a syncer, and a sample app that gets a new version
released every 45 s, each rolled out while you watch; Ctrl-C stops everything."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.env import binaries, demo, stack
from tests.env.procs import EnvError

INTERVAL = 45.0


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
        logs = demo.setup(st)
        print(
            "\nsample app: Deployment demo/demo (3 replicas) followed by KCD demo/demo, tag env-prod"
            f"\n\ndashboard: {logs['dashboard']}   (open it in a browser: every rollout appears there)"
            f"\ncontroller log: {logs['controller']}\nsyncer log:     {logs['syncer']}\napi log:        {logs['api']}"
            f"\nmetrics: {logs['metrics']}"
            f"\n\ntry:  export KUBECONFIG={st.cluster.kubeconfig}"
            f"\n      {binaries.binary('kubectl')} get kcd,deploy,pods -n demo"
            "\n      .venv/bin/kcd rd get;  .venv/bin/kcd rollout status demo -n demo"
            "\n      .venv/bin/kcd history demo -n demo"
            f"\n\na new version is released every {INTERVAL:.0f} s; Ctrl-C stops everything.\n",
            flush=True,
        )
        demo.narrate(st, stop, INTERVAL)
    finally:
        print("\nkcd demo: stopping …", flush=True)
        st.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
