"""GET /v1/kcd/workloads and /v1/kcd/workloads/<name> on the local control plane, read from the watch-backed store."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client

from kcd import history
from kcd.model import Outcome
from tests.api.conftest import StartApi
from tests.controller.fixtures import create, kcd_body, set_status, workload
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster
ORIGINAL_KEYS = ["Namespace", "Name", "Type", "Container", "Version", "AvailablePods", "CV", "Tag"]


def managed(api: Any, namespace: str, kind: str, name: str, version: str = "aaaaa11") -> None:
    create(api, namespace, workload(kind, name, image=f"127.0.0.1:5000/team/app:{version}", replicas=1))
    create(api, namespace, kcd_body(name))


def record(version: str, when: str, outcome: Outcome = Outcome.SUCCESS) -> history.Record:
    return history.Record(
        version=version, time=when, kcd="web", type="Deployment", name="web", container="app", outcome=outcome
    )


def write_history(api: Any, namespace: str, records: list[history.Record]) -> None:
    body = history.configmap(namespace=namespace, workload="web", records=records)
    client.CoreV1Api(api).create_namespaced_config_map(namespace, body)


def items_of(app: Any, namespace: str) -> list[dict[str, Any]]:
    resp = app.test_client().get(f"/v1/kcd/workloads?namespace={namespace}")
    assert resp.status_code == 200, resp.data
    return list(resp.json)


def test_each_managed_workload_is_one_item_with_the_original_keys_first(
    kube_api: Any, namespace: str, start_api: StartApi
) -> None:
    for kind, name in (("Deployment", "web"), ("StatefulSet", "db"), ("CronJob", "nightly")):
        managed(kube_api, namespace, kind, name)
    create(kube_api, namespace, workload("Deployment", "unmanaged"))
    app, _store = start_api(namespace=namespace)

    items = items_of(app, namespace)

    assert [(i["Type"], i["Name"], i["CV"]) for i in items] == [
        ("StatefulSet", "db", "db"),
        ("CronJob", "nightly", "nightly"),
        ("Deployment", "web", "web"),
    ]
    assert all(list(i)[:8] == ORIGINAL_KEYS for i in items)
    assert {(i["Namespace"], i["Container"], i["Version"], i["Tag"]) for i in items} == {
        (namespace, "app", "aaaaa11", "env-prod")
    }


def test_the_namespace_parameter_keeps_that_namespace_only(kube_api: Any, namespace: str, start_api: StartApi) -> None:
    other = f"{namespace}-b"
    client.CoreV1Api(kube_api).create_namespace({"metadata": {"name": other}})
    try:
        managed(kube_api, namespace, "Deployment", "web")
        managed(kube_api, other, "Deployment", "api")
        app, _store = start_api()

        wait_until(lambda: len(items_of(app, other)) == 1, what="the second namespace's item", timeout=10)
        assert [(i["Namespace"], i["Name"]) for i in items_of(app, namespace)] == [(namespace, "web")]
        assert [(i["Namespace"], i["Name"]) for i in items_of(app, other)] == [(other, "api")]
    finally:
        client.CoreV1Api(kube_api).delete_namespace(other)


def test_the_html_format_is_the_dashboard_listing_every_workload(
    kube_api: Any, namespace: str, start_api: StartApi
) -> None:
    managed(kube_api, namespace, "Deployment", "web")
    app, _store = start_api(namespace=namespace)

    resp = app.test_client().get("/v1/kcd/workloads?format=html")

    assert resp.status_code == 200
    assert resp.content_type.startswith("text/html")
    assert f"/v1/kcd/workloads/web?namespace={namespace}" in resp.data.decode()
    assert "nonce-" in resp.headers["Content-Security-Policy"]


def test_a_workloads_history_is_its_configmaps_records_newest_first(
    kube_api: Any, namespace: str, start_api: StartApi
) -> None:
    managed(kube_api, namespace, "Deployment", "web")
    newest, older = record("bbbbb22", "2026-11-26T12:00:00Z"), record("aaaaa11", "2026-11-25T12:00:00Z")
    write_history(kube_api, namespace, [newest, older])
    app, _store = start_api(namespace=namespace)
    web = app.test_client()

    resp = web.get(f"/v1/kcd/workloads/web?namespace={namespace}")
    page = web.get(f"/v1/kcd/workloads/web?namespace={namespace}&format=html")

    assert resp.status_code == 200
    assert resp.json == [newest.to_dict(), older.to_dict()]
    assert page.status_code == 200 and "bbbbb22" in page.data.decode()


def test_a_managed_workload_without_history_has_an_empty_one(
    kube_api: Any, namespace: str, start_api: StartApi
) -> None:
    managed(kube_api, namespace, "Deployment", "web")
    app, _store = start_api(namespace=namespace)

    resp = app.test_client().get(f"/v1/kcd/workloads/web?namespace={namespace}")

    assert (resp.status_code, resp.json) == (200, [])


def test_an_unknown_workload_is_a_404_with_a_json_error(namespace: str, start_api: StartApi) -> None:
    app, _store = start_api(namespace=namespace)
    web = app.test_client()

    resp = web.get(f"/v1/kcd/workloads/nothing?namespace={namespace}")
    page = web.get(f"/v1/kcd/workloads/nothing?namespace={namespace}&format=html")

    assert resp.status_code == 404
    assert "nothing" in resp.json["error"]
    assert page.status_code == 404 and page.content_type.startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/kcd/workloads?format=xml",
        "/v1/kcd/workloads?namespace=Not_A_Label",
        "/v1/kcd/workloads/web?namespace=" + "x" * 64,
        "/v1/kcd/workloads/Web_1",
        "/v1/kcd/workloads/web?format=yaml",
    ],
)
def test_bad_parameters_are_a_400_with_a_json_error(path: str, namespace: str, start_api: StartApi) -> None:
    app, _store = start_api(namespace=namespace)

    resp = app.test_client().get(path)

    assert resp.status_code == 400
    assert resp.content_type == "application/json"
    assert resp.json["error"]


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head.startswith(name + "{") and all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def test_metrics_count_a_served_request_and_the_store_size(kube_api: Any, namespace: str, start_api: StartApi) -> None:
    managed(kube_api, namespace, "Deployment", "web")
    app, _store = start_api(namespace=namespace)
    web = app.test_client()
    labels = {"route": "/v1/kcd/workloads", "method": "GET", "code": "200"}
    before = metric(web.get("/metrics").data.decode(), "kcd_api_requests_total", **labels)

    web.get("/v1/kcd/workloads")
    text = web.get("/metrics").data.decode()

    assert metric(text, "kcd_api_requests_total", **labels) == before + 1
    assert metric(text, "kcd_api_request_seconds_count", route="/v1/kcd/workloads") >= 1
    assert metric(text, "kcd_api_store_objects", resource="kcds") >= 1


def test_the_probes_answer_once_the_store_has_listed(namespace: str, start_api: StartApi) -> None:
    app, _store = start_api(namespace=namespace)
    web = app.test_client()

    assert web.get("/readyz").status_code == 200
    assert web.get("/healthz").status_code == 200
    assert web.get("/").headers["Location"].endswith("/v1/kcd/workloads?format=html")


def test_a_status_change_shows_within_two_seconds_without_a_list_per_request(
    kube_api: Any, namespace: str, start_api: StartApi
) -> None:
    managed(kube_api, namespace, "Deployment", "web")
    app, store = start_api(namespace=namespace)
    web = app.test_client()
    assert items_of(app, namespace)[0]["Status"] == ""
    calls = dict(store.client.counts)

    set_status(kube_api, namespace, "web", {"currStatus": "Failed", "currStatusTime": "2026-11-26T12:00:00Z"})
    changed = time.monotonic()
    seen = []
    while time.monotonic() - changed < 5:
        seen = json.loads(web.get("/v1/kcd/workloads").data)
        if seen[0]["Status"] == "Failed":
            break
        time.sleep(0.02)
    took = time.monotonic() - changed
    for _ in range(50):
        web.get("/v1/kcd/workloads")
        web.get("/v1/kcd/workloads?format=html")

    assert seen[0]["Status"] == "Failed"
    assert took < 2.0
    assert {k: v for k, v in store.client.counts.items() if k in ("LIST", "GET")} == {
        k: v for k, v in calls.items() if k in ("LIST", "GET")
    }
