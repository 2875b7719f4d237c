"""Fixtures shared by the controller's cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import crd
from tests.env.procs import ProcGroup


@pytest.fixture
def procs(kube_api: Any, tmp_path: Path) -> Iterator[ProcGroup]:
    """The KCD CRD installed, and a group for controller processes that this test starts (stopped after it)."""
    crd.install(kube_api)
    group = ProcGroup(tmp_path / "logs")
    yield group
    group.stop()
