"""The built image, run here with `buildah run` (no Docker engine): non-root, no compiler, and its controller and
syncer entry points rolling a pushed version out on the local control plane with ServiceAccount tokens, and its
webhook answering an AdmissionReview.

The image is `localhost/kcd:dev` (KCD_IMAGE) made by `make image`; with KCD_IMAGE_BUILD=1 the test builds it first.
The controller runs as the chart's ServiceAccount `kcd` (chart installed with crds.install=false), the webhook as the
chart's `kcd-webhook`, the syncer as the ServiceAccount the chart makes for a standalone `syncers:` entry (its Role from
the library chart's `kcd-syncer.rules`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kcd.model import CANDIDATE_VERSION
from tests import crd
from tests.controller.fixtures import create, image_of, kcd_body, wait_status, workload
from tests.controller.kcdrun import Controller
from tests.env import binaries, pusher
from tests.env.cluster import Cluster
from tests.env.pki import write_kubeconfig
from tests.env.procs import Proc, ProcGroup, free_port, wait_until
from tests.env.registry import Registry
from tests.sidecar.cluster import SyncerRun, workload_annotations

pytestmark = pytest.mark.image

IMAGE = os.environ.get("KCD_IMAGE", "localhost/kcd:dev")
BUILD = binaries.ROOT / "tools" / "image" / "build.sh"
RUN = ["buildah", "run", "--isolation", "chroot", "--network", "host"]  # host network: the cluster is on 127.0.0.1


def _buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=600, check=check)


def _missing(reason: str) -> None:
    """Skip on a workstation; fail where the image is required (KCD_IMAGE_REQUIRED=1: .ci/run, which builds it first,
    so a skip there would hide a missing image)."""
    if os.environ.get("KCD_IMAGE_REQUIRED") == "1":
        pytest.fail(f"{reason}, and KCD_IMAGE_REQUIRED=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def image() -> str:
    if shutil.which("buildah") is None:
        _missing("image: buildah is missing (tools/testenv/image-deps.sh, then make image)")
    if os.environ.get("KCD_IMAGE_BUILD") == "1":
        subprocess.run([str(BUILD)], check=True, timeout=1800, env={**os.environ, "KCD_IMAGE": IMAGE})
    if _buildah("inspect", "--type", "image", IMAGE, check=False).returncode != 0:
        _missing(f"image: {IMAGE} is not built (make image, or KCD_IMAGE_BUILD=1)")
    return IMAGE


@pytest.fixture
def container(image: str) -> Iterator[Callable[[], str]]:
    """Working containers of the image (one per process), removed afterwards."""
    made: list[str] = []

    def new() -> str:
        made.append(_buildah("from", "--pull-never", "--quiet", image).stdout.strip())
        return made[-1]

    yield new
    for name in made:
        _buildah("rm", name, check=False)


def _run(ctr: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUN, ctr, "--", *argv], capture_output=True, text=True, timeout=120, check=False)


def test_the_image_runs_as_non_root_without_a_compiler_and_carries_its_labels(container: Callable[[], str]) -> None:
    ctr = container()
    uid = _run(ctr, "id", "-u")
    assert uid.returncode == 0, uid.stderr
    assert int(uid.stdout) != 0
    tools = "gcc cc c++ g++ clang ld as make pip pip3"
    found = _run(ctr, "sh", "-c", f"for t in {tools}; do command -v $t; done; true")
    assert found.stdout.split() == []
    versions = _run(ctr, "python3", "-c", "import sys, kcd, sidecar, re2; print(sys.version_info[:2])")
    assert versions.stdout.strip() == "(3, 11)", versions.stderr
    labels = _buildah("inspect", "--type", "image", "--format", "{{.OCIv1.Config.Labels}}", IMAGE).stdout
    assert "org.opencontainers.image.title:kcd " in labels
    assert "org.opencontainers.image.revision:" in labels


def test_the_image_carries_the_api_templates(container: Callable[[], str]) -> None:
    source = sorted(p.name for p in (binaries.ROOT / "kcd" / "api" / "templates").glob("*") if p.is_file())
    listed = _run(
        container(),
        "python3",
        "-c",
        "import importlib.resources as r, kcd\n"
        "t = r.files('kcd') / 'api' / 'templates'\n"
        "print(' '.join(sorted(p.name for p in t.iterdir() if p.is_file())) if t.is_dir() else '')",
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == source


@pytest.mark.cluster
@pytest.mark.registry
@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
def test_the_images_controller_and_syncer_roll_out_a_pushed_version_with_service_account_tokens(
    image: str,  # first: a missing image skips before the cluster starts
    container: Callable[[], str],
    cluster: Cluster,
    kube_api: Any,
    namespace: str,
    registry: Registry,
    tmp_path: Path,
) -> None:
    from tests.chart.helm import helm, install

    if cluster.pki is None:
        pytest.skip("needs the local control plane's CA to write token kubeconfigs")
    crd.install(kube_api)
    # The chart's standalone syncer entry gives the syncer its identity (ServiceAccount, Role from kcd-syncer.rules).
    syncer = ("--set", "syncers[0].kcd=web", "--set", "syncers[0].kind=Deployment", "--set", "syncers[0].workload=web")
    install(namespace, cluster.kubeconfig, *syncer)
    # What the pods would mount, readable by the image's user (65534).
    share = tmp_path / "share"
    share.mkdir(mode=0o755)
    share.chmod(0o755)
    write_kubeconfig(
        share / "kubeconfig", server=cluster.server, pki=cluster.pki, token=_token(kube_api, namespace, "kcd")
    )
    (share / "syncer-token").write_text(_token(kube_api, namespace, "kcd-syncer-deployment-web"))
    shutil.copy(cluster.pki.ca_cert, share / "ca.crt")
    for path in share.iterdir():
        path.chmod(0o644)
    mount = ["-v", f"{share}:/etc/kcd:ro"]

    repo = f"{namespace}/app"
    image_repo = f"{registry.host}/{repo}"
    push = pusher.RegistryClient(registry.url, registry.credentials())
    pusher.push_image(push, repo, ["abc1234", "env-prod"])
    create(kube_api, namespace, workload("Deployment", "web", image=f"{image_repo}:none", replicas=1))
    create(kube_api, namespace, kcd_body("web", imageRepo=image_repo, pollIntervalSeconds=5))

    procs = ProcGroup(tmp_path / "logs")
    try:
        port = free_port()
        ctl_proc = procs.start(
            "image-controller",
            [*RUN, *mount, container(), "--", "kcd", "run", "--kubeconfig", "/etc/kcd/kubeconfig",
             "--bind", "127.0.0.1", "--port", str(port), "--log-level", "info", "--namespace", namespace,
             "--leader-elect", "--lease-namespace", namespace],
        )  # fmt: skip
        ctl = Controller(ctl_proc, port)
        wait_until(ctl.ready, what="controller in the image /readyz", timeout=90, proc=ctl_proc)

        syncer_port = free_port()
        env = {
            "KCD_NAMESPACE": namespace,
            "KCD_NAME": "web",
            "KCD_WORKLOAD_KIND": "Deployment",
            "KCD_WORKLOAD_NAME": "web",
            "POD_NAME": "web-0",
            "KCD_API_SERVER": cluster.server,
            "KCD_TOKEN_FILE": "/etc/kcd/syncer-token",
            "KCD_CA_FILE": "/etc/kcd/ca.crt",
            "KCD_SYNCER_ADDRESS": "127.0.0.1",
            "KCD_SYNCER_PORT": str(syncer_port),
            "KCD_DOCKER_CONFIG": "",
            "KCD_KUBECONFIG": "",
        }
        env_args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
        syncer_proc = procs.start("image-syncer", [*RUN, *mount, *env_args, container(), "--", "kcd-syncer"])
        syncer = SyncerRun(proc=syncer_proc, port=syncer_port)
        wait_until(lambda: syncer.get("/healthz")[0] == 200, what="syncer in the image /healthz", timeout=90,
                   proc=syncer_proc)  # fmt: skip

        _rolled_out(kube_api, namespace, image_repo, "abc1234", syncer_proc)
        pusher.push_image(push, repo, ["def5678", "env-prod"])
        _rolled_out(kube_api, namespace, image_repo, "def5678", syncer_proc)

        forbidden = [ln for ln in ctl.lines() if "403" in str(ln.get("error", "")) or "Forbidden" in ln.get("msg", "")]
        assert forbidden == []
        assert ctl_proc.alive() and syncer_proc.alive()
    finally:
        procs.stop()
        helm("uninstall", "kcd", "--namespace", namespace, kubeconfig=cluster.kubeconfig, check=False)


def _token(api: Any, namespace: str, service_account: str) -> str:
    """A TokenRequest token of one of the chart's ServiceAccounts."""
    request = {"spec": {"expirationSeconds": 3600}}
    return str(
        client.CoreV1Api(api).create_namespaced_service_account_token(service_account, namespace, request).status.token
    )


