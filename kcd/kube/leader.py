"""Leader election through a coordination.k8s.io/v1 Lease, as client-go does it: one active controller, others wait.

The holder renews the Lease every `retry_period`; a standby takes it over once `renewTime + leaseDurationSeconds` has
passed. Updates use the Lease's resourceVersion, so two candidates can never both win. On a graceful stop the holder
releases the Lease (empty holder) so a standby takes over at once instead of after the lease duration.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from kcd import lease
from kcd.errors import ApiError, NotFound
from kcd.kube.api import LEASES, Kube

log = logging.getLogger("kcd.kube.leader")


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
    clock: Callable[[], float] = time.time
    is_leader: bool = False
    # Called after each round of the election the API server answered (won or not): the process's liveness and a
    # standby's readiness follow it (kcd.controller.probes).
    on_answer: Callable[[], None] = lambda: None

    def try_acquire_or_renew(self) -> bool:
        """One round of the election; True when this process holds the Lease afterwards."""
        now = self.clock()
        try:
            current = self.kube.get(LEASES, self.namespace, self.name)
        except NotFound:
            body = lease.new_lease(self.namespace, self.name, self.identity, now, self.lease_seconds)
            return self._write(lambda: self.kube.create(LEASES, self.namespace, body))
        if lease.holder(current) != self.identity and not lease.expired(current, now):
            return False
        updated = lease.taken(current, self.identity, now, self.lease_seconds)
        # The body carries the resourceVersion we read: of two candidates, one wins and the other gets a conflict.
        return self._write(lambda: self.kube.replace(LEASES, self.namespace, self.name, updated))

    @staticmethod
    def _write(write: Callable[[], object]) -> bool:
        try:
            write()
        except ApiError as err:  # Conflict included: another candidate won
            log.debug("lease write lost: %s", err)
            return False
        return True

    def release(self) -> None:
        if not self.is_leader:
            return
        try:
            current = self.kube.get(LEASES, self.namespace, self.name)
            if lease.holder(current) == self.identity:
                self.kube.replace(LEASES, self.namespace, self.name, lease.released(current, self.clock()))
        except ApiError as err:
            log.warning("could not release the lease: %s", err)
        self.is_leader = False

    def wait_for_leadership(self, stop: threading.Event) -> bool:
        """Block until this process leads (True) or `stop` is set (False)."""
        while not stop.is_set():
            won = self.try_acquire_or_renew()
            self.on_answer()
            if won:
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
                self.on_answer()
            elif self.clock() - last_ok > self.lease_seconds * 2 / 3:
                # Stop acting before the lease can have expired for the others (client-go's renewDeadline).
                self.is_leader = False
                log.error("lost leadership", extra={"lease": f"{self.namespace}/{self.name}", "id": self.identity})
                on_lost()
                return
