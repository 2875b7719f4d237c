"""Verification on the local control plane: Image Jobs (kwok runs their pods to success or failure on demand) and HTTP
checks against small servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.controller import kcdrun
from tests.controller.fixtures import (
    REPO,
    VERSION_SYNTAX,
    announce,
    create,
    history,
    image_of,
    kcd_body,
    kcd_status,
    verification_jobs,
    wait_status,
    workload,
)
from tests.controller.test_bluegreen import bg_kcd, colours, ready_endpoints
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster


class Answering(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(self.server.answer)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def health() -> Iterator[Any]:
    """An HTTP server on 127.0.0.1 whose answer the test sets (`server.answer`)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    server.answer = 500  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: Any) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/health"


@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
@pytest.mark.parametrize(("image", "outcome"), [("team/check", "Success"), ("team/check-fault-fail", "Failed")])
def test_an_image_verification_job_decides_before_anything_is_deployed(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, registry: Any, image: str, outcome: str
) -> None:
    from tests.env import pusher

    pushed = pusher.push_image(pusher.RegistryClient(registry.url), image, ["stable"])
    create(kube_api, namespace, workload("Deployment", "checked"))
    repo = f"{registry.host}/{image}"
    verify = [{"kind": "Image", "image": repo, "tag": "stable", "timeoutSeconds": 60}]
    create(
        kube_api,
        namespace,
        kcd_body("checked", versionSyntax=VERSION_SYNTAX, container={"name": "app", "verify": verify}),
    )
    announce(kube_api, namespace, "Deployment", "checked", "v-2")
    wait_status(kube_api, namespace, "checked", timeout=90, currStatus=outcome, currVersion="v-2", rollout=None)
    [job] = verification_jobs(kube_api, namespace)  # one Job, owned by the KCD, with the version under test
    assert job.metadata.owner_references[0].kind == "KCD" and job.spec.ttl_seconds_after_finished == 600
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["KCD_VERSION"] == "v-2"
    assert job.spec.template.spec.containers[0].image == f"{repo}@{pushed.digest}"  # the tag, resolved and pinned
    deployed = image_of(kube_api, namespace, "Deployment", "checked")
    assert deployed == (f"{REPO}:v-2" if outcome == "Success" else f"{REPO}:aaaaa11")
    [record] = history(kube_api, namespace, "checked")
    assert record["outcome"] == outcome and ("passed" in record["reason"] or "failed" in record["reason"])


def test_a_verification_job_that_never_finishes_fails_after_its_timeout(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    create(kube_api, namespace, workload("Deployment", "slow"))
    verify = [{"kind": "Image", "image": "team/check-fault-never-ready", "timeoutSeconds": 5}]
    create(
        kube_api, namespace, kcd_body("slow", versionSyntax=VERSION_SYNTAX, container={"name": "app", "verify": verify})
    )
    announce(kube_api, namespace, "Deployment", "slow", "v-2")
    wait_status(kube_api, namespace, "slow", timeout=60, currStatus="Failed", rollout=None)
    assert "did not finish within timeoutSeconds=5" in history(kube_api, namespace, "slow")[0]["reason"]
    assert len(verification_jobs(kube_api, namespace)) == 1


def test_an_http_check_after_the_rollout_rolls_back_when_the_service_answers_500(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, health: Any
) -> None:
    create(kube_api, namespace, workload("Deployment", "api"))
    verify = [{"kind": "HTTP", "url": _url(health), "expectStatus": 200, "timeoutSeconds": 6}]
    body = kcd_body(
        "api", versionSyntax=VERSION_SYNTAX, rollback={"enabled": True}, strategy={"kind": "Simple", "verify": verify}
    )
    create(kube_api, namespace, body)
    health.answer = 200
    announce(kube_api, namespace, "Deployment", "api", "v-2", when="2026-11-26T12:00:00Z")
    wait_status(kube_api, namespace, "api", timeout=60, currStatus="Success", successVersion="v-2")
    health.answer = 500
    announce(kube_api, namespace, "Deployment", "api", "v-3", when="2026-11-26T12:01:00Z")
    wait_status(kube_api, namespace, "api", timeout=60, currStatus="Failed", currVersion="v-3", rollout=None)
    assert image_of(kube_api, namespace, "Deployment", "api") == f"{REPO}:v-2"
    assert [r["outcome"] for r in history(kube_api, namespace, "api")] == ["RolledBack", "Success"]
    assert "answered 500" in history(kube_api, namespace, "api")[0]["reason"]


def test_blue_green_with_a_failing_check_never_switches_traffic(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, health: Any
) -> None:
    colours(kube_api, namespace)
    body = bg_kcd(verificationServiceName="web-test")
    body["spec"]["strategy"]["verify"] = [{"kind": "HTTP", "url": _url(health), "timeoutSeconds": 6}]
    create(kube_api, namespace, body)
    announce(kube_api, namespace, "Deployment", "web-blue", "good-1")
    wait_status(kube_api, namespace, "web", timeout=90, currStatus="Failed", rollout=None)
    live = client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector
    assert live == {"app": "web", "colour": "blue"}
    wait_until(lambda: len(ready_endpoints(kube_api, namespace, "web")) == 2, what="blue still serving", timeout=30)
    assert "good-1" in kcd_status(kube_api, namespace, "web")["failedVersions"]


class Hanging(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.release.wait(30)  # type: ignore[attr-defined]

    def log_message(self, *_: Any) -> None:
        pass


def test_an_http_check_against_a_hanging_server_fails_within_its_timeout_without_blocking_steps(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    server.release = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        create(kube_api, namespace, workload("Deployment", "hang"))
        verify = [{"kind": "HTTP", "url": _url(server), "timeoutSeconds": 6}]
        body = kcd_body("hang", versionSyntax=VERSION_SYNTAX, strategy={"kind": "Simple", "verify": verify})
        create(kube_api, namespace, body)
        announce(kube_api, namespace, "Deployment", "hang", "v-2")
        wait_status(kube_api, namespace, "hang", timeout=60, currStatus="Failed", currVersion="v-2", rollout=None)
        assert "timed out" in history(kube_api, namespace, "hang")[0]["reason"]
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def test_blue_green_switches_back_when_a_post_switch_check_fails_during_the_bake(
    controller: kcdrun.Controller, kube_api: Any, namespace: str, health: Any
) -> None:
    colours(kube_api, namespace)
    body = bg_kcd(verificationServiceName="web-test", bakeSeconds=60)
    body["spec"]["strategy"]["verify"] = [{"kind": "HTTP", "url": _url(health), "timeoutSeconds": 20}]
    create(kube_api, namespace, body)
    health.answer = 200
    announce(kube_api, namespace, "Deployment", "web-blue", "good-1")

    def selects(value: str) -> bool:
        return bool(
            client.CoreV1Api(kube_api).read_namespaced_service("web", namespace).spec.selector["colour"] == value
        )

    wait_until(lambda: selects("green"), what="switched to green", timeout=60)
    health.answer = 503  # the new colour misbehaves under real traffic
    wait_status(kube_api, namespace, "web", timeout=60, currStatus="Failed", rollout=None)
    assert selects("blue")
    wait_until(lambda: len(ready_endpoints(kube_api, namespace, "web")) == 2, what="blue serving again", timeout=30)
    assert [r["outcome"] for r in history(kube_api, namespace, "web-green")] == ["RolledBack"]
