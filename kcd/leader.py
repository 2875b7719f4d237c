"""Leader election through a coordination.k8s.io/v1 Lease, as client-go does it: one active controller, others wait.

The holder renews the Lease every `retry_period`; a standby takes it over once `renewTime + leaseDurationSeconds` has
passed. Updates use the Lease's resourceVersion, so two candidates can never both win. On a graceful stop the holder
releases the Lease (empty holder) so a standby takes over at once instead of after the lease duration.
"""

from __future__ import annotations

import datetime
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from kcd.errors import ApiError, Conflict, NotFound
from kcd.kube import LEASES, Body, Kube

log = logging.getLogger("kcd.leader")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _fmt(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def default_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclass
class LeaderElector:
    kube: Kube
    namespace: str
    name: str = "kcd-controller"
    identity: str = field(default_factory=default_identity)
    lease_seconds: int = 15
    retry_period: float = 2.0
    clock: Callable[[], datetime.datetime] = _now
    is_leader: bool = False

    def _spec(self, acquire: str | None, transitions: int) -> Body:
        now = _fmt(self.clock())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.lease_seconds,
            "acquireTime": acquire or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def try_acquire_or_renew(self) -> bool:
        """One round of the election; True when this process holds the Lease afterwards."""
        try:
            lease = self.kube.get(LEASES, self.namespace, self.name)
        except NotFound:
            body = {"metadata": {"name": self.name, "namespace": self.namespace}, "spec": self._spec(None, 0)}
            try:
                self.kube.create(LEASES, self.namespace, body)
            except (Conflict, ApiError) as err:
                log.debug("lease create lost: %s", err)
                return False
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            new_spec = self._spec(spec.get("acquireTime"), transitions)
        else:
            renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
            duration = int(spec.get("leaseDurationSeconds") or self.lease_seconds)
            expired = renewed is None or self.clock() > renewed + datetime.timedelta(seconds=duration)
            if holder and not expired:
                return False
            new_spec = self._spec(None, transitions + 1)
        lease["spec"] = new_spec
        try:
            self.kube.replace(LEASES, self.namespace, self.name, lease)  # carries resourceVersion: optimistic lock
        except (Conflict, ApiError) as err:
            log.debug("lease update lost: %s", err)
            return False
        return True

    def release(self) -> None:
        if not self.is_leader:
            return
        try:
            lease = self.kube.get(LEASES, self.namespace, self.name)
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"].update({"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _fmt(self.clock())})
                self.kube.replace(LEASES, self.namespace, self.name, lease)
        except ApiError as err:
            log.warning("could not release the lease: %s", err)
        self.is_leader = False

    def wait_for_leadership(self, stop: threading.Event) -> bool:
        """Block until this process leads (True) or `stop` is set (False)."""
        while not stop.is_set():
            if self.try_acquire_or_renew():
                self.is_leader = True
                log.info("acquired leadership", extra={"lease": f"{self.namespace}/{self.name}", "id": self.identity})
                return True
            stop.wait(self.retry_period)
        return False

    def keep_renewing(self, stop: threading.Event, on_lost: Callable[[], None]) -> None:
        """Renew until `stop`; call `on_lost` when a renewal has not succeeded for a whole lease duration."""
        last_ok = self.clock()
        while not stop.wait(self.retry_period):
            try:
                ok = self.try_acquire_or_renew()
            except Exception as err:  # noqa: BLE001 - any failure to renew counts the same
                log.warning("lease renewal failed: %s", err)
                ok = False
            if ok:
                last_ok = self.clock()
            elif (self.clock() - last_ok).total_seconds() > self.lease_seconds * 2 / 3:
                # Stop acting before the lease can have expired for the others (client-go's renewDeadline).
                self.is_leader = False
                log.error("lost leadership", extra={"lease": f"{self.namespace}/{self.name}", "id": self.identity})
                on_lost()
                return
