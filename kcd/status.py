"""KCD status as frozen data: status.currStatus and friends, conditions, and the in-flight rollout (status.rollout).

Re-exported by kcd.model, which is where callers import it from. Reading is lenient (the controller wrote the status;
garbage in it is dropped, never raised); writing is complete: `to_dict()` emits every field, with null for unset ones,
so that one JSON merge patch of `status` replaces the previous values instead of mixing old and new.

  Status.from_dict(raw) -> Status;  Status.to_dict() -> dict
  RolloutState(version=, phase=, ...); .advance(phase, *, now) -> RolloutState; .to_dict(); RolloutState.from_dict(raw)
  Drift(corrections, since, stalled): status.drift
  condition(type, ok, reason, message, *, generation, now) -> Condition   (ok None means "Unknown")
  set_condition(conditions, new) -> tuple[Condition, ...]   (keeps lastTransitionTime while the status is unchanged)
  find_condition(conditions, type) -> Condition | None
  quarantine(failed_versions, *versions) -> tuple[str, ...]  (appends, capped at MAX_FAILED_VERSIONS, oldest dropped)
  format_time(datetime) -> str  (RFC 3339, UTC, whole seconds, "Z");  parse_time(str) -> datetime | None
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

MAX_FAILED_VERSIONS = 100  # the CRD's maxItems for status.failedVersions

_E = TypeVar("_E", bound=enum.StrEnum)


class CurrStatus(enum.StrEnum):
    """status.currStatus (the original's values)."""

    PROGRESSING = "Progressing"
    SUCCESS = "Success"
    FAILED = "Failed"


class Outcome(enum.StrEnum):
    """How a rollout ended (history records, status.rollout.outcome)."""

    SUCCESS = "Success"
    FAILED = "Failed"
    ROLLED_BACK = "RolledBack"
    SUPERSEDED = "Superseded"  # ended for a newer candidate, a spec edit or a manual rollback; not quarantined


class ConditionType(enum.StrEnum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    SYNCER_HEALTHY = "SyncerHealthy"  # contract.md; set from the syncer's Lease (the workloads API issue)


class Phase(enum.StrEnum):
    """status.rollout.phase: the step a rollout is in (the CRD's enum lists exactly these)."""

    VERIFYING = "Verifying"  # container.verify, before any patch
    PATCHING = "Patching"  # setting the image on the selected workloads
    WAITING = "Waiting"  # waiting for the workloads to roll out
    POST_VERIFYING = "PostVerifying"  # strategy.verify
    AWAITING_PROMOTION = "AwaitingPromotion"  # blue-green with promotion Manual: verified, waits for a person
    SWITCHING = "Switching"  # blue-green: switching the Service selector
    SCALING_DOWN = "ScalingDown"  # blue-green: scaling the old colour down
    ROLLING_BACK = "RollingBack"  # restoring successVersion after a failure
    RECORDING = "Recording"  # config ConfigMap, history, final status


class Reason(enum.StrEnum):
    """Condition and Event reasons (CamelCase, documented here only)."""

    ROLLOUT_STARTED = "RolloutStarted"
    ROLLOUT_PROGRESSING = "RolloutProgressing"
    ROLLOUT_SUCCEEDED = "RolloutSucceeded"
    ROLLOUT_FAILED = "RolloutFailed"
    ROLLOUT_TIMED_OUT = "RolloutTimedOut"
    ROLLED_BACK = "RolledBack"
    VERIFICATION_FAILED = "VerificationFailed"  # for verification (the blue-green issue)
    DRIFT_CORRECTED = "DriftCorrected"
    UP_TO_DATE = "UpToDate"
    PAUSED = "Paused"
    INVALID_SPEC = "InvalidSpec"
    WORKLOAD_NOT_FOUND = "WorkloadNotFound"
    CONTAINER_NOT_FOUND = "ContainerNotFound"
    INVALID_CANDIDATE = "InvalidCandidate"
    QUARANTINED = "Quarantined"
    CONFIG_UPDATE_FAILED = "ConfigUpdateFailed"
    HISTORY_UPDATE_FAILED = "HistoryUpdateFailed"
    API_ERROR = "APIError"
    SUPERSEDED = "Superseded"
    SPEC_CHANGED = "SpecChanged"
    HELD = "Held"
    MANUAL_ROLLBACK = "ManualRollback"
    OVERLAPPING_SELECTOR = "OverlappingSelector"
    DRIFT_CONFLICT = "DriftConflict"
    AWAITING_PROMOTION = "AwaitingPromotion"
    ABORTED = "Aborted"
    WORKLOAD_PAUSED = "WorkloadPaused"
    # SyncerHealthy (kcd.engine.syncers): True, False (a failing or a silent syncer), Unknown (none reported yet)
    SYNCERS_POLLING = "SyncersPolling"
    SYNCER_FAILING = "SyncerFailing"
    NO_LIVE_SYNCER = "NoLiveSyncer"
    SYNCER_NOT_REPORTED = "SyncerNotReported"


def format_time(when: datetime.datetime) -> str:
    """RFC 3339 in UTC with a Z and whole seconds (metav1.Time's format)."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime | None:
    """An RFC 3339 time (Z or offset, any fraction) as an aware datetime; None when empty or unreadable."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def _int(raw: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _enum(kind: type[_E], value: Any) -> _E | None:
    return kind(value) if isinstance(value, str) and value in set(kind) else None


@dataclasses.dataclass(frozen=True)
class Condition:
    """A metav1.Condition."""

    type: ConditionType
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str
    last_transition_time: str
    observed_generation: int = 0

    @property
    def is_true(self) -> bool:
        return self.status == "True"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": str(self.type),
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": self.last_transition_time,
            "observedGeneration": self.observed_generation,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Condition | None:
        if not isinstance(raw, Mapping) or (kind := _enum(ConditionType, raw.get("type"))) is None:
            return None
        status = raw.get("status")
        return cls(
            type=kind,
            status=status if status in ("True", "False", "Unknown") else "Unknown",
            reason=_str(raw, "reason"),
            message=_str(raw, "message"),
            last_transition_time=_str(raw, "lastTransitionTime"),
            observed_generation=_int(raw, "observedGeneration"),
        )


def condition(
    type: ConditionType,
    ok: bool | None,
    reason: str,
    message: str,
    *,
    generation: int,
    now: datetime.datetime,
) -> Condition:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return Condition(type, status, str(reason), message, format_time(now), generation)


def find_condition(conditions: Sequence[Condition], type: ConditionType) -> Condition | None:
    return next((c for c in conditions if c.type == type), None)


def set_condition(conditions: Sequence[Condition], new: Condition) -> tuple[Condition, ...]:
    """Replace (or append) the condition of new.type; an unchanged status keeps its lastTransitionTime."""
    old = find_condition(conditions, new.type)
    if old is not None and old.status == new.status and old.last_transition_time:
        new = dataclasses.replace(new, last_transition_time=old.last_transition_time)
    if old is None:
        return (*conditions, new)
    return tuple(new if c.type == new.type else c for c in conditions)


def quarantine(failed_versions: Sequence[str], *versions: str) -> tuple[str, ...]:
    """Append versions (a version and its digest: the same image under another tag stays out), oldest dropped."""
    added = [v for v in dict.fromkeys(versions) if v]
    kept = [v for v in failed_versions if v not in added]
    return tuple([*kept, *added][-MAX_FAILED_VERSIONS:])


@dataclasses.dataclass(frozen=True)
class RolloutState:
    """The in-flight rollout, persisted in status.rollout after every step so that a restarted controller resumes it.

    `image` is the reference being rolled out, fixed when the rollout starts (every step sends it to any selected
    workload that does not run it yet: late joiners, hand edits). `source` is the `imageRepo:tag` and `container` the
    container name the rollout started from: a spec edit of either ends the rollout (Superseded) and the next step
    starts over from the new spec. `paused_at` marks when a selected Deployment was found paused (the timeout clock
    stops meanwhile); `pods_deleted` that the rollback already deleted the StatefulSet pods stuck on the failed
    revision. Blue-green keeps its two colours (`live`, `idle`) and when it switched the live Service (`switched_at`).
    `outcome`/`reason`/`message` carry the result into the Recording phase.
    """

    version: str
    phase: Phase
    digest: str = ""
    image: str = ""
    source: str = ""
    container: str = ""
    started_at: str = ""
    phase_started_at: str = ""
    previous_version: str = ""
    paused_at: str = ""
    pods_deleted: bool = False
    live: str = ""  # blue-green: the Deployment that served traffic when the rollout started
    idle: str = ""  # blue-green: the Deployment the rollout sets up and switches traffic to
    switched_at: str = ""  # blue-green: when the live Service's selector was patched to the idle colour
    verify_index: int = 0  # the verification item (of container.verify or strategy.verify) being run
    verify_started_at: str = ""  # when that item started (its timeoutSeconds counts from here)
    verified: tuple[str, ...] = ()  # one line per verification passed ("Image team/check:stable passed")
    outcome: Outcome | None = None
    reason: str = ""
    message: str = ""

    @property
    def id(self) -> str:
        """Names this rollout for a person's decision on it (promote, abort): `<version>@<startedAt>`, so a decision
        never reaches a later rollout, even one started in the same second."""
        return f"{self.version}@{self.started_at}"

    def advance(self, phase: Phase, *, now: datetime.datetime) -> RolloutState:
        """The same rollout in `phase`, from now."""
        return dataclasses.replace(self, phase=phase, phase_started_at=format_time(now))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "digest": self.digest,
            "image": self.image,
            "source": self.source,
            "container": self.container,
            "phase": str(self.phase),
            "startedAt": self.started_at or None,
            "phaseStartedAt": self.phase_started_at or None,
            "previousVersion": self.previous_version,
            "pausedAt": self.paused_at or None,
            "podsDeleted": self.pods_deleted,
            "live": self.live,
            "idle": self.idle,
            "switchedAt": self.switched_at or None,
            "verifyIndex": self.verify_index,
            "verifyStartedAt": self.verify_started_at or None,
            "verified": list(self.verified),
            "outcome": None if self.outcome is None else str(self.outcome),
            "reason": self.reason,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> RolloutState | None:
        """None when there is no rollout (or it is unreadable: unknown phase, no version)."""
        if not isinstance(raw, Mapping) or not _str(raw, "version"):
            return None
        phase = _enum(Phase, raw.get("phase"))
        if phase is None:
            return None
        return cls(
            version=_str(raw, "version"),
            phase=phase,
            digest=_str(raw, "digest"),
            image=_str(raw, "image"),
            source=_str(raw, "source"),
            container=_str(raw, "container"),
            started_at=_str(raw, "startedAt"),
            phase_started_at=_str(raw, "phaseStartedAt"),
            previous_version=_str(raw, "previousVersion"),
            paused_at=_str(raw, "pausedAt"),
            pods_deleted=raw.get("podsDeleted") is True,
            live=_str(raw, "live"),
            idle=_str(raw, "idle"),
            switched_at=_str(raw, "switchedAt"),
            verify_index=_int(raw, "verifyIndex"),
            verify_started_at=_str(raw, "verifyStartedAt"),
            verified=tuple(v for v in raw.get("verified") or [] if isinstance(v, str))
            if isinstance(raw.get("verified"), list)
            else (),
            outcome=_enum(Outcome, raw.get("outcome")),
            reason=_str(raw, "reason"),
            message=_str(raw, "message"),
        )


@dataclasses.dataclass(frozen=True)
class Drift:
    """Drift corrections in the current window (status.drift): after too many, kcd stops fighting the other writer."""

    corrections: int = 0
    since: str = ""
    stalled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"corrections": self.corrections, "since": self.since or None, "stalled": self.stalled}

    @classmethod
    def from_dict(cls, raw: Any) -> Drift:
        if not isinstance(raw, Mapping):
            return cls()
        return cls(_int(raw, "corrections"), _str(raw, "since"), raw.get("stalled") is True)


@dataclasses.dataclass(frozen=True)
class Status:
    curr_version: str = ""
    curr_status: CurrStatus | None = None
    curr_status_time: str = ""
    success_version: str = ""
    observed_generation: int = 0
    conditions: tuple[Condition, ...] = ()
    failed_versions: tuple[str, ...] = ()
    held_versions: tuple[str, ...] = ()
    rollout: RolloutState | None = None
    drift: Drift = Drift()
    last_rollback: str = ""  # the kcd.io/rollback-requested-at value of the last manual rollback carried out

    def to_dict(self) -> dict[str, Any]:
        return {
            "currVersion": self.curr_version,
            "currStatus": None if self.curr_status is None else str(self.curr_status),
            "currStatusTime": self.curr_status_time or None,
            "successVersion": self.success_version,
            "observedGeneration": self.observed_generation,
            "conditions": [c.to_dict() for c in self.conditions],
            "failedVersions": list(self.failed_versions),
            "heldVersions": list(self.held_versions),
            "rollout": None if self.rollout is None else self.rollout.to_dict(),
            "drift": self.drift.to_dict(),
            "lastRollback": self.last_rollback or None,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Status:
        if not isinstance(raw, Mapping):
            return cls()
        conditions = raw.get("conditions") if isinstance(raw.get("conditions"), list) else []
        failed = raw.get("failedVersions") if isinstance(raw.get("failedVersions"), list) else []
        held = raw.get("heldVersions") if isinstance(raw.get("heldVersions"), list) else []
        return cls(
            curr_version=_str(raw, "currVersion"),
            curr_status=_enum(CurrStatus, raw.get("currStatus")),
            curr_status_time=_str(raw, "currStatusTime"),
            success_version=_str(raw, "successVersion"),
            observed_generation=_int(raw, "observedGeneration"),
            conditions=tuple(c for c in map(Condition.from_dict, conditions or []) if c is not None),
            failed_versions=tuple(v for v in failed or [] if isinstance(v, str)),
            held_versions=tuple(v for v in held or [] if isinstance(v, str)),
            rollout=RolloutState.from_dict(raw.get("rollout")),
            drift=Drift.from_dict(raw.get("drift")),
            last_rollback=_str(raw, "lastRollback"),
        )
