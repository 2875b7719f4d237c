"""Fixtures of the syncer's unit tests: a fake clock and a fake registry where abc1234 is tagged env-prod."""

from __future__ import annotations

import pytest

from tests.sidecar.fakes import DIGEST_A, Clock, FakeRegistry


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg() -> FakeRegistry:
    r = FakeRegistry()
    r.push(DIGEST_A, "abc1234", "env-prod")
    return r
