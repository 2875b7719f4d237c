"""The syncer serves exactly the workload kinds kcd manages (kcd.kinds): others are refused at startup, and each kind
is read and patched at its own API path (checked against a recording HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kcd import kinds
from sidecar import kubeapi, leases
from sidecar.__main__ import settings_from

ENV = {"KCD_NAMESPACE": "ns", "KCD_NAME": "web", "KCD_WORKLOAD_NAME": "web", "POD_NAME": "web-0"}


@pytest.mark.parametrize("kind", ["ReplicaSet", "job", "Pod", "deploy"])
def test_a_workload_kind_kcd_does_not_manage_is_refused_at_startup(kind: str) -> None:
    with pytest.raises(ValueError, match="^KCD_WORKLOAD_KIND") as caught:
        settings_from({**ENV, "KCD_WORKLOAD_KIND": kind})
    assert str(caught.value).endswith("is not one of Deployment, StatefulSet, DaemonSet, CronJob")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Deployment", "deployment"),
        ("DEPLOYMENTS", "deployment"),
        ("statefulsets", "statefulset"),
        ("CronJob", "cronjob"),
    ],
)
def test_a_workload_kind_is_recognised_by_name_or_plural_in_any_case(text: str, kind: str) -> None:
    assert settings_from({**ENV, "KCD_WORKLOAD_KIND": text}).workload_kind == kind


def test_replicas_configured_with_different_spellings_of_the_kind_share_one_lease() -> None:
    names = {settings_from({**ENV, "KCD_WORKLOAD_KIND": text}).lease for text in ("Deployment", "deployments")}
    assert names == {leases.lease_name("deployment", "web")}


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path))
        body = json.dumps({"metadata": {"name": "web"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PATCH = _answer  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[kubeapi.KubeApi]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = kubeapi.KubeApi(f"http://127.0.0.1:{server.server_address[1]}")
    yield client
    client.close()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", kinds.WORKLOAD_KINDS, ids=kinds.NAMES)
def test_each_managed_kind_is_read_and_patched_at_its_own_api_path(kind: kinds.Kind, api: kubeapi.KubeApi) -> None:
    api.get_workload("ns", kind.name.lower(), "web")
    api.annotate_workload("ns", kind.name.lower(), "web", {"kcd.io/candidate-version": "abc1234"})
    path = f"/apis/{kind.group}/{kind.version}/namespaces/ns/{kind.plural}/web"
    assert _Recorder.seen == [("GET", path), ("PATCH", path)]
