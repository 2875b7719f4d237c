"""SyncerHealthy on the local control plane: the controller process reads the syncers' Leases from its watch (filtered
by label on the API server), names a failing or silent syncer, and writes no status for a renewal alone.

The Leases are written here exactly as the syncer writes them (sidecar.leases, kcd.syncerhealth): the syncer process
itself recording them is tests/sidecar/test_syncer_health.py."""

from __future__ import annotations

import datetime
import re
import time
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from kcd import syncerhealth
from sidecar import leases
from tests.controller import kcdrun
from tests.controller.fixtures import condition, create, kcd_body, kcd_status, workload
from tests.env.procs import wait_until

pytestmark = pytest.mark.cluster
HOUR = 3600.0


def setup(api: Any, namespace: str, name: str, workloads: tuple[str, ...] = ("web",)) -> None:
    for each in workloads:
        create(api, namespace, workload("Deployment", each, replicas=0, selector_labels={"kcdapp": name}))
    create(api, namespace, kcd_body(name))


def write_lease(
    api: Any,
    namespace: str,
    workload_name: str,
    *,
    error: str = "",
    renewed: float | None = None,
    labelled: bool = True,
    requests: int = 1,
) -> None:
    """Create or renew the syncer's Lease of Deployment `workload_name`, recording a poll that failed with `error`
    ("<class>: <message>") or succeeded."""
    leases_api = client.CoordinationV1Api(api)
    name = leases.lease_name("deployment", workload_name)
    now = time.time() if renewed is None else renewed
    try:
        body = client.ApiClient().sanitize_for_serialization(leases_api.read_namespaced_lease(name, namespace))
        body = leases.taken(body, "web-0", now, 60)
    except client.exceptions.ApiException:
        body = leases.new_lease(namespace, name, "web-0", now, 60)
    if not labelled:
        body["metadata"].pop("labels", None)
    error_class, _, message = error.partition(": ")
    at = datetime.datetime.fromtimestamp(now, datetime.UTC)
    body = leases.recorded(body, syncerhealth.Outcome(at, error_class, message, requests))
    if body["metadata"].get("resourceVersion"):
        leases_api.replace_namespaced_lease(name, namespace, body)
    else:
        leases_api.create_namespaced_lease(namespace, body)


def wait_syncer_healthy(api: Any, namespace: str, name: str, status: str, message: str = "") -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def check() -> bool:
        seen.clear()
        seen.update(condition(kcd_status(api, namespace, name), "SyncerHealthy"))
        text = str(seen.get("message", ""))
        return seen.get("status") == status and (not message or re.fullmatch(message, text) is not None)

    try:
        wait_until(check, what=f"SyncerHealthy {status} {message!r}", timeout=60)
    except Exception as err:
        raise AssertionError(f"{err}; last: {seen}") from None
    return dict(seen)


def test_a_kcd_names_its_failing_syncer_with_the_error_and_its_start_then_its_recovery(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    setup(kube_api, namespace, "web")
    wait_syncer_healthy(kube_api, namespace, "web", "Unknown", r"deployment/web: no syncer has reported \(no Lease\)")
    started = time.time() - HOUR
    write_lease(kube_api, namespace, "web", error="registry 401: unauthorized", renewed=started)
    write_lease(kube_api, namespace, "web", error="registry 401: unauthorized")  # the failure runs on
    since = datetime.datetime.fromtimestamp(started, datetime.UTC).strftime("%H:%M")
    failing = wait_syncer_healthy(kube_api, namespace, "web", "False", "deployment/web: registry 401.*")
    assert failing["reason"] == "SyncerFailing"
    assert failing["message"] == f"deployment/web: registry 401: unauthorized since {since} UTC"
    write_lease(kube_api, namespace, "web")
    healthy = wait_syncer_healthy(kube_api, namespace, "web", "True")
    assert healthy["message"] == "the last poll succeeded: deployment/web"


def test_a_lease_not_renewed_for_two_durations_reads_as_no_live_syncer(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    write_lease(kube_api, namespace, "web", renewed=time.time() - HOUR)  # a syncer that stopped an hour ago
    setup(kube_api, namespace, "web")
    silent = wait_syncer_healthy(kube_api, namespace, "web", "False", r"deployment/web: no live syncer \(last poll .*")
    assert silent["reason"] == "NoLiveSyncer"


def test_an_unlabelled_lease_never_reaches_the_controller(
    controller: kcdrun.Controller, kube_api: Any, namespace: str
) -> None:
    setup(kube_api, namespace, "pair", workloads=("api", "web"))
    wait_syncer_healthy(kube_api, namespace, "pair", "Unknown", r"deployment/api: .*; deployment/web: .*")
    # Same name as api's syncer Lease, without the label: the API server's label selector keeps it out of the watch.
    write_lease(kube_api, namespace, "api", error="registry 401: unauthorized", labelled=False)
    write_lease(kube_api, namespace, "web")  # on the same watch stream, after it
    # web's Lease was seen, api's was not: had it been, its 401 would make the condition False.
    seen = wait_syncer_healthy(
        kube_api, namespace, "pair", "Unknown", r"deployment/api: no syncer has reported \(no Lease\)"
    )
    assert seen["reason"] == "SyncerNotReported"


def steps(ctl: kcdrun.Controller) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{ctl.port}/metrics", timeout=5) as resp:  # noqa: S310
        text = resp.read().decode()
    found = re.search(r"^kcd_reconcile_step_seconds_count (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


def kcd_version(api: Any, namespace: str, name: str) -> str:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object("kcd.io", "v1", namespace, "kcds", name)
    return str(obj["metadata"]["resourceVersion"])


def test_lease_renewals_alone_wake_no_step_and_write_no_status(
    procs: Any, cluster: Any, kube_api: Any, namespace: str
) -> None:
    ctl = kcdrun.start(procs, cluster.kubeconfig, extra=["--namespace", namespace])  # its step count is this test's
    setup(kube_api, namespace, "web")
    write_lease(kube_api, namespace, "web")
    wait_syncer_healthy(kube_api, namespace, "web", "True")
    time.sleep(2)  # the last events of the set-up are stepped
    version, before = kcd_version(kube_api, namespace, "web"), steps(ctl)
    for count in range(2, 6):
        write_lease(kube_api, namespace, "web", requests=count)
        time.sleep(0.5)
    time.sleep(2)
    assert kcd_version(kube_api, namespace, "web") == version
    assert steps(ctl) == before
    write_lease(kube_api, namespace, "web", error="registry timeout: ReadTimeout")  # an outcome that changes
    wait_syncer_healthy(kube_api, namespace, "web", "False")
    # The step's status write is visible before the step ends and counts itself in /metrics.
    wait_until(lambda: steps(ctl) > before, what="the step that wrote the outcome counted", timeout=5)
