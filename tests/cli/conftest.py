"""Fixtures of the CLI's cluster tests: the CRD installed and a runner of `kcd …` against the local control plane."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kcd.cli import _load_commands, cli
from kcd.kube.api import Kube
from tests import crd

Run = Callable[..., Result]


@pytest.fixture
def kcd_cli(cluster: Any, kube_api: Any) -> Run:
    """`kcd_cli(*args, kube=None)`: run `kcd args --kubeconfig <test cluster>`; `kube` stands in for the connection."""
    crd.install(kube_api)
    _load_commands()

    def run(*args: str, kube: Kube | None = None) -> Result:
        argv = [*args, "--kubeconfig", str(cluster.kubeconfig)]
        return CliRunner().invoke(cli, argv, obj=kube, catch_exceptions=False)

    return run
