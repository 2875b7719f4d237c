"""A person's requests on a KCD as patches: what `kcd rollout rollback|clear|pause|resume|promote|abort` and the API's
actions write. Pure: stdlib, kcd.model and kcd.history; the caller reads the KCD, applies the patch and reports.

Every function takes the KCD body as read (a mapping: metadata, spec, status) and returns a `Change`:

  Change(patch: dict, status: bool, summary: str)
      `patch` is a JSON merge patch; `status` True means it goes to the status subresource, False to the object
      itself (annotations). `summary` is the one line to show a person. Apply it conditionally on the body's
      metadata.resourceVersion (the controller writes the same object) and, on a conflict, call again on a fresh read.

  rollback(kcd, records, *, to, who, now) -> Change       annotations kcd.io/rollback-to|-requested-at|-by
      `records`: the history (kcd.history.Record) of the KCD's selected workloads, any order; used only when `to` is
      None, to default the target to the newest earlier Success (not live, held or quarantined; other KCDs' records
      skipped). `who` names the requester in kcd.io/rollback-by. `now` (aware) is the request's time.
  previous_version(kcd, records) -> str                   that default target (raises NotApplicable when none)
  clear(kcd, *, version) -> Change                        status: version None clears every quarantined and held
                                                          version and the drift count; else only that version
  pause(kcd) -> Change / resume(kcd) -> Change            annotation kcd.io/paused
  promote(kcd) -> Change / abort(kcd) -> Change           annotation kcd.io/promote|abort = the rollout's id

Bad requests raise `OperationError` (a ValueError) with a one-line message naming the KCD: `InvalidInput` for input that
can never be valid (a version that is neither a tag nor a digest), `NotApplicable` for a request the KCD's current state
refuses (already live, nothing in flight, not quarantined, no earlier version in history).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from kcd import images
from kcd.history import Record
from kcd.model import (
    ABORT,
    PAUSED,
    PROMOTE,
    ROLLBACK_BY,
    ROLLBACK_REQUESTED_AT,
    ROLLBACK_TO,
    Drift,
    Outcome,
    Phase,
    RolloutState,
    Status,
    format_time,
    parse_time,
)

_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)


class OperationError(ValueError):
    """A request that cannot be carried out; the message is one line for a person."""


class InvalidInput(OperationError):
    """The request itself is malformed (an API answers 400)."""


class NotApplicable(OperationError):
    """The request does not apply to the KCD as it is now (an API answers 409)."""


@dataclasses.dataclass(frozen=True)
class Change:
    patch: dict[str, Any]  # a JSON merge patch
    status: bool  # True: for the status subresource; False: for the object (metadata)
    summary: str  # one line for a person


def key_of(kcd: Mapping[str, Any]) -> str:
    """namespace/name of a KCD body."""
    meta = kcd.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _annotations(kcd: Mapping[str, Any]) -> Mapping[str, Any]:
    return (kcd.get("metadata") or {}).get("annotations") or {}


def _status(kcd: Mapping[str, Any]) -> Status:
    return Status.from_dict(kcd.get("status"))


def _annotate(notes: dict[str, str | None], summary: str) -> Change:
    return Change({"metadata": {"annotations": notes}}, status=False, summary=summary)


def check_version(value: str) -> str:
    """`value` when it is a tag or a sha256 digest, else InvalidInput."""
    if not (images.is_tag(value) or images.is_digest(value)):
        raise InvalidInput(f"{value[:80]!r} is not a valid tag or sha256 digest")
    return value


# --- rollback


def previous_version(kcd: Mapping[str, Any], records: Sequence[Record]) -> str:
    """The newest Success in `records` this KCD may go back to: not live, held or quarantined, not another KCD's."""
    st, name = _status(kcd), (kcd.get("metadata") or {}).get("name") or ""
    skip = {st.success_version, *st.held_versions, *st.failed_versions}
    ours = [r for r in records if r.kcd in ("", name) and r.outcome is Outcome.SUCCESS and r.version not in skip]
    if not ours:
        searched = sorted({f"{r.type.lower()}/{r.name}" for r in records}) or ["no records"]
        raise NotApplicable(
            f"no previous version of {key_of(kcd)} in the history of its workloads ({', '.join(searched)}); "
            "name one with --to"
        )
    return max(ours, key=lambda r: parse_time(r.time) or _EPOCH).version


def rolled_away_from(st: Status, target: str) -> list[str]:
    """What the controller will hold: the live version and the one in flight with its digest, less the target."""
    current = st.rollout
    versions = (st.success_version, current.version if current else "", current.digest if current else "")
    return [v for v in dict.fromkeys(versions) if v and v != target]


