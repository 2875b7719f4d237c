"""The poll loop of the syncer, without I/O of its own: the API, the registry factory, the clock and randomness are
injected, so every decision here is tested with small fakes and the real edges are tested once each.

One ``step()``:
1. Hold the Lease (``leases``). A replica that does not hold it does nothing else and checks again next interval.
2. Read the KCD (so spec changes are followed within one poll): ``imageRepo``, ``tag``, ``versionSyntax``,
   ``pollIntervalSeconds`` (at least 1 s here; the CRD enforces 5).
3. ``registries.resolve``: a HEAD (OCI) or one DescribeImages (ECR) when nothing changed.
4. Write the three candidate annotations on its own workload, only when version or digest differ from what is there.
It returns the seconds to wait: the interval with ±10 % jitter; after failures an exponential backoff (interval × 2ⁿ,
capped at max(interval, 10 min)), and never less than a registry's ``Retry-After``. Nothing is written on a failed poll.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kcd import images, registries
from sidecar import leases

ANN_VERSION = "kcd.io/candidate-version"
ANN_DIGEST = "kcd.io/candidate-digest"
ANN_TIME = "kcd.io/candidate-time"
DEFAULT_INTERVAL = 60.0
HEALTH_GRACE = 120.0
log = logging.getLogger("kcd.syncer")


class SpecError(ValueError):
    """The KCD cannot be followed as written (missing repo or tag, bad versionSyntax)."""


@dataclass(frozen=True)
class Settings:
    namespace: str
    kcd: str
    workload_kind: str
    workload_name: str
    pod_name: str

    @property
    def lease(self) -> str:
        return leases.lease_name(self.workload_kind, self.workload_name)


@dataclass(frozen=True)
class Spec:
    repo: str
    tag: str
    pattern: images.Pattern
    interval: float

    @classmethod
    def from_kcd(cls, kcd: dict[str, Any]) -> Spec:
        spec = kcd.get("spec") or {}
        repo, tag = spec.get("imageRepo"), spec.get("tag")
        if not isinstance(repo, str) or not isinstance(tag, str) or not repo or not tag:
            raise SpecError("the KCD needs spec.imageRepo and spec.tag")
        try:
            images.parse_repo(repo)
            pattern = images.compile_syntax(spec.get("versionSyntax"))
        except ValueError as err:
            raise SpecError(str(err)) from None
        interval = spec.get("pollIntervalSeconds") or DEFAULT_INTERVAL
        return cls(repo=repo, tag=tag, pattern=pattern, interval=max(1.0, float(interval)))


class Api(Protocol):
    def get_kcd(self, namespace: str, name: str) -> dict[str, Any]: ...
    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None: ...
    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def update_lease(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]: ...
    def annotate_workload(self, namespace: str, kind: str, name: str, annotations: dict[str, str]) -> None: ...


class Observer:
    """Metrics hooks; the default does nothing."""

    def polled(self, outcome: str) -> None: ...
    def failed(self, kind: str) -> None: ...
    def registry_seconds(self, seconds: float) -> None: ...
    def succeeded(self, when: float) -> None: ...
    def leading(self, leader: bool) -> None: ...
    def annotated(self) -> None: ...


class Syncer:
    def __init__(
        self,
        settings: Settings,
        api: Api,
        *,
        registry_factory: Callable[[str], registries.Registry],
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        observer: Observer | None = None,
    ) -> None:
        self.settings, self.api, self.registry_factory = settings, api, registry_factory
        self.clock, self.rng = clock, rng
        self.observer = observer or Observer()
        self.spec: Spec | None = None
        self.registry: registries.Registry | None = None
        self.candidate: registries.Candidate | None = None
        self.on_workload: tuple[str, str] | None = None  # (version, digest) annotated on the workload
        self.lease: dict[str, Any] | None = None
        self.leader = False
        self.failures = 0
        self.healthy_until = clock() + HEALTH_GRACE

    @property
    def interval(self) -> float:
        return self.spec.interval if self.spec else DEFAULT_INTERVAL

    def healthy(self) -> bool:
        return self.clock() <= self.healthy_until

    def step(self) -> float:
        try:
            delay = self._poll()
            self.failures = 0
        except Exception as err:  # noqa: BLE001 - every failure is logged, counted and backed off; the loop lives on
            delay = self._failed(err)
        self.healthy_until = self.clock() + delay + HEALTH_GRACE
        return delay

    def _poll(self) -> float:
        if self.spec is None:
            self.spec = Spec.from_kcd(self.api.get_kcd(self.settings.namespace, self.settings.kcd))
        if not self._hold_lease():
            self.observer.polled("standby")
            return self._jitter(self.interval)
        spec = self._follow_spec()
        started = self.clock()
        assert self.registry is not None
        candidate = registries.resolve(self.registry, spec.tag, spec.pattern, previous=self.candidate)
        self.observer.registry_seconds(self.clock() - started)
        if candidate.others and candidate is not self.candidate:
            log.warning(
                "several version tags match on %s: chose %s over %s",
                candidate.digest,
                candidate.version,
                ", ".join(candidate.others),
            )
        self.candidate = candidate
        self._annotate(candidate)
        self.observer.polled("ok")
        self.observer.succeeded(self.clock())
        return self._jitter(spec.interval)

    def _follow_spec(self) -> Spec:
        spec = Spec.from_kcd(self.api.get_kcd(self.settings.namespace, self.settings.kcd))
        if self.registry is None or self.spec is None or (spec.repo, spec.tag) != (self.spec.repo, self.spec.tag):
            if self.registry is not None:
                self.registry.close()
            self.registry = self.registry_factory(spec.repo)
            self.candidate = None
        elif spec.pattern.pattern != self.spec.pattern.pattern:
            self.candidate = None
        self.spec = spec
        return spec

    def _annotate(self, candidate: registries.Candidate) -> None:
        s = self.settings
        if self.on_workload is None:
            meta = self.api.get_workload(s.namespace, s.workload_kind, s.workload_name).get("metadata") or {}
            current = meta.get("annotations") or {}
            self.on_workload = (current.get(ANN_VERSION, ""), current.get(ANN_DIGEST, ""))
        if self.on_workload == (candidate.version, candidate.digest):
            return
        now = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        values = {ANN_VERSION: candidate.version, ANN_DIGEST: candidate.digest, ANN_TIME: now}
        self.api.annotate_workload(s.namespace, s.workload_kind, s.workload_name, values)
        self.on_workload = (candidate.version, candidate.digest)
        self.observer.annotated()
        log.info("candidate %s (%s) for %s/%s", candidate.version, candidate.digest, s.workload_kind, s.workload_name)

    def _hold_lease(self) -> bool:
        s, now = self.settings, self.clock()
        if not self.leader or self.lease is None:
            self.lease = self.api.get_lease(s.namespace, s.lease)
        try:
            if self.lease is None:
                self.lease = self.api.create_lease(
                    s.namespace, leases.new_lease(s.namespace, s.lease, s.pod_name, now, self.interval)
                )
            elif leases.holder(self.lease) == s.pod_name or leases.expired(self.lease, now):
                self.lease = self.api.update_lease(
                    s.namespace, s.lease, leases.taken(self.lease, s.pod_name, now, self.interval)
                )
            else:
                return self._set_leader(False)
        except Exception:
            self.lease = None  # re-read next time; a conflict means another replica won
            self._set_leader(False)
            raise
        return self._set_leader(True)

    def _set_leader(self, leader: bool) -> bool:
        if leader != self.leader:
            log.info(
                "%s the poller for %s/%s",
                "became" if leader else "is not",
                self.settings.workload_kind,
                self.settings.workload_name,
            )
            self.on_workload = None  # re-read what is on the workload when leadership changes
            self.observer.leading(leader)
        self.leader = leader
        return leader

    def release(self) -> None:
        """Give up the Lease at shutdown so another replica takes over at once."""
        if self.leader and self.lease is not None:
            try:
                self.api.update_lease(
                    self.settings.namespace, self.settings.lease, leases.released(self.lease, self.clock())
                )
            except Exception as err:  # noqa: BLE001 - best effort at shutdown
                log.warning("could not release the lease: %s", err)
        self._set_leader(False)
        if self.registry is not None:
            self.registry.close()

    def _failed(self, err: Exception) -> float:
        self.failures += 1
        kind = type(err).__name__
        self.observer.polled("error")
        self.observer.failed(kind)
        log.warning("poll failed (%s, %d in a row): %s", kind, self.failures, err)
        base = self.interval
        delay = min(base * 2 ** min(self.failures - 1, 10), max(base, 600.0))
        if isinstance(err, registries.RateLimited) and err.retry_after is not None:
            return max(self._jitter(delay), err.retry_after)  # never sooner than the registry asked
        return self._jitter(delay)

    def _jitter(self, seconds: float) -> float:
        return seconds * (0.9 + 0.2 * self.rng())
