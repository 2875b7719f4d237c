"""The blue-green benchmark's view of one namespace, from watches: when pods become ready endpoints of the
verification Service, when the live Service's selector changes, when a Deployment completes a rollout.

Times are time.monotonic() when this process read the event. Every watch has its own client (and connection) and
reads raw dicts (deserialize=False): the client's model classes cost milliseconds per event, and a watcher lagging
behind its stream would report its own lag as latency.

A trigger (`arm`) turns the observer into the baseline: the moment the verification Service's EndpointSlices hold
the wanted ready pods, the watch thread that saw it patches the live Service's selector itself, before it reads on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

SERVICE_NAME = "kubernetes.io/service-name"
Ready = Callable[[frozenset[str]], bool]  # on the verification Service's ready pod names: the wanted moment


@dataclass
class Trigger:
    ready: Ready
    selector: dict[str, str]  # what to patch the live Service's selector with
    sent: float = 0.0  # the monotonic time the patch was sent (0: not yet)
    error: str = ""  # the patch's failure, if any (the run then stops with it)


class Observer:
    def __init__(self, kubeconfig: Path, namespace: str, *, live: str, verify: str) -> None:
        self.kubeconfig, self.namespace, self.live, self.verify = kubeconfig, namespace, live, verify
        self.lock = threading.Lock()
        self.ready: list[tuple[float, frozenset[str]]] = []  # verification Service: ready endpoint pods, by time
        self.selectors: list[tuple[float, dict[str, str]]] = []  # the live Service's selector, by time
        self.complete: dict[tuple[str, str], float] = {}  # (Deployment, image tag) -> first time it was complete
        self.last_event = time.monotonic()
        self.stop = threading.Event()
        self.trigger: Trigger | None = None
        self._slices: dict[str, list[tuple[str, bool]]] = {}
        self._clients: list[Any] = []
        for follow in (self._slice_events, self._service_events, self._deployment_events):
            api = config.new_client_from_config(config_file=str(kubeconfig))
            self._clients.append(api)
            threading.Thread(target=self._forever, args=(follow, api), daemon=True).start()

    def close(self) -> None:
        self.stop.set()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_event

    def arm(self, trigger: Trigger | None) -> None:
        with self.lock:
            self.trigger = trigger

    def ready_since(self, since: float) -> list[tuple[float, frozenset[str]]]:
        with self.lock:
            return [(t, pods) for t, pods in self.ready if t >= since]

    def selectors_since(self, since: float) -> list[tuple[float, dict[str, str]]]:
        with self.lock:
            return [(t, sel) for t, sel in self.selectors if t >= since]

    def _forever(self, follow: Callable[[Any], None], api: Any) -> None:
        while not self.stop.is_set():
            try:
                follow(api)
            except Exception:  # noqa: BLE001 - a broken watch is re-opened; its re-list repeats the current state
                time.sleep(0.1)

    def _stream(self, func: Any, **kwargs: Any) -> Any:
        return watch.Watch().stream(func, self.namespace, timeout_seconds=3600, deserialize=False, **kwargs)

    def _slice_events(self, api: Any) -> None:
        self._slices.clear()  # a re-opened watch lists every slice again
        selector = f"{SERVICE_NAME}={self.verify}"
        for ev in self._stream(client.DiscoveryV1Api(api).list_namespaced_endpoint_slice, label_selector=selector):
            now, body = time.monotonic(), ev["object"]
            name = body["metadata"]["name"]
            if ev["type"] == "DELETED":
                self._slices.pop(name, None)
            else:  # "nil ready means ready" (discovery.k8s.io/v1), as kcd reads it
                self._slices[name] = [
                    (
                        str((e.get("targetRef") or {}).get("name") or ""),
                        (e.get("conditions") or {}).get("ready") is not False,
                    )
                    for e in body.get("endpoints") or []
                ]
            pods = frozenset(pod for eps in self._slices.values() for pod, ok in eps if ok)
            with self.lock:
                self.last_event = now
                self.ready.append((now, pods))
                trigger = self.trigger
            if trigger is not None and not trigger.sent and trigger.ready(pods):
                trigger.sent = time.monotonic()
                patch = {"spec": {"selector": trigger.selector}}
                try:
                    client.CoreV1Api(api).patch_namespaced_service(self.live, self.namespace, patch)
                except client.ApiException as err:  # not raised here: that would re-open this watch
                    trigger.error = f"{err.status} {err.reason}"

    def _service_events(self, api: Any) -> None:
        core = client.CoreV1Api(api)
        for ev in self._stream(core.list_namespaced_service, field_selector=f"metadata.name={self.live}"):
            now, body = time.monotonic(), ev["object"]
            selector = {str(k): str(v) for k, v in ((body.get("spec") or {}).get("selector") or {}).items()}
            with self.lock:
                self.last_event = now
                if not self.selectors or self.selectors[-1][1] != selector:
                    self.selectors.append((now, selector))

    def _deployment_events(self, api: Any) -> None:
        for ev in self._stream(client.AppsV1Api(api).list_namespaced_deployment):
            now, d = time.monotonic(), ev["object"]
            spec, st = d["spec"], d.get("status") or {}
            tag = spec["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[-1]
            want = spec.get("replicas", 1)
            done = (
                st.get("observedGeneration", 0) >= d["metadata"]["generation"]
                and st.get("updatedReplicas", 0) == want
                and st.get("availableReplicas", 0) == want
                and st.get("replicas", 0) == want
            )
            with self.lock:
                self.last_event = now
                if done:
                    self.complete.setdefault((d["metadata"]["name"], tag), now)
