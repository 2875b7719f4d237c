"""The View: an immutable snapshot of everything one reconcile step may look at, built by the Kubernetes edge.

A step never reads the API server: the reconciler builds the View from the watched state it keeps (slim projections
of the KCD and its workloads) and the engine decides on it alone. Pure: built from raw bodies (dicts).

  View(kcd, workloads, now, overlaps)      overlaps: older KCDs that also select one of these workloads
                                           syncers: workload ref -> its syncer's health (kcd.syncerhealth, from its
                                           Lease; no key: no Lease; None: not observed, SyncerHealthy left alone)
  Workload                                 one selected workload reduced to what a decision needs
  Candidate                                what the workload's syncer reported (kcd.io/candidate-* annotations)
  workload_from_body(body, container) -> Workload
  status_facts(body) -> tuple              what a decision reads from a workload's status (kcd.kube.cache wakes on it)
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from kcd import syncerhealth
from kcd.engine import workload as wl
from kcd.model import CANDIDATE_DIGEST, CANDIDATE_SOURCE, CANDIDATE_TIME, CANDIDATE_VERSION, KCD, parse_time

MANAGERS_KEY = "kcdImageManagers"  # projection key: container name -> field managers owning its image (managedFields)


@dataclasses.dataclass(frozen=True)
class Candidate:
    version: str
    digest: str = ""
    time: datetime.datetime | None = None  # None: missing or unreadable kcd.io/candidate-time
    source: str = ""  # "<imageRepo>:<tag>" the syncer resolved
    workload: str = ""  # "deployment/web": whose annotation this is


@dataclasses.dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    image: str | None  # None: the workload has no container of the KCD's name
    progress: wl.Progress
    candidate: Candidate | None = None
    image_managers: tuple[str, ...] = ()  # who else wrote the container's image (from managedFields)
    stuck_on_rollback: bool = False  # a StatefulSet that keeps a broken pod unless it is deleted
    pod_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    template_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)  # the pods' labels
    replicas: int = 0  # spec.replicas (Deployments, StatefulSets; 0 for the others)
    available: int = 0  # status.availableReplicas

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclasses.dataclass(frozen=True)
class Service:
    """A Service a strategy routes traffic with: its selector and the pods its EndpointSlices list."""

    name: str
    selector: Mapping[str, str]
    ready_pods: tuple[str, ...] = ()  # pod names of the ready endpoints
    unready_pods: tuple[str, ...] = ()

    def selects(self, labels: Mapping[str, str]) -> bool:
        return bool(self.selector) and all(labels.get(k) == v for k, v in self.selector.items())


@dataclasses.dataclass(frozen=True)
class Job:
    """A verification Job (kcd.engine.verify): how it ended, if it did."""

    name: str
    succeeded: bool = False
    failed: bool = False
    message: str = ""


@dataclasses.dataclass(frozen=True)
class Probe:
    """One short HTTP GET made for the step (an HTTP verification): the status it answered, or why it did not."""

    url: str
    status: int | None = None
    error: str = ""


@dataclasses.dataclass(frozen=True)
class View:
    kcd: KCD
    workloads: tuple[Workload, ...]
    now: datetime.datetime
    overlaps: tuple[str, ...] = ()  # names of older KCDs selecting one of these workloads (this KCD must yield)
    services: Mapping[str, Service] = dataclasses.field(default_factory=dict)  # what the strategy asked for
    jobs: Mapping[str, Job] = dataclasses.field(default_factory=dict)  # this KCD's verification Jobs
    probe: Probe | None = None  # the HTTP verification's answer, when one runs
    pinned: Mapping[str, str] = dataclasses.field(default_factory=dict)  # "image:tag" -> its digest, when resolved
    syncers: Mapping[str, syncerhealth.Health] | None = None  # "deployment/web" -> its syncer's Lease, read

    @property
    def missing_container(self) -> tuple[Workload, ...]:
        return tuple(w for w in self.workloads if w.image is None)


def _candidate(meta: Mapping[str, Any]) -> Candidate | None:
    notes = meta.get("annotations") or {}
    if CANDIDATE_VERSION not in notes:
        return None
    version = str(notes.get(CANDIDATE_VERSION) or "").strip()  # empty: reported as an invalid candidate
    return Candidate(
        version=version,
        digest=str(notes.get(CANDIDATE_DIGEST) or "").strip(),
        time=parse_time(str(notes.get(CANDIDATE_TIME) or "").strip()),
        source=str(notes.get(CANDIDATE_SOURCE) or "").strip(),
    )


def workload_from_body(body: Mapping[str, Any], container: str) -> Workload:
    meta = body.get("metadata") or {}
    kind, name = str(body.get("kind")), str(meta.get("name"))
    cand = _candidate(meta)
    spec, template = body.get("spec") or {}, wl.pod_template(dict(body))
    managers = (body.get(MANAGERS_KEY) or {}).get(container) or ()
    return Workload(
        kind=kind,
        name=name,
        image=wl.container_image(dict(body), container),
        progress=wl.progress(dict(body)),
        candidate=dataclasses.replace(cand, workload=f"{kind.lower()}/{name}") if cand else None,
        image_managers=tuple(str(m) for m in managers),
        stuck_on_rollback=wl.stuck_on_rollback(dict(body)),
        pod_selector=wl.pod_selector(dict(body)),
        template_labels={str(k): str(v) for k, v in (template.get("metadata") or {}).get("labels", {}).items()},
        replicas=int(spec.get("replicas", 1)) if kind in ("Deployment", "StatefulSet") else 0,
        available=int((body.get("status") or {}).get("availableReplicas") or 0),
    )


def status_facts(body: Mapping[str, Any]) -> tuple[bool, ...]:
    """What a decision reads from a workload's status: the rollout verdict (done, failed, paused) and whether rolling
    back must delete a stuck pod. The counts and messages behind them are only repeated in messages, so a status
    update that leaves these alone (a replica count moving mid-rollout) cannot change a step's decision and wakes no
    KCD (kcd.kube.cache). `Workload.available` is left out: only blue-green reads it, in phases that re-check every
    progress poll."""
    plain = dict(body)
    progress = wl.progress(plain)
    return (progress.done, progress.failed, progress.paused, wl.stuck_on_rollback(plain))
