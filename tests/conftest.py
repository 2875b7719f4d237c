"""Session fixtures: the real local environment (control plane, registries, moto ECR), started once per test run.

Set KCD_TEST_KUBECONFIG to run the cluster tests against an existing cluster (kind, k3d) instead of the local one.
A missing binary fails the tests that need it with one line saying how to build it; nothing is skipped silently.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.env import cluster as cluster_mod
from tests.env import ecr as ecr_mod
from tests.env import registry as registry_mod
from tests.env.procs import EnvError, ProcGroup

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(address: Any) -> None:
    if not isinstance(address, tuple):
        return  # AF_UNIX paths
    host = address[0]
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ConnectionRefusedError(f"test network guard: connection to {host} refused (loopback only)")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _loopback_only(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _loopback_only(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection from the test process to a non-loopback address (pod IPs and ClusterIPs are not hosts)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(scope="session")
def env_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kcd-env")


@pytest.fixture(scope="session")
def cluster(env_dir: Path) -> Iterator[cluster_mod.Cluster]:
    try:
        started = cluster_mod.from_env(env_dir / "cluster")
    except EnvError as err:
        pytest.fail(f"local control plane: {err}", pytrace=False)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def kube_api(cluster: cluster_mod.Cluster) -> Iterator[Any]:
    from tests.env.kubeready import api_client

    api = api_client(cluster)
    yield api
    api.close()


@pytest.fixture
def namespace(kube_api: Any) -> Iterator[str]:
    from kubernetes import client

    name = f"t-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture(scope="session")
def registry_procs(env_dir: Path) -> Iterator[ProcGroup]:
    procs = ProcGroup(env_dir / "registry-logs")
    yield procs
    procs.stop()


_registries: dict[str, registry_mod.Registry] = {}


@pytest.fixture(params=["anonymous", "htpasswd", "token"])
def registry(request: pytest.FixtureRequest, registry_procs: ProcGroup, env_dir: Path) -> registry_mod.Registry:
    """The local docker-registry in each auth mode (each started once per session)."""
    mode = request.param
    if mode not in _registries:
        try:
            _registries[mode] = registry_mod.start(registry_procs, env_dir, mode)
        except EnvError as err:
            pytest.fail(f"local registry: {err}", pytrace=False)
    return _registries[mode]


@pytest.fixture(scope="session")
def moto_ecr() -> Iterator[ecr_mod.MotoEcr]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log is noise in test output
    server = ecr_mod.start()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On failure, attach the tails of the environment's and the controllers' logs to the report."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            procs = getattr(value, "procs", None)
            proc = getattr(value, "proc", None)
            if isinstance(procs, ProcGroup) and procs.procs:
                report.sections.append((f"logs of {name}", procs.logs(lines=12)))
            elif proc is not None and hasattr(proc, "tail"):
                report.sections.append((f"log of {name}", f"--- {proc.log} ---\n{proc.tail(40)}"))
    return report
