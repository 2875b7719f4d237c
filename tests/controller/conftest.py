"""Fixtures shared by the controller's cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import crd
from tests.controller import kcdrun
from tests.env.procs import ProcGroup


@pytest.fixture
def procs(kube_api: Any, tmp_path: Path) -> Iterator[ProcGroup]:
    """The KCD CRD installed, and a group for controller processes that this test starts (stopped after it)."""
    crd.install(kube_api)
    group = ProcGroup(tmp_path / "logs")
    yield group
    group.stop()


@pytest.fixture(scope="module")
def controller(cluster: Any, kube_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[kcdrun.Controller]:
    """One controller watching every namespace for the tests of a module (each test uses a namespace of its own)."""
    crd.install(kube_api)
    group = ProcGroup(tmp_path_factory.mktemp("controller-logs"))
    ctl = kcdrun.start(group, Path(cluster.kubeconfig))
    yield ctl
    group.stop()
