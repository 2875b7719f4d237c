"""What the syncer records about its polls on its Lease (kcd.syncerhealth annotations), in the renewal it makes anyway:
with in-memory fakes, the real OCI client against the faulty registry, and the process on the local control plane."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kcd import registries, syncerhealth
from kcd.syncerhealth import ERROR, ERROR_SINCE, LAST_SUCCESS, REQUESTS
from sidecar import kubeapi, leases
from tests import crd
from tests.env import pusher
from tests.env.cluster import Cluster
from tests.env.procs import ProcGroup, wait_until
from tests.env.registry import Registry
from tests.registries.faulty import FaultyRegistry
from tests.sidecar.cluster import grant, setup_workload, start_syncer
from tests.sidecar.fakes import Clock, FakeApi, FakeRegistry, kcd, make_syncer

LEASE = "kcd-syncer-deployment-web"
T0 = "2027-01-15T08:00:00Z"  # the fake clock's start
DENIED = registries.AuthError(
    "HEAD http://127.0.0.1:5000/v2/team/app/manifests/env-prod: access denied (401 UNAUTHORIZED)"
)


def notes(api: FakeApi) -> dict[str, str]:
    return dict(api.leases[LEASE]["metadata"].get("annotations") or {})


def test_the_first_lease_write_of_a_syncer_records_nothing_it_has_not_polled_yet(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    make_syncer(api, reg, clock).step()
    assert notes(api) == {}


def test_the_next_renewal_records_the_previous_polls_success_and_the_registry_requests(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    clock.now += 60
    syncer.step()
    assert notes(api) == {LAST_SUCCESS: T0, REQUESTS: "1"}


def test_a_registry_401_is_recorded_with_its_class_and_the_time_the_failures_began(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    reg.fail = DENIED
    for _ in range(4):  # failed polls and backoff steps alike
        clock.now += 60
        syncer.step()
    assert notes(api)[ERROR] == f"registry 401: {DENIED}"
    assert notes(api)[ERROR_SINCE] == "2027-01-15T08:01:00Z"
    assert notes(api)[LAST_SUCCESS] == T0


def test_a_registry_that_answers_again_clears_the_error_on_the_next_renewal(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    reg.fail = DENIED
    syncer.step()
    reg.fail = None
    clock.now += 600  # past the registry's backoff
    syncer.step()
    clock.now += 60
    syncer.step()
    assert ERROR not in notes(api) and ERROR_SINCE not in notes(api)
    assert notes(api)[LAST_SUCCESS] == "2027-01-15T08:10:00Z"


def test_an_api_outage_is_recorded_as_its_status_once_the_lease_can_be_written_again(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd(), clock=clock, outages=[(clock.now + 30, clock.now + 90)])
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    clock.now += 60  # inside the outage: nothing can be written
    syncer.step()
    assert ERROR not in notes(api)
    clock.now += 60
    syncer.step()
    assert notes(api)[ERROR].startswith("api 503: ")


def test_a_standby_replica_writes_nothing_to_the_lease(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    holder, standby = make_syncer(api, reg, clock, pod="pod-a"), make_syncer(api, reg, clock, pod="pod-b")
    holder.step()
    clock.now += 60
    holder.step()
    written = api.leases[LEASE]["metadata"]["resourceVersion"]
    standby.step()
    assert api.leases[LEASE]["metadata"]["resourceVersion"] == written


def test_a_replica_taking_over_keeps_the_previous_holders_record_until_its_own_first_poll(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    first, second = make_syncer(api, reg, clock, pod="pod-a"), make_syncer(api, reg, clock, pod="pod-b")
    reg.fail = DENIED
    first.step()
    clock.now += 60
    first.step()
    first.release()
    recorded = notes(api)
    reg.fail = None
    second.step()  # takes the released Lease over
    assert leases.holder(api.leases[LEASE]) == "pod-b"
    assert notes(api) == recorded


def test_release_at_shutdown_records_the_last_poll_and_keeps_the_leases_duration(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    syncer.release()
    released = api.leases[LEASE]
    assert leases.holder(released) == ""
    assert released["spec"]["leaseDurationSeconds"] == leases.duration_for(60)
    assert notes(api) == {LAST_SUCCESS: T0, REQUESTS: "1"}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (registries.Transient("HEAD http://127.0.0.1:5000/v2/a/manifests/t: server error 503"), "registry 503"),
        (registries.Transient("HEAD http://127.0.0.1:5000/v2/a/manifests/t: ReadTimeout"), "registry timeout"),
        (registries.Transient("HEAD http://127.0.0.1:5000/v2/a/manifests/t: ConnectionError"), "registry unreachable"),
        (registries.RateLimited("GET http://r/v2/a/tags/list: rate limited (retry after 7.0s)", 7.0), "registry 429"),
        (registries.NotFound("HEAD http://127.0.0.1:5000/v2/a/manifests/t: not found"), "registry 404"),
        (registries.AuthError("GET http://r/v2/: access denied (403 DENIED)"), "registry 403"),
        (
            registries.AuthError("http://127.0.0.1:5001: the registry wants credentials and none are configured"),
            "registry 401",
        ),
        (
            registries.BadResponse("http://r/v2/a/manifests/t: response exceeds the 4194304-byte cap"),
            "registry bad response",
        ),
    ],
)
def test_registry_errors_are_classed_by_status_timeout_or_reachability(
    error: registries.RegistryError, expected: str
) -> None:
    assert leases.registry_error(error)[0] == expected


def test_a_rate_limit_message_leaves_out_the_wait_that_changes_on_every_429() -> None:
    _, message = leases.registry_error(registries.RateLimited("GET http://r/v2/: rate limited (retry after 7.0s)", 7))
    assert message == "GET http://r/v2/: rate limited"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (kubeapi.ApiError("GET /apis/kcd.io/v1/namespaces/ns/kcds/app: 403 forbidden", 403), "api 403"),
        (kubeapi.ApiError("GET /apis/kcd.io/v1/namespaces/ns/kcds/app: ReadTimeout"), "api timeout"),
        (kubeapi.ApiError("GET /apis/kcd.io/v1/namespaces/ns/kcds/app: ConnectionError"), "api unreachable"),
        (ValueError("boom"), "internal"),
    ],
)
def test_other_failures_are_classed_as_the_api_servers_or_our_own(error: Exception, expected: str) -> None:
    assert leases.api_error(error)[0] == expected


@pytest.fixture
def faulty() -> Iterator[FaultyRegistry]:
    server = FaultyRegistry().start()
    yield server
    server.stop()


def test_registry_requests_are_counted_as_the_oci_client_sent_them_retries_included(
    faulty: FaultyRegistry, clock: Clock
) -> None:
    faulty.push("one", "abc1234", "env-prod")
    api = FakeApi(kcd(repo=f"{faulty.host}/team/app"))
    factory = lambda repo: registries.for_repo(repo, attempts=2, max_wait=0)  # noqa: E731
    syncer = make_syncer(api, FakeRegistry(), clock)
    syncer.registry_factory = factory
    syncer.step()  # HEAD, GET manifest, tag list, HEADs of the version tag
    first = len(faulty.log)
    faulty.queue.append("500")  # the next HEAD fails once and is retried
    clock.now += 60
    syncer.step()
    sent = len(faulty.log)
    clock.now += 60
    syncer.step()  # its renewal records the poll before it
    assert notes(api)[REQUESTS] == str(sent)
    assert sent == first + 2  # the failed HEAD and its retry


# On the local control plane: the syncer process, its Role exactly as docs/syncer.md lists it, a real registry.


@pytest.fixture
def token(kube_api: Any, namespace: str, tmp_path: Path) -> Path:
    crd.install(kube_api)
    path = tmp_path / "token"
    grant(kube_api, namespace, path)
    return path


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[ProcGroup]:
    group = ProcGroup(tmp_path / "logs")
    yield group
    group.stop()


def lease_notes(api: Any, namespace: str) -> dict[str, str]:
    try:
        found = client.CoordinationV1Api(api).read_namespaced_lease(LEASE, namespace)
    except client.exceptions.ApiException:
        return {}
    return dict(found.metadata.annotations or {})


@pytest.mark.cluster
@pytest.mark.registry
@pytest.mark.parametrize("registry", ["htpasswd"], indirect=True)
def test_a_syncer_without_credentials_records_registry_401_then_its_recovery_on_the_lease(
    registry: Registry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup, tmp_path: Path
) -> None:
    push = pusher.RegistryClient(registry.url, registry.credentials())
    pusher.push_image(push, f"{namespace}/app", ["abc1234", "env-prod"])
    setup_workload(kube_api, namespace, f"{registry.host}/{namespace}/app")
    run = start_syncer(procs, cluster, namespace, token)  # no docker config: the registry answers 401
    wait_until(
        lambda: "registry 401" in lease_notes(kube_api, namespace).get(ERROR, ""), what="401", timeout=30, proc=run.proc
    )
    failing = lease_notes(kube_api, namespace)
    assert ERROR_SINCE in failing and LAST_SUCCESS not in failing
    run.proc.stop()
    config = tmp_path / "dockerconfig.json"
    config.write_text(json.dumps(registry.docker_config()))
    run = start_syncer(procs, cluster, namespace, token, pod="web-1", env={"KCD_DOCKER_CONFIG": str(config)})
    wait_until(lambda: LAST_SUCCESS in lease_notes(kube_api, namespace), what="a success", timeout=90, proc=run.proc)
    healthy = syncerhealth.read(
        client.ApiClient().sanitize_for_serialization(
            client.CoordinationV1Api(kube_api).read_namespaced_lease(LEASE, namespace)
        )
    )
    assert (healthy.error, healthy.holder) == ("", "web-1")
    assert healthy.requests >= 1