def requested_at(kcd: Mapping[str, Any], now: datetime.datetime) -> str:
    """Now, or just after the previous request: the controller carries out each value once, so a new request (even
    one made in the same second) must carry a new, later time."""
    previous = parse_time(str(_annotations(kcd).get(ROLLBACK_REQUESTED_AT) or ""))
    if previous is not None and previous >= now.replace(microsecond=0):
        now = previous + datetime.timedelta(seconds=1)
    return format_time(now)


def rollback(
    kcd: Mapping[str, Any], records: Sequence[Record], *, to: str | None, who: str, now: datetime.datetime
) -> Change:
    """Ask the controller to roll back to `to` (None: the previous live version from `records`)."""
    st = _status(kcd)
    target = check_version(to) if to is not None else previous_version(kcd, records)
    if target == st.success_version and st.rollout is None:
        raise NotApplicable(f"{target} is already live on {key_of(kcd)}")
    notes: dict[str, str | None] = {
        ROLLBACK_TO: target,
        ROLLBACK_REQUESTED_AT: requested_at(kcd, now),
        ROLLBACK_BY: who or "unknown",
    }
    held = ", ".join(rolled_away_from(st, target)) or "nothing"
    name = (kcd.get("metadata") or {}).get("name") or ""
    return _annotate(notes, f"rollback of {name} to {target} requested (held: {held})")


# --- clear


def clear(kcd: Mapping[str, Any], *, version: str | None) -> Change:
    """Let the controller deploy quarantined and held versions again (`version` None: all, and reset the drift)."""
    st = _status(kcd)
    if version is not None and version not in (*st.failed_versions, *st.held_versions):
        quarantined, held = ", ".join(st.failed_versions) or "none", ", ".join(st.held_versions) or "none"
        raise NotApplicable(
            f"{version} is not quarantined or held on {key_of(kcd)} (quarantined: {quarantined}; held: {held})"
        )

    def keep(versions: Sequence[str]) -> list[str]:
        return [v for v in versions if version is not None and v != version]

    patch: dict[str, Any] = {"failedVersions": keep(st.failed_versions), "heldVersions": keep(st.held_versions)}
    if version is None:
        patch["drift"] = Drift().to_dict()  # since: null removes the window's start
    return Change({"status": patch}, status=True, summary=f"cleared {_cleared(st, patch)} on {key_of(kcd)}")


def _cleared(before: Status, new: Mapping[str, Any]) -> str:
    parts = []
    if gone := [v for v in before.failed_versions if v not in new["failedVersions"]]:
        parts.append(f"quarantined {', '.join(gone)}")
    if gone := [v for v in before.held_versions if v not in new["heldVersions"]]:
        parts.append(f"held {', '.join(gone)}")
    if "drift" in new and (before.drift.corrections or before.drift.stalled):
        parts.append(f"the drift count ({before.drift.corrections}{', stalled' if before.drift.stalled else ''})")
    return "; ".join(parts) or "nothing"


# --- pause, resume


def pause(kcd: Mapping[str, Any]) -> Change:
    """Start no new rollouts (a running one finishes) and correct no drift."""
    was = " (it already was)" if _annotations(kcd).get(PAUSED) == "true" else ""
    return _annotate({PAUSED: "true"}, f"kcd {key_of(kcd)} paused{was}")


def resume(kcd: Mapping[str, Any]) -> Change:
    """Allow rollouts again."""
    was = "" if PAUSED in _annotations(kcd) else " (it was not paused)"
    return _annotate({PAUSED: None}, f"kcd {key_of(kcd)} resumed{was}")


# --- promote, abort


def _in_flight(kcd: Mapping[str, Any]) -> RolloutState:
    current = _status(kcd).rollout
    if current is None:
        raise NotApplicable(f"no rollout is in flight on {key_of(kcd)}")
    return current


def promote(kcd: Mapping[str, Any]) -> Change:
    """Let a blue-green rollout waiting in AwaitingPromotion switch."""
    current = _in_flight(kcd)
    if current.phase is not Phase.AWAITING_PROMOTION:
        raise NotApplicable(
            f"the rollout of {current.version} on {key_of(kcd)} is in {current.phase}, not AwaitingPromotion: "
            "nothing to promote"
        )
    return _annotate({PROMOTE: current.id}, f"promotion of {current.version} on {key_of(kcd)} requested")


def abort(kcd: Mapping[str, Any]) -> Change:
    """End the rollout in flight as failed."""
    current = _in_flight(kcd)
    return _annotate({ABORT: current.id}, f"abort of {current.version} on {key_of(kcd)} requested")
