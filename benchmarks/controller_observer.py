"""The controller benchmark's view of the cluster: when images change, Deployments become available, KCDs succeed.

Times are epoch seconds (time.time()), the clock of the API server's audit log on this host, so that both can be put
on one timeline.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kubernetes import client, watch


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
        self.with_status: set[str] = set()  # KCDs that have a status: the controller has stepped them
        self.last_event = time.time()
        self.stop = threading.Event()
        apps, custom = client.AppsV1Api(self.api), client.CustomObjectsApi(self.api)
        for follow in (lambda: self._deployment_events(apps), lambda: self._kcd_events(custom)):
            threading.Thread(target=self._forever, args=(follow,), daemon=True).start()

    def quiet_for(self) -> float:
        return time.time() - self.last_event

    def available(self, names: list[str], version: str) -> int:
        return sum(1 for n in names if (n, version) in self.available_at)

    def succeeded(self, names: list[str], version: str) -> int:
        return sum(1 for n in names if (n, version) in self.success_at)

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
            apps.list_namespaced_deployment, self.namespace, timeout_seconds=3600, deserialize=False
        )
        for ev in stream:
            d, now = ev["object"], time.time()
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
            timeout_seconds=3600,
            deserialize=False,
        ):
            obj, now = ev["object"], time.time()
            self.last_event = now
            status = obj.get("status") or {}
            if status:
                self.with_status.add(obj["metadata"]["name"])
            if status.get("currStatus") == "Success":
                self.success_at.setdefault((obj["metadata"]["name"], str(status.get("successVersion"))), now)
