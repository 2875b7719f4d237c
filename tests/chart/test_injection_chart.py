"""The syncer's three ways share one container definition (the kcd-syncer library chart): the webhook's injection,
the example app chart's per-app values and the kcd chart's standalone `syncers:` render the same container; the
webhook's registration, certificates and rotation; the example app chart installed with its syncer reporting."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from kubernetes import client

from kcd.model import CANDIDATE_DIGEST, CANDIDATE_VERSION
from kcd.webhook import inject
from tests import crd
from tests.chart.helm import CHART, EXAMPLE_APP, helm, template
from tests.env import pusher
from tests.env.cluster import Cluster
from tests.env.procs import ProcGroup
from tests.env.registry import Registry
from tests.webhook.chart import configuration, example_app, injected_template

pytestmark = pytest.mark.chart
IMAGE = ("--set", "image.repository=127.0.0.1:5000/kcd", "--set", "image.tag=2.0.0")
RESOURCES = {"requests": {"cpu": "5m", "memory": "40Mi"}, "limits": {"memory": "100Mi"}}


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _per_app(namespace: str = "apps", *args: str) -> list[dict[str, Any]]:
    return example_app(
        "shop",
        namespace,
        "--set", "kcdSyncer.enabled=true",
        "--set", "kcdSyncer.kcd=app",
        "--set", "kcdSyncer.livenessSeconds=120",
        "--set", "kcdSyncer.image=127.0.0.1:5000/kcd:2.0.0",
        "--set-json", f"kcdSyncer.resources={json.dumps(RESOURCES)}",
        *args,
    )  # fmt: skip


class _Lookups:
    def owner(self, kind: str, namespace: str, name: str) -> Any:
        return {"metadata": {"ownerReferences": [{"kind": "Deployment", "name": "shop-app", "controller": True}]}}

    def kcd(self, namespace: str, name: str) -> Any:
        spec = {"imageRepo": "r/a", "tag": "t", "selector": {"a": "b"}, "container": {"name": "app"}}
        return {
            "metadata": {"name": name, "namespace": namespace, "uid": "u"},
            "spec": {**spec, "livenessSeconds": 120},
        }

    def version(self) -> str | None:
        return "2.0.0"


def test_the_example_app_renders_the_container_the_webhook_injects() -> None:
    """The one-definition proof: per-app values and injection give the same container, field for field."""
    rendered = _named(_per_app(), "Deployment", "shop-app")["spec"]["template"]["spec"]["initContainers"]
    injected_template_ = injected_template(*IMAGE, "--set-json", f"syncer.resources={json.dumps(RESOURCES)}")
    pod = {
        "metadata": {
            "annotations": {"kcd.io/kcd": "app"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "shop-app-7c9", "controller": True}],
        },
        "spec": {"containers": [{"name": "app", "image": "a"}]},
    }
    decision = inject.decide(pod, namespace="apps", template=injected_template_, lookups=_Lookups())
    assert decision.init_containers is not None
    assert rendered == decision.init_containers[:1]


def test_standalone_syncers_render_one_deployment_with_the_same_container_and_a_role_per_entry() -> None:
    entries = [
        {"kcd": "nightly", "kind": "CronJob", "workload": "report", "namespace": "batch", "livenessSeconds": 120},
        {"kcd": "web", "kind": "Deployment", "workload": "web"},
    ]
    docs = template(*IMAGE, "--set-json", f"syncers={json.dumps(entries)}")
    nightly = _named(docs, "Deployment", "kcd-syncer-cronjob-report")
    assert nightly["metadata"]["namespace"] == "batch"
    pod = nightly["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kcd-syncer-cronjob-report"
    [container] = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["KCD_NAME"], env["KCD_WORKLOAD_KIND"], env["KCD_WORKLOAD_NAME"]) == ("nightly", "CronJob", "report")
    # The same definition as the injected one: only the per-pod values and the sidecar restartPolicy differ.
    injected = injected_template(*IMAGE)
    same = {k: v for k, v in injected.items() if k not in ("env", "restartPolicy", "livenessProbe")}
    assert {k: v for k, v in container.items() if k not in ("env", "livenessProbe")} == same
    assert container["livenessProbe"]["failureThreshold"] == 12
    role = _named(docs, "Role", "kcd-syncer-cronjob-report")
    patchable = [r for r in role["rules"] if "patch" in r["verbs"]]
    assert patchable == [
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "resourceNames": ["report"], "verbs": ["get", "patch"]}
    ]
    assert _named(docs, "Deployment", "kcd-syncer-deployment-web")["metadata"]["namespace"] == "kcd"


def test_the_example_app_with_injection_labels_its_pods_instead_of_rendering_the_syncer() -> None:
    pod = _named(_per_app("apps", "--set", "injection=true"), "Deployment", "shop-app")["spec"]["template"]
    assert pod["metadata"]["labels"]["kcd.io/inject"] == "true"
    assert pod["metadata"]["annotations"] == {"kcd.io/kcd": "app"}
    assert "initContainers" not in pod["spec"]


def test_the_webhook_is_registered_opt_in_only_and_never_blocks_a_pod() -> None:
    hook = configuration()["webhooks"][0]
    assert hook["objectSelector"] == {"matchLabels": {"kcd.io/inject": "true"}}
    assert hook["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kcd"]}
    ]
    assert (hook["failurePolicy"], hook["sideEffects"], hook["reinvocationPolicy"]) == ("Ignore", "None", "Never")
    assert hook["timeoutSeconds"] == 5
    assert hook["rules"] == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]
    assert hook["clientConfig"]["service"] == {
        "name": "kcd-webhook",
        "namespace": "kcd",
        "path": "/inject",
        "port": 9443,
    }


def test_a_namespaced_install_injects_and_reads_only_in_its_watched_namespace() -> None:
    docs = template("--set", "watchNamespace=apps")
    hook = _named(docs, "MutatingWebhookConfiguration", "kcd-webhook")["webhooks"][0]
    assert hook["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["apps"]}
    ]
    owners = _named(docs, "Role", "kcd-webhook-owners")
    assert owners["metadata"]["namespace"] == "apps"
    assert not [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].startswith("kcd-webhook")]


def test_the_generated_ca_signs_the_served_certificate_for_the_service_name() -> None:
    docs = template()
    secret = _named(docs, "Secret", "kcd-webhook-tls")["data"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["ca.crt"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["tls.crt"]))
    cert.verify_directly_issued_by(ca)
    assert "kcd-webhook.kcd.svc" in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)
    bundle = base64.b64decode(
        _named(docs, "MutatingWebhookConfiguration", "kcd-webhook")["webhooks"][0]["clientConfig"]["caBundle"]
    )
    assert x509.load_pem_x509_certificates(bundle) == [ca]


def test_cert_manager_issues_the_certificate_and_injects_the_ca_instead() -> None:
    docs = template("--set", "webhook.certManager.enabled=true")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Certificate", "kcd-webhook"), ("Issuer", "kcd-webhook")} <= kinds
    assert ("Secret", "kcd-webhook-tls") not in kinds
    config = _named(docs, "MutatingWebhookConfiguration", "kcd-webhook")
    assert config["metadata"]["annotations"] == {"cert-manager.io/inject-ca-from": "kcd/kcd-webhook"}
    assert "caBundle" not in config["webhooks"][0]["clientConfig"]


def test_turning_the_webhook_off_renders_none_of_its_objects() -> None:
    names = {d["metadata"]["name"] for d in template("--set", "webhook.enabled=false")}
    assert not {n for n in names if n.startswith("kcd-webhook")}
    assert "kcd-syncer" not in names


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[ProcGroup]:
    group = ProcGroup(tmp_path / "logs")
    yield group
    group.stop()


@pytest.mark.cluster
def test_an_upgrade_rotates_the_ca_and_keeps_the_previous_one_trusted(
    cluster: Cluster, kube_api: Any, namespace: str
) -> None:
    # Registered by URL on a loopback port nothing listens on: the API server never dials a ClusterIP.
    args = (
        *("--namespace", namespace, "--set", "crds.install=false", "--set", "webhook.replicas=0", *IMAGE),
        *("--set", "webhook.url=https://127.0.0.1:9", "--set", "api.enabled=false", "--set", "replicas=0"),
    )
    helm("install", "rot", str(CHART), *args, kubeconfig=cluster.kubeconfig)
    try:
        first = _ca(kube_api, namespace)
        helm("upgrade", "rot", str(CHART), *args, kubeconfig=cluster.kubeconfig)
        second = _ca(kube_api, namespace)
        admission = client.AdmissionregistrationV1Api(kube_api)
        config = admission.read_mutating_webhook_configuration("rot-kcd-webhook")
        bundle = x509.load_pem_x509_certificates(base64.b64decode(config.webhooks[0].client_config.ca_bundle))
        assert second != first
        assert bundle == [second, first]
    finally:
        helm("uninstall", "rot", "--namespace", namespace, kubeconfig=cluster.kubeconfig)


def _ca(api: Any, namespace: str) -> x509.Certificate:
    secret = client.CoreV1Api(api).read_namespaced_secret("rot-kcd-webhook-tls", namespace)
    return x509.load_pem_x509_certificate(base64.b64decode(secret.data["ca.crt"]))


@pytest.mark.cluster
@pytest.mark.registry
@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
def test_the_example_app_installs_and_its_syncer_reports_a_pushed_version(
    cluster: Cluster, kube_api: Any, namespace: str, registry: Registry, procs: ProcGroup, tmp_path: Path
) -> None:
    """kwok runs no containers: the syncer runs as a process with the env the chart rendered and a token of the
    ServiceAccount the chart made (so the chart's Role is what it runs with)."""
    from tests.env.procs import wait_until
    from tests.sidecar.cluster import start_syncer, workload_annotations

    crd.install(kube_api)
    repo = f"{registry.host}/{namespace}/app"
    values = (
        "--set", "kcdSyncer.enabled=true", "--set", "kcdSyncer.kcd=app", "--set", "kcdResource.create=true",
        "--set", "kcdResource.pollIntervalSeconds=5", "--set", f"image.repository={repo}",
    )  # fmt: skip
    helm("install", "shop", str(EXAMPLE_APP), "--namespace", namespace, *values, kubeconfig=cluster.kubeconfig)
    try:
        rendered = _named(_per_app(namespace, *values), "Deployment", "shop-app")
        [syncer] = rendered["spec"]["template"]["spec"]["initContainers"]
        env = {e["name"]: e["value"] for e in syncer["env"] if "value" in e}
        token = client.CoreV1Api(kube_api).create_namespaced_service_account_token(
            "shop-app", namespace, {"spec": {"expirationSeconds": 3600}}
        )
        token_file = tmp_path / "token"
        token_file.write_text(token.status.token)
        pushed = pusher.push_image(pusher.RegistryClient(registry.url), f"{namespace}/app", ["abc1234", "env-prod"])
        env.pop("KCD_SYNCER_PORT")  # start_syncer picks a free port on 127.0.0.1
        run = start_syncer(procs, cluster, namespace, token_file, pod="shop-app-0", workload="shop-app", env=env)
        wait_until(
            lambda: workload_annotations(kube_api, namespace, "shop-app").get(CANDIDATE_DIGEST) == pushed.digest,
            what="the candidate on shop-app",
            timeout=60,
            proc=run.proc,
        )
        assert workload_annotations(kube_api, namespace, "shop-app")[CANDIDATE_VERSION] == "abc1234"
    finally:
        helm("uninstall", "shop", "--namespace", namespace, kubeconfig=cluster.kubeconfig)
