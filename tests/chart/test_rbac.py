"""Least privilege, proven: the chart's identities can do what kcd does and nothing more (issue 8 §2).

- rendered rules: no `*`, no Lease update without a name, the Lease Role in the release namespace when one namespace is
  watched, the syncer's rules naming each object (and its Lease named as kcd.syncerhealth names it), aggregated roles;
- on the local control plane, with TokenRequest tokens of the chart's ServiceAccounts: the controller rolls a version
  out with nothing else; SubjectAccessReviews of what the controller and a syncer identity may not do; the chart's
  ValidatingAdmissionPolicy denies a syncer identity every change to its own workload but the candidate annotations,
  and leaves administrators alone.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from kcd import syncerhealth
from tests import crd
from tests.chart.helm import CHART, helm, install, template
from tests.controller.fixtures import REPO, announce, create, kcd_body, workload
from tests.env.pki import write_kubeconfig
from tests.env.procs import wait_until

pytestmark = pytest.mark.chart
RELEASE = "kcd-rbac"  # the module's own release: its cluster-wide objects never meet another test's "kcd" release
POLICY = f"{RELEASE}-syncer-writes"
LIBRARY = CHART.parent / "kcd-syncer"
SA_GROUPS = ["system:serviceaccounts", "system:authenticated"]
Docs = list[dict[str, Any]]


def _roles(docs: Docs) -> Docs:
    return [d for d in docs if d["kind"] in ("Role", "ClusterRole")]


def _named(docs: Docs, kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _grants(role: dict[str, Any], resource: str, verb: str) -> list[dict[str, Any]]:
    """The rules of `role` granting `verb` on "group/resource"."""
    group, _, plural = resource.rpartition("/")
    return [
        r
        for r in role.get("rules") or []
        if group in r["apiGroups"] and plural in r["resources"] and verb in r["verbs"]
    ]


# --- rendered rules -------------------------------------------------------------------------------------------------

RENDERINGS = {"cluster": (), "namespaced": ("-f", str(CHART / "ci" / "namespaced-values.yaml"))}


@pytest.mark.parametrize("values", RENDERINGS.values(), ids=RENDERINGS.keys())
def test_no_rule_grants_every_verb_resource_or_group(values: tuple[str, ...]) -> None:
    for role in _roles(template(*values)):
        for rule in role.get("rules") or []:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], role["metadata"]["name"]


@pytest.mark.parametrize("values", RENDERINGS.values(), ids=RENDERINGS.keys())
def test_no_rule_writes_leases_without_naming_them(values: tuple[str, ...]) -> None:
    for role in _roles(template(*values)):
        for verb in ("update", "patch", "delete"):
            assert all(r.get("resourceNames") for r in _grants(role, "coordination.k8s.io/leases", verb))


def test_a_namespaced_install_puts_the_controllers_lease_role_in_the_release_namespace() -> None:
    docs = template("-f", str(CHART / "ci" / "namespaced-values.yaml"))
    lease_role = _named(docs, "Role", "kcd-leader-election")
    assert lease_role["metadata"]["namespace"] == "kcd"  # the release namespace (tests.chart.helm.template)
    assert [r["resourceNames"] for r in _grants(lease_role, "coordination.k8s.io/leases", "update")] == [
        ["kcd-controller"]
    ]
    binding = _named(docs, "RoleBinding", "kcd-leader-election")
    assert binding["metadata"]["namespace"] == "kcd"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kcd", "namespace": "kcd"}]
    watched = _named(docs, "Role", "kcd")
    assert watched["metadata"]["namespace"] == "apps"
    assert not _grants(watched, "coordination.k8s.io/leases", "update")


def test_watching_one_namespace_binds_the_controller_and_api_with_roles_only() -> None:
    docs = template("--set", "watchNamespace=apps")
    bound = {s["name"] for d in docs if d["kind"] == "RoleBinding" for s in d["subjects"]}
    assert {"kcd", "kcd-api"} <= bound
    cluster_bound = {s["name"] for d in docs if d["kind"] == "ClusterRoleBinding" for s in d["subjects"]}
    assert not {"kcd", "kcd-api"} & cluster_bound  # (the injection webhook's identity is cluster-wide by nature)


def test_the_controller_may_not_update_kcds_read_secrets_or_list_configmaps() -> None:
    role = _named(template(), "ClusterRole", "kcd")
    assert not _grants(role, "kcd.io/kcds", "update")
    assert not [r for r in role["rules"] if "secrets" in r["resources"]]
    assert {v for r in role["rules"] if "configmaps" in r["resources"] for v in r["verbs"]} == {
        "get",
        "create",
        "update",
        "patch",
    }


def test_the_aggregated_roles_extend_view_and_edit_with_kcds() -> None:
    docs = template()
    view, edit = _named(docs, "ClusterRole", "kcd-view"), _named(docs, "ClusterRole", "kcd-edit")
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert {v for r in view["rules"] for v in r["verbs"]} == {"get", "list", "watch"}
    writes = {v for r in _grants(edit, "kcd.io/kcds", "create") for v in r["verbs"]}
    assert {"create", "update", "patch", "delete"} <= writes
    assert not _grants(edit, "kcd.io/kcds", "kcd-syncer") and not _grants(view, "kcd.io/kcds", "kcd-syncer")


def _syncer_role(tmp_path: Path, *, kcd: str, kind: str, name: str, role: str = "syncer") -> dict[str, Any]:
    """The Role an app chart renders for its syncer with the kcd-syncer library chart's `kcd-syncer.rules`."""
    chart = tmp_path / "rules"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: rules\nversion: 0.1.0\n")
    shutil.copy(LIBRARY / "templates" / "_syncer.tpl", chart / "templates" / "_syncer.tpl")
    (chart / "templates" / "role.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {{ .Values.role }}\nrules:\n"
        '  {{- $args := dict "kcd" .Values.kcd "kind" .Values.kind "workload" .Values.name }}\n'
        '  {{- include "kcd-syncer.rules" $args | nindent 2 }}\n'
    )
    values = f"--set-string=kcd={kcd},kind={kind},name={name},role={role}"
    return dict(yaml.safe_load(helm("template", "x", str(chart), values).stdout))


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "CronJob"])
def test_the_syncer_rules_name_its_kcd_its_workload_and_its_lease(tmp_path: Path, kind: str) -> None:
    role = _syncer_role(tmp_path, kcd="web", kind=kind, name="web-1")
    plural = {"CronJob": "batch/cronjobs"}.get(kind, f"apps/{kind.lower()}s")
    assert [r["resourceNames"] for r in _grants(role, plural, "patch")] == [["web-1"]]
    assert [r["resourceNames"] for r in _grants(role, "kcd.io/kcds", "get")] == [["web"]]
    lease = syncerhealth.lease_name(kind, "web-1")
    assert [r["resourceNames"] for r in _grants(role, "coordination.k8s.io/leases", "update")] == [[lease]]
    verbs = {v for r in role["rules"] for v in r["verbs"]}
    assert verbs == {"get", "patch", "update", "create", "kcd-syncer"}  # create: its Lease, the only unnamed write
    assert [r["resources"] for r in _grants(role, "coordination.k8s.io/leases", "create")] == [["leases"]]


