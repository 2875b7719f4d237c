"""The syncer process on the local control plane, run as in a pod (TokenRequest token, CA, least-privilege Role),
against the local docker-registry (three auth modes), moto ECR and a faulty registry."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from kcd.model import CANDIDATE_SOURCE, CANDIDATE_TIME, CANDIDATE_VERSION
from sidecar import leases
from tests import crd
from tests.env import pusher
from tests.env.cluster import Cluster
from tests.env.ecr import MotoEcr
from tests.env.procs import ProcGroup, wait_until
from tests.env.registry import Registry
from tests.registries.faulty import FaultyRegistry
from tests.sidecar.cluster import grant, setup_workload, start_syncer, wait_for_candidate, workload_annotations

pytestmark = [pytest.mark.cluster, pytest.mark.registry]


@pytest.fixture(scope="module")
def kcd_crd(kube_api: Any) -> None:
    crd.install(kube_api)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[ProcGroup]:
    group = ProcGroup(tmp_path / "logs")
    yield group
    group.stop()


@pytest.fixture
def token(kube_api: Any, namespace: str, kcd_crd: None, tmp_path: Path) -> Path:
    path = tmp_path / "token"
    grant(kube_api, namespace, path)
    return path


@pytest.fixture
def faulty() -> Iterator[FaultyRegistry]:
    server = FaultyRegistry().start()
    yield server
    server.stop()


def test_a_pushed_version_is_annotated_and_a_moved_tag_follows(
    registry: Registry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup, tmp_path: Path
) -> None:
    push = pusher.RegistryClient(registry.url, registry.credentials())
    first = pusher.push_image(push, f"{namespace}/app", ["abc1234", "env-prod"])
    setup_workload(kube_api, namespace, f"{registry.host}/{namespace}/app")
    config = tmp_path / "dockerconfig.json"
    config.write_text(json.dumps(registry.docker_config()))
    run = start_syncer(procs, cluster, namespace, token, env={"KCD_DOCKER_CONFIG": str(config)})
    wait_for_candidate(kube_api, namespace, "abc1234", first.digest, run.proc)
    written = workload_annotations(kube_api, namespace)[CANDIDATE_TIME]
    second = pusher.push_image(push, f"{namespace}/app", ["def5678", "env-prod"])
    wait_for_candidate(kube_api, namespace, "def5678", second.digest, run.proc)
    assert workload_annotations(kube_api, namespace)[CANDIDATE_TIME] >= written


@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
def test_a_multi_arch_index_is_annotated_with_the_index_digest(
    registry: Registry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    pushed = pusher.push_index(pusher.RegistryClient(registry.url), f"{namespace}/multi", ["ccc3333", "env-prod"])
    setup_workload(kube_api, namespace, f"{registry.host}/{namespace}/multi")
    run = start_syncer(procs, cluster, namespace, token)
    wait_for_candidate(kube_api, namespace, "ccc3333", pushed.digest, run.proc)


def test_an_ecr_version_is_annotated_and_a_moved_tag_follows(
    moto_ecr: MotoEcr, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    ecr, name = moto_ecr.client(), f"{namespace}/ecr-app"
    ecr.create_repository(repositoryName=name)
    first = pusher.push_ecr(ecr, name, ["abc1234", "env-prod"])
    setup_workload(kube_api, namespace, moto_ecr.repo_uri(name))
    run = start_syncer(procs, cluster, namespace, token, env=moto_ecr.env())
    wait_for_candidate(kube_api, namespace, "abc1234", first.digest, run.proc)
    second = pusher.push_ecr(ecr, name, ["def5678", "env-prod"])
    wait_for_candidate(kube_api, namespace, "def5678", second.digest, run.proc)


def test_three_replicas_poll_the_registry_as_one(
    faulty: FaultyRegistry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    digest = faulty.push("one", "abc1234", "env-prod")
    setup_workload(kube_api, namespace, f"{faulty.host}/team/app")
    runs = [start_syncer(procs, cluster, namespace, token, pod=f"web-{i}") for i in range(3)]
    wait_for_candidate(kube_api, namespace, "abc1234", digest, runs[0].proc)
    wait_until(lambda: all(r.metric("kcd_syncer_polls_total") >= 3 for r in runs), what="3 polls each", timeout=60)
    (leader,) = [r for r in runs if r.metric("kcd_syncer_leader") == 1]
    before = leader.metric("kcd_syncer_polls_total", outcome="ok")
    heads = len([r for r in faulty.requests("HEAD") if r[1].endswith("/env-prod")])
    after = leader.metric("kcd_syncer_polls_total", outcome="ok")
    assert before <= heads <= after
    assert sum(r.metric("kcd_syncer_polls_total", outcome="ok") for r in runs if r is not leader) == 0
    lease = client.CoordinationV1Api(kube_api).read_namespaced_lease(leases.lease_name("deployment", "web"), namespace)
    assert lease.spec.holder_identity == f"web-{runs.index(leader)}"


def test_a_stopped_poller_hands_over_to_another_replica(
    faulty: FaultyRegistry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    faulty.push("one", "abc1234", "env-prod")
    setup_workload(kube_api, namespace, f"{faulty.host}/team/app")
    first = start_syncer(procs, cluster, namespace, token, pod="web-0")
    wait_until(lambda: first.metric("kcd_syncer_leader") == 1, what="web-0 leads", timeout=30, proc=first.proc)
    second = start_syncer(procs, cluster, namespace, token, pod="web-1")
    first.proc.stop()
    assert first.proc.popen.returncode == 0  # SIGTERM is a clean exit
    wait_until(lambda: second.metric("kcd_syncer_leader") == 1, what="web-1 takes over", timeout=30, proc=second.proc)
    digest = faulty.push("two", "def5678", "env-prod")
    wait_for_candidate(kube_api, namespace, "def5678", digest, second.proc)


@pytest.mark.parametrize("fault", ["500", "timeout", "malformed", "oversized", "digest-mismatch"])
def test_a_faulty_registry_writes_nothing_and_the_syncer_recovers(
    fault: str, faulty: FaultyRegistry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    digest = faulty.push("one", "abc1234", "env-prod")
    faulty.fault, faulty.delay = fault, 3.0
    setup_workload(kube_api, namespace, f"{faulty.host}/team/app")
    run = start_syncer(procs, cluster, namespace, token, env={"KCD_REGISTRY_TIMEOUT": "1"})
    wait_until(lambda: run.metric("kcd_syncer_errors_total") >= 1, what="a failed poll", timeout=60, proc=run.proc)
    assert CANDIDATE_VERSION not in workload_annotations(kube_api, namespace)
    assert run.get("/healthz")[0] == 200
    faulty.fault = None
    wait_for_candidate(kube_api, namespace, "abc1234", digest, run.proc)


def test_a_rate_limited_syncer_waits_as_long_as_the_registry_asks(
    faulty: FaultyRegistry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    faulty.push("one", "abc1234", "env-prod")
    faulty.fault, faulty.retry_after = "429", 3600
    setup_workload(kube_api, namespace, f"{faulty.host}/team/app", interval=5)
    run = start_syncer(procs, cluster, namespace, token)
    wait_until(
        lambda: run.metric("kcd_syncer_errors_total", kind="RateLimited") == 1, what="a 429", timeout=60, proc=run.proc
    )
    time.sleep(12)  # more than two poll intervals: a syncer that ignored Retry-After would have asked again
    assert len(faulty.requests()) == 1
    assert run.get("/healthz")[0] == 200
    assert CANDIDATE_VERSION not in workload_annotations(kube_api, namespace)


@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
def test_kcd_registry_sync_runs_the_syncer_outside_a_pod_from_a_kubeconfig(
    registry: Registry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup, tmp_path: Path
) -> None:
    assert cluster.pki is not None
    pushed = pusher.push_image(pusher.RegistryClient(registry.url), f"{namespace}/cli", ["abc1234", "env-prod"])
    setup_workload(kube_api, namespace, f"{registry.host}/{namespace}/cli")
    ca = base64.b64encode(cluster.pki.ca_cert.read_bytes()).decode()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": cluster.server, "certificate-authority-data": ca}}],
                "users": [{"name": "u", "user": {"token": token.read_text()}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    argv = [sys.executable, "-m", "kcd", "registry", "sync", "--namespace", namespace, "--kcd", "web"]
    argv += ["--workload", "deployment/web", "--k8s-config", str(kubeconfig), "--provider", "oci"]
    env = {"KCD_SYNCER_ADDRESS": "127.0.0.1", "KCD_SYNCER_PORT": "0", "POD_NAME": "cli", "KCD_DOCKER_CONFIG": ""}
    proc = procs.start("kcd-registry-sync", argv, env=env)
    wait_for_candidate(kube_api, namespace, "abc1234", pushed.digest, proc)


def test_a_changed_kcd_tag_is_followed_without_a_restart(
    faulty: FaultyRegistry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    first = faulty.push("one", "abc1234", "env-prod")
    qa = faulty.push("two", "def5678", "env-qa")
    setup_workload(kube_api, namespace, f"{faulty.host}/team/app")
    run = start_syncer(procs, cluster, namespace, token)
    wait_for_candidate(kube_api, namespace, "abc1234", first, run.proc)
    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object(
        "kcd.io", "v1", namespace, "kcds", "web", {"spec": {"tag": "env-qa"}}
    )
    wait_for_candidate(kube_api, namespace, "def5678", qa, run.proc)


def test_an_edited_tag_naming_the_same_image_rewrites_the_candidate_source(
    faulty: FaultyRegistry, cluster: Cluster, kube_api: Any, namespace: str, token: Path, procs: ProcGroup
) -> None:
    digest = faulty.push("one", "abc1234", "env-prod", "env-qa")
    repo = f"{faulty.host}/team/app"
    setup_workload(kube_api, namespace, repo)
    run = start_syncer(procs, cluster, namespace, token)
    wait_for_candidate(kube_api, namespace, "abc1234", digest, run.proc)
    assert workload_annotations(kube_api, namespace)[CANDIDATE_SOURCE] == f"{repo}:env-prod"
    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object(
        "kcd.io", "v1", namespace, "kcds", "web", {"spec": {"tag": "env-qa"}}
    )
    wait_until(
        lambda: workload_annotations(kube_api, namespace).get(CANDIDATE_SOURCE) == f"{repo}:env-qa",
        what="the new candidate source",
        timeout=60,
        proc=run.proc,
    )
    assert workload_annotations(kube_api, namespace)[CANDIDATE_VERSION] == "abc1234"
