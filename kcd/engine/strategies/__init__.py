"""Strategies: one small, pure state machine per `spec.strategy.kind`, chosen by `for_spec`.

A strategy owns the phases between the start of a rollout and its Recording: `first_phase` is where a new rollout
begins, `step(view, rollout)` runs the phase the rollout is in (including its own RollingBack). Starting, superseding,
the timeout and the Recording are the engine's (kcd.engine.rollout, kcd.engine.outcome), shared by all strategies.
"""

from __future__ import annotations

from typing import Protocol

from kcd.engine.plan import Plan
from kcd.engine.view import View
from kcd.model import Phase, RolloutState, Spec, StrategyKind


class Strategy(Protocol):
    @property
    def first_phase(self) -> Phase: ...

    @property
    def phases(self) -> frozenset[Phase]: ...  # the phases `step` runs

    def step(self, view: View, rollout: RolloutState) -> Plan: ...


def for_spec(spec: Spec) -> Strategy | None:
    """The strategy for the spec, or None when this controller cannot run it yet."""
    from kcd.engine.strategies import simple

    if spec.strategy.kind is StrategyKind.SIMPLE:
        return simple.SIMPLE
    return None