def test_a_long_workload_names_the_lease_as_the_syncer_does(tmp_path: Path) -> None:
    name = "a-very-long-workload-name-that-pushes-the-lease-past-one-dns-label"
    role = _syncer_role(tmp_path, kcd="web", kind="StatefulSet", name=name)
    lease = syncerhealth.lease_name("StatefulSet", name)
    assert len(lease) <= 63
    assert [r["resourceNames"] for r in _grants(role, "coordination.k8s.io/leases", "update")] == [[lease]]


# --- on the local control plane ---------------------------------------------------------------------------------------


def _token_kubeconfig(cluster: Any, admin: Any, namespace: str, account: str, directory: Path) -> Path:
    """A kubeconfig holding a TokenRequest token of the ServiceAccount (what a pod running as it would hold)."""
    token = (
        client.CoreV1Api(admin)
        .create_namespaced_service_account_token(account, namespace, {"spec": {"expirationSeconds": 3600}})
        .status.token
    )
    return write_kubeconfig(directory / f"{account}.kubeconfig", server=cluster.server, pki=cluster.pki, token=token)


def _token_client(cluster: Any, admin: Any, namespace: str, account: str, directory: Path) -> Any:
    path = _token_kubeconfig(cluster, admin, namespace, account, directory)
    return config.new_client_from_config(config_file=str(path))


@pytest.fixture(scope="module")
def release(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The chart installed once for the module, a Deployment `app` with a syncer identity (`app-syncer`: a Role from
    kcd.syncerRules), a second Deployment `other`, and the admission policy enforced."""
    if cluster.pki is None:
        pytest.skip("needs the local control plane's CA to write token kubeconfigs")
    admin = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    crd.install(admin)
    namespace = f"t-rbac-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(admin)
    core.create_namespace({"metadata": {"name": namespace}})
    directory = tmp_path_factory.mktemp("rbac")
    install(namespace, cluster.kubeconfig, release=RELEASE)
    try:
        for name in ("app", "other"):
            create(admin, namespace, workload("Deployment", name))
        _bind_syncer(admin, namespace, _syncer_role(directory, kcd="app", kind="Deployment", name="app"))
        syncer = _token_client(cluster, admin, namespace, "app-syncer", directory)
        _wait_until_enforced(syncer, namespace)
        yield {"namespace": namespace, "admin": admin, "syncer": syncer}
        syncer.close()
    finally:
        helm("uninstall", RELEASE, "-n", namespace, kubeconfig=cluster.kubeconfig, check=False)
        core.delete_namespace(namespace)
        admin.close()


def _bind_syncer(admin: Any, namespace: str, role: dict[str, Any]) -> None:
    core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "app-syncer"}})
    rbac.create_namespaced_role(namespace, role)
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "app-syncer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]},
            "subjects": [{"kind": "ServiceAccount", "name": "app-syncer", "namespace": namespace}],
        },
    )


def _image_patch(image: str) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


def _wait_until_enforced(syncer: Any, namespace: str) -> None:
    """RBAC and admission policies are loaded asynchronously: wait until the syncer's dry-run image change is refused
    by the policy (not by RBAC, not let through)."""

    def refused() -> bool:
        try:
            client.AppsV1Api(syncer).patch_namespaced_deployment(
                "app", namespace, _image_patch(f"{REPO}:probe"), dry_run="All"
            )
        except client.exceptions.ApiException as err:
            return POLICY in str(err.body)
        return False

    wait_until(refused, what="the syncer admission policy enforced", timeout=60)


def _may(admin: Any, user: str, namespace: str, verb: str, resource: str, name: str = "") -> bool:
    """SubjectAccessReview: may the ServiceAccount `user` ("ns:name") do `verb` on "group/resource" [`name`]?"""
    group, _, plural = resource.rpartition("/")
    sa_ns = user.partition(":")[0]
    review = client.AuthorizationV1Api(admin).create_subject_access_review(
        {
            "spec": {
                "user": f"system:serviceaccount:{user}",
                "groups": [*SA_GROUPS, f"system:serviceaccounts:{sa_ns}"],
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": verb,
                    "group": group,
                    "resource": plural,
                    "name": name,
                },
            }
        }
    )
    return bool(review.status.allowed)


@pytest.mark.cluster
def test_the_syncer_identity_may_touch_its_own_workload_kcd_and_lease_only(release: dict[str, Any]) -> None:
    admin, ns = release["admin"], release["namespace"]
    who = f"{ns}:app-syncer"
    lease = syncerhealth.lease_name("Deployment", "app")
    allowed = [
        ("patch", "apps/deployments", "app"),
        ("get", "kcd.io/kcds", "app"),
        ("update", "coordination.k8s.io/leases", lease),
        ("create", "coordination.k8s.io/leases", ""),
    ]
    denied = [
        ("patch", "apps/deployments", "other"),
        ("update", "apps/deployments", "app"),
        ("delete", "apps/deployments", "app"),
        ("patch", "apps/deployments/scale", "app"),
        ("get", "kcd.io/kcds", "other"),
        ("update", "coordination.k8s.io/leases", "kcd-syncer-deployment-other"),
        ("get", "/secrets", ""),
        ("list", "/secrets", ""),
        ("get", "/configmaps", ""),
    ]
    assert [a for a in allowed if not _may(admin, who, ns, *a)] == []
    assert [d for d in denied if _may(admin, who, ns, *d)] == []


@pytest.mark.cluster
def test_the_controller_may_not_take_other_leases_or_read_secrets(release: dict[str, Any]) -> None:
    admin, ns = release["admin"], release["namespace"]
    who = f"{ns}:{RELEASE}"
    allowed = [
        (ns, "update", "coordination.k8s.io/leases", "kcd-controller"),
        (ns, "create", "coordination.k8s.io/leases", ""),
        ("elsewhere", "patch", "apps/deployments", "web"),
        ("elsewhere", "update", "/configmaps", "web.history"),
        ("elsewhere", "list", "coordination.k8s.io/leases", ""),
    ]
    denied = [
        ("kube-system", "update", "coordination.k8s.io/leases", "kube-controller-manager"),
        ("kube-system", "create", "coordination.k8s.io/leases", ""),
        (ns, "update", "coordination.k8s.io/leases", "someone-else"),
        ("elsewhere", "update", "coordination.k8s.io/leases", "kcd-controller"),
        ("kube-system", "get", "/secrets", "any"),
        (ns, "list", "/secrets", ""),
        ("elsewhere", "list", "/configmaps", ""),
        ("elsewhere", "delete", "/configmaps", "web.history"),
        ("elsewhere", "update", "kcd.io/kcds", "web"),
        ("elsewhere", "delete", "batch/jobs", "verify"),
        ("elsewhere", "kcd-syncer", "kcd.io/kcds", ""),
    ]
    assert [a for a in allowed if not _may(admin, who, a[0], *a[1:])] == []
    assert [d for d in denied if _may(admin, who, d[0], *d[1:])] == []


DENIED = {
    "image": (_image_patch(f"{REPO}:evil"), "may not change a workload's spec"),
    "container": (
        {"spec": {"template": {"spec": {"containers": [{"name": "miner", "image": f"{REPO}:evil"}]}}}},
        "may not change a workload's spec",
    ),
    "labels": ({"metadata": {"labels": {"kcdapp": "someone-else"}}}, "may not change a workload's labels"),
    "service-account": (
        {"spec": {"template": {"spec": {"serviceAccountName": "kcd"}}}},
        "may not change a workload's spec",
    ),
    "volumes": (
        {"spec": {"template": {"spec": {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]}}}},
        "may not change a workload's spec",
    ),
    "other-annotation": (
        {"metadata": {"annotations": {"kcd.io/rollback-requested-at": "2026-12-01T00:00:00Z"}}},
        "annotations other than kcd.io/candidate-*",
    ),
}


@pytest.mark.cluster
@pytest.mark.parametrize("change", DENIED.keys())
def test_the_policy_denies_a_syncer_changing_its_workload(release: dict[str, Any], change: str) -> None:
    patch, words = DENIED[change]
    apps = client.AppsV1Api(release["syncer"])
    with pytest.raises(client.exceptions.ApiException) as denied:
        apps.patch_namespaced_deployment("app", release["namespace"], patch)
    assert denied.value.status == 403
    assert f"ValidatingAdmissionPolicy '{POLICY}'" in denied.value.body
    assert words in denied.value.body
    current = client.AppsV1Api(release["admin"]).read_namespaced_deployment("app", release["namespace"])
    assert [c.image for c in current.spec.template.spec.containers] == [f"{REPO}:aaaaa11"]


@pytest.mark.cluster
def test_the_policy_type_checks_without_warnings(release: dict[str, Any]) -> None:
    adm = client.AdmissionregistrationV1Api(release["admin"])
    wait_until(
        lambda: adm.read_validating_admission_policy(POLICY).status is not None, what="policy status", timeout=30
    )
    status = adm.read_validating_admission_policy(POLICY).status
    assert status.type_checking is None or not status.type_checking.expression_warnings


@pytest.mark.cluster
def test_the_policy_lets_a_syncer_write_the_candidate_annotations(release: dict[str, Any]) -> None:
    announce(release["syncer"], release["namespace"], "Deployment", "app", "bbbbb22")
    current = client.AppsV1Api(release["admin"]).read_namespaced_deployment("app", release["namespace"])
    assert current.metadata.annotations["kcd.io/candidate-version"] == "bbbbb22"


@pytest.mark.cluster
def test_the_policy_leaves_an_administrators_image_change_alone(release: dict[str, Any]) -> None:
    apps = client.AppsV1Api(release["admin"])
    apps.patch_namespaced_deployment("other", release["namespace"], _image_patch(f"{REPO}:by-admin"))
    current = apps.read_namespaced_deployment("other", release["namespace"])
    assert current.spec.template.spec.containers[0].image == f"{REPO}:by-admin"


@pytest.mark.cluster
def test_the_controller_rolls_out_with_nothing_but_the_charts_rbac(
    cluster: Any, kube_api: Any, namespace: str, tmp_path: Path
) -> None:
    """RBAC for real: the controller runs with a token of the chart's ServiceAccount, not the admin certificate; the
    chart's admission policy is installed and does not stand in its way."""
    from tests.controller import kcdrun
    from tests.controller.fixtures import history, wait_status
    from tests.env.procs import ProcGroup

    if cluster.pki is None:
        pytest.skip("needs the local control plane's CA to write a token kubeconfig")
    crd.install(kube_api)
    install(namespace, cluster.kubeconfig)
    kubeconfig = _token_kubeconfig(cluster, kube_api, namespace, "kcd", tmp_path)
    procs = ProcGroup(tmp_path / "logs")
    try:
        ctl = kcdrun.start(
            procs, kubeconfig, extra=["--namespace", namespace, "--leader-elect", "--lease-namespace", namespace]
        )
        create(kube_api, namespace, workload("Deployment", "app"))
        client.CoreV1Api(kube_api).create_namespaced_config_map(namespace, {"metadata": {"name": "versions"}})
        create(kube_api, namespace, kcd_body("app", config={"name": "versions", "key": "app"}))
        announce(kube_api, namespace, "Deployment", "app", "bbbbb22")
        wait_status(kube_api, namespace, "app", currStatus="Success", successVersion="bbbbb22")
        forbidden = [ln for ln in ctl.lines() if "403" in str(ln.get("error", "")) or "Forbidden" in ln.get("msg", "")]
        assert forbidden == []
        assert [r["version"] for r in history(kube_api, namespace, "app")][:1] == ["bbbbb22"]
        versions = client.CoreV1Api(kube_api).read_namespaced_config_map("versions", namespace)
        assert versions.data == {"app": "bbbbb22"}
    finally:
        procs.stop()
        helm("uninstall", "kcd", "--namespace", namespace, kubeconfig=cluster.kubeconfig)
