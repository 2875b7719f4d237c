"""Strategies: one small, pure state machine per `spec.strategy.kind`, chosen by `for_spec`.

A strategy owns the phases between the start of a rollout and its Recording: `first_phase` is where a new rollout
begins, `step(view, rollout)` runs the phase the rollout is in (including its own RollingBack). Starting, superseding,
the timeout and the Recording are the engine's (kcd.engine.rollout, kcd.engine.outcome), shared by all strategies.
"""

from __future__ import annotations

from typing import Protocol

from kcd.engine.plan import Plan
from kcd.engine.view import View, Workload
from kcd.model import Phase, RolloutState, Spec, StrategyKind


class Strategy(Protocol):
    @property
    def first_phase(self) -> Phase: ...

    @property
    def phases(self) -> frozenset[Phase]: ...  # the phases `step` runs

    def problem(self, view: View) -> str:
        """Why the selected workloads cannot be rolled out this way ("" when they can): a Stalled message."""
        ...

    def live_workloads(self, view: View) -> tuple[Workload, ...]:
        """The workloads that must run the live version (drift correction looks at these)."""
        ...

    def step(self, view: View, rollout: RolloutState) -> Plan: ...

    def verified(self, view: View, rollout: RolloutState) -> Plan:
        """strategy.verify passed (PostVerifying): what follows (Simple: the record; blue-green: the switch)."""
        ...

    def fail(self, view: View, rollout: RolloutState, *, reason: str, message: str) -> Plan:
        """A failed rollout (timeout, lost selection, refused write, failed workload): how this strategy ends it."""
        ...


def for_spec(spec: Spec) -> Strategy | None:
    """The strategy for the spec, or None when this controller cannot run it yet."""
    from kcd.engine.strategies import bluegreen, simple

    if spec.strategy.kind is StrategyKind.SIMPLE:
        return simple.SIMPLE
    if spec.strategy.kind is StrategyKind.SERVICE_BLUE_GREEN:
        return bluegreen.BLUE_GREEN
    return None