def _rolled_out(api: Any, namespace: str, image_repo: str, version: str, syncer: Proc) -> None:
    """The syncer annotated its workload with `version`, and the controller rolled it out (KCD Success)."""
    wait_until(
        lambda: workload_annotations(api, namespace, "web").get(CANDIDATE_VERSION) == version,
        what=f"the syncer's candidate annotation {version}",
        timeout=60,
        proc=syncer,
    )
    wait_status(api, namespace, "web", timeout=120, currStatus="Success", successVersion=version)
    assert image_of(api, namespace, "Deployment", "web") == f"{image_repo}:{version}"


def test_the_images_webhook_answers_an_admission_review_with_the_syncer_for_the_pods_workload(
    image: str,
    container: Callable[[], str],
    cluster: Cluster,
    kube_api: Any,
    namespace: str,
    tmp_path: Path,
) -> None:
    """`kcd webhook` in the image, as the chart's webhook ServiceAccount, with the container the chart rendered."""
    import base64
    import json
    import ssl
    import urllib.request

    from tests.chart.helm import helm, install
    from tests.webhook.certs import serving_cert

    if cluster.pki is None:
        pytest.skip("needs the local control plane's CA to write token kubeconfigs")
    crd.install(kube_api)
    install(namespace, cluster.kubeconfig)
    try:
        share = tmp_path / "share"
        share.mkdir(mode=0o755)
        bundle = base64.b64decode(serving_cert(share / "certs"))
        template = client.CoreV1Api(kube_api).read_namespaced_config_map("kcd-syncer", namespace).data
        (share / "container.yaml").write_text(template["container.yaml"])
        token = _token(kube_api, namespace, "kcd-webhook")
        write_kubeconfig(share / "kubeconfig", server=cluster.server, pki=cluster.pki, token=token)
        for path in [share / "certs", *share.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

        port, health = free_port(), free_port()
        procs = ProcGroup(tmp_path / "logs")
        try:
            proc = procs.start(
                "image-webhook",
                [*RUN, "-v", f"{share}:/etc/kcd:ro", container(), "--", "kcd", "webhook",
                 "--kubeconfig", "/etc/kcd/kubeconfig", "--port", str(port), "--health-port", str(health),
                 "--cert-dir", "/etc/kcd/certs", "--container-template", "/etc/kcd/container.yaml",
                 "--configmap-key", f"{namespace}/kcd-version"],
            )  # fmt: skip
            tls = ssl.create_default_context(cadata=bundle.decode())
            review = _admission_review(namespace)
            request = urllib.request.Request(
                f"https://127.0.0.1:{port}/inject",
                data=json.dumps(review).encode(),
                headers={"Content-Type": "application/json"},
            )

            def answer() -> dict[str, Any] | None:
                try:
                    with urllib.request.urlopen(request, context=tls, timeout=5) as resp:  # noqa: S310
                        return dict(json.load(resp))
                except OSError:
                    return None

            wait_until(lambda: answer() is not None, what="kcd webhook in the image answering", timeout=90, proc=proc)
            response = (answer() or {})["response"]
        finally:
            procs.stop()
    finally:
        helm("uninstall", "kcd", "--namespace", namespace, kubeconfig=cluster.kubeconfig, check=False)
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is True
    patch = json.loads(base64.b64decode(response["patch"]))
    added = [op["value"] for op in patch if op["op"] == "add" and "initContainers" in op["path"]]
    syncers = [c for v in added for c in (v if isinstance(v, list) else [v]) if c.get("name") == "kcd-syncer"]
    assert len(syncers) == 1
    env = {e["name"]: e.get("value") for e in syncers[0]["env"]}
    assert (env["KCD_NAME"], env["KCD_WORKLOAD_KIND"], env["KCD_WORKLOAD_NAME"]) == ("web", "StatefulSet", "db")
    assert syncers[0]["restartPolicy"] == "Always"


def _admission_review(namespace: str) -> dict[str, Any]:
    """What the API server sends for a labelled pod of StatefulSet `db` (its owner needs no lookup)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "db-0",
            "namespace": namespace,
            "labels": {"kcd.io/inject": "true", "app": "db"},
            "annotations": {"kcd.io/kcd": "web"},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "1", "controller": True}
            ],
        },
        "spec": {"containers": [{"name": "app", "image": "127.0.0.1:5000/team/db:abc1234"}]},
    }
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "7b1c6c7e-0000-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "db-0",
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:statefulset-controller"},
            "object": pod,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }
