"""`kcd api` serves the app under gunicorn on 127.0.0.1, its store started in the worker."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.controller.fixtures import create, kcd_body, workload
from tests.env.procs import ProcGroup, free_port, wait_until

pytestmark = pytest.mark.cluster


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:  # noqa: S310 - loopback
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[ProcGroup]:
    group = ProcGroup(tmp_path / "logs")
    yield group
    group.stop()


def test_kcd_api_serves_the_workloads_on_a_loopback_port_once_ready(
    cluster: Any, kube_api: Any, namespace: str, rest_client: Any, procs: ProcGroup
) -> None:
    create(kube_api, namespace, workload("Deployment", "web", replicas=0))
    create(kube_api, namespace, kcd_body("web"))
    port = free_port()
    argv = [sys.executable, "-m", "kcd", "api", "--bind", f"127.0.0.1:{port}", "--kubeconfig", str(cluster.kubeconfig)]
    proc = procs.start("kcd-api", [*argv, "--namespace", namespace])

    wait_until(lambda: get(port, "/readyz")[0] == 200, what="kcd api /readyz", timeout=60, proc=proc)
    status, body = get(port, "/v1/kcd/workloads")
    pause = urllib.request.Request(f"http://127.0.0.1:{port}/v1/kcd/kcds/{namespace}/web/pause", b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(pause, timeout=5)  # noqa: S310 - loopback
    refused.value.close()

    assert status == 200
    assert [(i["Namespace"], i["Name"], i["CV"]) for i in json.loads(body)] == [(namespace, "web", "web")]
    assert get(port, "/healthz")[0] == 200
    assert refused.value.code == 404  # write actions are off by default


def test_the_server_caps_glibcs_malloc_arenas_before_gunicorn_starts_its_threads() -> None:
    from kcd.api import serve

    assert serve.malloc_arenas(serve.ARENAS) is True  # glibc (this image's libc) accepts M_ARENA_MAX
