"""The watched state a step reads instead of the API server (kcd.kube.cache): projections, ordering, indexes."""

from __future__ import annotations

from typing import Any

from kcd.engine.view import MANAGERS_KEY
from kcd.kube.cache import Cache
from kcd.kube.projection import project


def deployment(name: str, rv: str, labels: dict[str, str], image: str = "r/app:1", ns: str = "prod") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": rv,
            "labels": labels,
            "annotations": {
                "kcd.io/candidate-version": "v2",
                "kubectl.kubernetes.io/last-applied-configuration": "x" * 5000,
            },
            "managedFields": [
                {
                    "manager": "argocd-controller",
                    "fieldsV1": {
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {"f:image": {}}}}}}
                    },
                },
                {
                    "manager": "kcd",
                    "fieldsV1": {
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {"f:image": {}}}}}}
                    },
                },
            ],
        },
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "app", "image": image, "env": [{"name": "A"}]}]}},
        },
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "t"}],
        },
    }


def kcd(name: str, selector: dict[str, str], ns: str = "prod") -> dict[str, Any]:
    return {
        "kind": "KCD",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": "1"},
        "spec": {"selector": selector},
    }


def test_a_projection_keeps_what_the_engine_reads_and_drops_the_rest() -> None:
    slim = project(deployment("web", "5", {"app": "web"}), "Deployment")
    assert slim["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "r/app:1"}]
    assert slim["metadata"]["annotations"] == {"kcd.io/candidate-version": "v2"}
    assert "managedFields" not in slim["metadata"]
    assert slim[MANAGERS_KEY] == {"app": ["argocd-controller"]}  # kcd's own writes are not "another writer"
    assert slim["status"]["conditions"] == [{"type": "Available", "status": "True", "reason": None, "message": None}]


def test_an_older_resource_version_never_replaces_a_newer_one() -> None:
    cache = Cache()
    cache.put(deployment("web", "10", {"app": "web"}, image="r/app:new"))
    cache.put(deployment("web", "9", {"app": "web"}, image="r/app:old"))  # a late watch event after our own write
    body = cache.get("Deployment", "prod", "web")
    assert body is not None and body["spec"]["template"]["spec"]["containers"][0]["image"] == "r/app:new"


def test_put_tells_whether_anything_but_the_resource_version_changed() -> None:
    cache = Cache()
    assert cache.put(deployment("web", "10", {"app": "web"}))  # first sight
    assert not cache.put(deployment("web", "10", {"app": "web"}))  # the watch event of our own write's response
    assert not cache.put(deployment("web", "11", {"app": "web"}))  # only what the projection drops changed
    assert not cache.put(deployment("web", "9", {"app": "web"}, image="r/app:old"))  # older: not kept
    assert cache.put(deployment("web", "12", {"app": "web"}, image="r/app:2"))
    assert cache.put(deployment("web", "13", {"app": "web", "tier": "x"}, image="r/app:2"))


def _rolling(rv: str, **status: int) -> dict[str, Any]:
    body = deployment("web", rv, {"app": "web"}, image="r/app:2")
    body["metadata"]["generation"] = 2
    body["status"] = {"observedGeneration": 2, **status}
    return body


def test_a_status_update_that_leaves_the_rollout_verdict_alone_wakes_no_kcd() -> None:
    cache = Cache()
    assert cache.put(_rolling("20", replicas=3, updatedReplicas=1, availableReplicas=2))  # first sight
    # Still rolling (the counts moved, the verdict did not): a step would decide exactly as before.
    assert not cache.put(_rolling("21", replicas=3, updatedReplicas=2, availableReplicas=2))
    assert not cache.put(_rolling("22", replicas=2, updatedReplicas=2, availableReplicas=1))
    # Done: every replica runs the new template and is available.
    assert cache.put(_rolling("23", replicas=2, updatedReplicas=2, availableReplicas=2))
    body = cache.get("Deployment", "prod", "web")
    assert body is not None and body["status"]["availableReplicas"] == 2  # the skipped updates were still kept


def test_a_status_update_that_fails_the_rollout_wakes_its_kcd() -> None:
    cache = Cache()
    cache.put(_rolling("20", replicas=2, updatedReplicas=1))
    failed = _rolling("21", replicas=2, updatedReplicas=1)
    failed["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    assert cache.put(failed)


def test_workloads_are_found_by_every_pair_of_the_selector_and_follow_label_changes() -> None:
    cache = Cache()
    cache.put(deployment("web", "1", {"app": "web", "tier": "front"}))
    cache.put(deployment("api", "1", {"app": "api", "tier": "front"}))
    cache.put(deployment("web", "1", {"app": "web"}, ns="other"))
    assert [b["metadata"]["name"] for b in cache.workloads("prod", {"tier": "front", "app": "web"})] == ["web"]
    cache.put(deployment("web", "2", {"app": "moved"}))
    assert cache.workloads("prod", {"app": "web"}) == []
    cache.remove("Deployment", "prod", "api")
    assert cache.workloads("prod", {"tier": "front"}) == []


def test_kcds_selecting_a_workload_are_found_by_its_labels() -> None:
    cache = Cache()
    cache.put(kcd("web", {"app": "web"}))
    cache.put(kcd("both", {"app": "web", "tier": "front"}))
    cache.put(kcd("api", {"app": "api"}))
    names = sorted(b["metadata"]["name"] for b in cache.kcds_selecting("prod", {"app": "web", "tier": "front"}))
    assert names == ["both", "web"]
    assert [b["metadata"]["name"] for b in cache.kcds_selecting("prod", {"app": "web"})] == ["web"]
    cache.remove("KCD", "prod", "web")
    assert cache.kcds_selecting("prod", {"app": "web"}) == []
