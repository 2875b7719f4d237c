"""A person's rollback (`kcd rollout rollback`): it holds what it rolls away from, so the next poll does not redeploy
it, then rolls the target out like any version. Pure.

The CLI writes kcd.io/rollback-to and kcd.io/rollback-requested-at on the KCD; each requested-at value is carried out
once (status.lastRollback). An in-flight rollout is superseded by it (recorded, not quarantined).
"""

from __future__ import annotations

import dataclasses

from kcd import images
from kcd.engine import candidates
from kcd.engine.outcome import supersede
from kcd.engine.plan import Emit, Plan, WriteStatus
from kcd.engine.start import new_rollout, start
from kcd.engine.view import View
from kcd.model import ROLLBACK_BY, ROLLBACK_REQUESTED_AT, ROLLBACK_TO, Reason, quarantine


def requested(view: View) -> bool:
    kcd = view.kcd
    at = kcd.annotations.get(ROLLBACK_REQUESTED_AT, "")
    return bool(at) and at != kcd.status.last_rollback and bool(kcd.annotations.get(ROLLBACK_TO))


def rollback(view: View) -> Plan:
    """`kcd rollout rollback`: hold what is rolled away from (it sticks), then roll out the target like any version."""
    kcd = view.kcd
    target, by = kcd.annotations[ROLLBACK_TO], kcd.annotations.get(ROLLBACK_BY, "someone")
    handled = dataclasses.replace(kcd.status, last_rollback=kcd.annotations[ROLLBACK_REQUESTED_AT])
    problem = (
        candidates.reference_problem(kcd.spec.image_repo, target)
        if images.is_tag(target) or images.is_digest(target)
        else f"{target[:80]!r} is neither a tag nor a digest"
    )
    live, current = kcd.status.success_version, kcd.status.rollout
    if problem or (target == live and current is None):
        message = f"rollback to {target[:80]} requested by {by} not carried out: " + (
            problem or "it is the live version"
        )
        return Plan(actions=(WriteStatus(handled), Emit(Reason.MANUAL_ROLLBACK, message, True, target)))
    held = [
        v for v in (live, current.version if current else "", current.digest if current else "") if v and v != target
    ]
    handled = dataclasses.replace(
        handled,
        held_versions=quarantine([v for v in handled.held_versions if v != target], *held),
        failed_versions=tuple(v for v in handled.failed_versions if v != target),
    )
    message = f"manual rollback to {target} requested by {by}; holding {', '.join(held) or 'nothing'}"
    nxt = new_rollout(view, target, "", reason=Reason.MANUAL_ROLLBACK, message=message)
    if current is not None:
        return supersede(view, current, reason=Reason.MANUAL_ROLLBACK, message=message, status=handled, nxt=nxt)
    return start(view, nxt, status=handled, reason=Reason.MANUAL_ROLLBACK)
