"""The poll loop of the syncer, without I/O of its own: the API, the registry factory, the clock and randomness are
injected, so every decision here is tested with small fakes and the real edges are tested once each.

One ``step()``:
1. Hold the Lease (``leases``). A replica that does not hold it does nothing else and checks again next interval.
2. Read the KCD (so spec changes are followed within one poll), parsed by ``kcd.model`` like the controller does:
   ``imageRepo``, ``tag``, ``versionSyntax`` (RE2), ``pollIntervalSeconds`` (the CRD's default 60 and minimum 5).
3. ``registries.resolve``: a HEAD (OCI) or one DescribeImages (ECR) when nothing changed.
4. Write the candidate annotations (version, digest, time, and the ``imageRepo:tag`` source they came from) on its
   own workload, only when version, digest or source differ from what is there, and only for a version that is a
   valid OCI tag or a digest.
It returns the seconds to wait: the interval with ±10 % jitter. Failures are backed off per party (``backoff``): the
registry's wait may grow to 10 min (never shorter than its ``Retry-After``) while the Lease is still renewed and the
KCD still read every interval; the API server's never exceeds one interval. Nothing is written on a failed poll.

Health at no extra request: each Lease write (step 1, and the release at shutdown) also records the outcome of the
previous poll as annotations (kcd.syncerhealth: last success, the error's class and message and since when, registry
requests made). A standby records nothing; a syncer that has not polled yet leaves what is there.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kcd import images, model, registries, syncerhealth
from sidecar import backoff, leases

DEFAULT_INTERVAL = float(model.DEFAULT_POLL_INTERVAL_SECONDS)
HEALTH_GRACE = 120.0
# A change of any of these is written; the time alone is not (a restarted syncer rewrites nothing).
_COMPARED = (model.CANDIDATE_VERSION, model.CANDIDATE_DIGEST, model.CANDIDATE_SOURCE)
log = logging.getLogger("kcd.syncer")


@dataclass(frozen=True)
class Settings:
    namespace: str
    kcd: str
    workload_kind: str  # a kcd.kinds name, lower case ("deployment")
    workload_name: str
    pod_name: str

    @property
    def lease(self) -> str:
        return leases.lease_name(self.workload_kind, self.workload_name)


def writable(candidate: registries.Candidate) -> bool:
    """The controller deploys ``repo:version`` or ``repo@digest``: anything else would make an invalid image."""
    version_ok = images.is_tag(candidate.version) or images.is_digest(candidate.version)
    return version_ok and images.is_digest(candidate.digest)


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
        self.kcd: model.KCD | None = None
        self.pattern: images.Pattern | None = None
        self.registry: registries.Registry | None = None
        self.candidate: registries.Candidate | None = None
        self.on_workload: tuple[str, ...] | None = None  # the _COMPARED annotations' values on the workload
        self.lease: dict[str, Any] | None = None
        self.leader = False
        self.api_failures = 0
        self.registry_failures = 0
        self.registry_due = 0.0  # the registry is not asked before this time (its backoff)
        self.registry_error: tuple[str, str] | None = None  # the class and message of the registry's last failure
        self.outcome: syncerhealth.Outcome | None = None  # the last poll's, recorded by the next Lease write
        self.requests = 0  # registry requests made since start
        self.healthy_until = clock() + HEALTH_GRACE

    @property
    def interval(self) -> float:
        return float(self.kcd.spec.poll_interval_seconds) if self.kcd else DEFAULT_INTERVAL

    @property
    def failures(self) -> int:
        """Failures in a row of either party; 0 after a successful poll."""
        return self.api_failures + self.registry_failures

    def healthy(self) -> bool:
        return self.clock() <= self.healthy_until

    def step(self) -> float:
        try:
            delay = self._poll()
        except registries.RegistryError as err:
            delay = self._registry_failed(err)
        except Exception as err:  # noqa: BLE001 - the API server, the KCD or a bug: logged, counted, retried soon
            delay = self._api_failed(err)
        self.healthy_until = self.clock() + delay + HEALTH_GRACE
        return delay

    def _poll(self) -> float:
        if self.kcd is None:
            self.kcd = self._read_kcd()  # its interval sizes the Lease
        if not self._hold_lease():
            self.api_failures = 0
            self.outcome = None  # a standby polls nothing: on taking over it first records its own first poll
            self.observer.polled("standby")
            return self._jitter(self.interval)
        self._follow_kcd()
        self.api_failures = 0
        wait = self.registry_due - self.clock()
        if wait > 0:  # the registry's backoff; the Lease is kept and the KCD followed meanwhile
            if self.registry_error is not None:  # still the last word on the registry (an API error may be over)
                self._record(*self.registry_error)
            self.observer.polled("backoff")
            return min(self._jitter(self.interval), wait)
        candidate, fresh = self._resolve()
        self.registry_failures, self.registry_error = 0, None
        if writable(candidate):
            self._annotate(candidate)
        elif fresh:
            log.warning(
                "candidate %r (%s) is not a valid OCI tag or digest: not written", candidate.version, candidate.digest
            )
        self._record()
        self.observer.polled("ok")
        self.observer.succeeded(self.clock())
        return self._jitter(self.interval)

    def _read_kcd(self) -> model.KCD:
        return model.KCD.from_body(self.api.get_kcd(self.settings.namespace, self.settings.kcd))

    def _follow_kcd(self) -> None:
        kcd, old = self._read_kcd(), self.kcd
        spec = kcd.spec
        if self.registry is None or old is None or (spec.image_repo, spec.tag) != (old.spec.image_repo, old.spec.tag):
            self._switch_registry(spec.image_repo)
        if self.pattern is None or old is None or spec.version_syntax != old.spec.version_syntax:
            self.pattern = images.compile_syntax(spec.version_syntax)
            self.candidate = None
        self.kcd = kcd

    def _switch_registry(self, repo: str) -> None:
        if self.registry is not None:
            self.registry.close()
            self.registry = None
        self.registry = self.registry_factory(repo)
        self.candidate = None
        # A new repository or tag is asked at once: the backoff belonged to what failed before (a typo being fixed).
        self.registry_failures, self.registry_due, self.registry_error = 0, 0.0, None

    def _resolve(self) -> tuple[registries.Candidate, bool]:
        """The candidate, and whether it is new since the last poll (so each one is logged once)."""
        assert self.registry is not None and self.pattern is not None and self.kcd is not None
        started, sent = self.clock(), _sent(self.registry)
        try:
            candidate = registries.resolve(self.registry, self.kcd.spec.tag, self.pattern, previous=self.candidate)
        finally:
            after = _sent(self.registry)
            # A client without a count of its own (ECR) makes one call per poll: DescribeImages returns the tags too.
            self.requests += after - sent if sent is not None and after is not None else 1
        self.observer.registry_seconds(self.clock() - started)
        fresh = candidate is not self.candidate
        if candidate.others and fresh:
            others = ", ".join(candidate.others)
            log.warning(
                "several version tags match on %s: chose %s over %s", candidate.digest, candidate.version, others
            )
        self.candidate = candidate
        return candidate, fresh

    def _annotate(self, candidate: registries.Candidate) -> None:
        assert self.kcd is not None
        s, wanted = self.settings, (candidate.version, candidate.digest, self.kcd.source)
        if self.on_workload is None:
            meta = self.api.get_workload(s.namespace, s.workload_kind, s.workload_name).get("metadata") or {}
            self.on_workload = tuple((meta.get("annotations") or {}).get(name, "") for name in _COMPARED)
        if self.on_workload == wanted:
            return
        now = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        values = dict(zip(_COMPARED, wanted, strict=True)) | {model.CANDIDATE_TIME: now}
        self.api.annotate_workload(s.namespace, s.workload_kind, s.workload_name, values)
        self.on_workload = wanted
        self.observer.annotated()
        log.info("candidate %s (%s) of %s for %s/%s", *wanted, s.workload_kind, s.workload_name)

    def _hold_lease(self) -> bool:
        s, now = self.settings, self.clock()
        if not self.leader or self.lease is None:
            self.lease = self.api.get_lease(s.namespace, s.lease)
        try:
            if self.lease is None:
                body = leases.new_lease(s.namespace, s.lease, s.pod_name, now, self.interval)
                self.lease = self.api.create_lease(s.namespace, leases.recorded(body, self.outcome))
            elif leases.holder(self.lease) == s.pod_name or leases.expired(self.lease, now):
                body = leases.taken(self.lease, s.pod_name, now, self.interval)
                self.lease = self.api.update_lease(s.namespace, s.lease, leases.recorded(body, self.outcome))
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
                body = leases.recorded(leases.released(self.lease, self.clock()), self.outcome)
                self.api.update_lease(self.settings.namespace, self.settings.lease, body)
            except Exception as err:  # noqa: BLE001 - best effort at shutdown
                log.warning("could not release the lease: %s", err)
        self._set_leader(False)
        if self.registry is not None:
            self.registry.close()

    def _registry_failed(self, err: registries.RegistryError) -> float:
        self.registry_failures += 1
        self.registry_error = leases.registry_error(err)
        self._record(*self.registry_error)
        self._report(err, self.registry_failures)
        wait = self._jitter(backoff.registry_wait(self.registry_failures, self.interval))
        if isinstance(err, registries.RateLimited) and err.retry_after is not None:
            wait = max(wait, err.retry_after)  # never sooner than the registry asked
        self.registry_due = self.clock() + wait
        return min(wait, self._jitter(self.interval))  # back next interval to keep the Lease and follow the KCD

    def _api_failed(self, err: Exception) -> float:
        self.api_failures += 1
        self._record(*leases.api_error(err))
        self._report(err, self.api_failures)
        return self._jitter(backoff.api_wait(self.api_failures, self.interval))

    def _report(self, err: Exception, in_a_row: int) -> None:
        kind = type(err).__name__
        self.observer.polled("error")
        self.observer.failed(kind)
        log.warning("poll failed (%s, %d in a row): %s", kind, in_a_row, err)

    def _record(self, error_class: str = "", message: str = "") -> None:
        at = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        self.outcome = syncerhealth.Outcome(at, error_class, message, self.requests)

    def _jitter(self, seconds: float) -> float:
        return seconds * (0.9 + 0.2 * self.rng())


def _sent(registry: registries.Registry) -> int | None:
    """The requests a client counted itself: the OCI transport counts each HTTP request (token fetches, retries)."""
    count = getattr(getattr(registry, "transport", None), "requests_sent", None)
    return count if isinstance(count, int) else None
