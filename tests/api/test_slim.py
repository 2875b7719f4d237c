"""The store keeps slim projections: what the items read, nothing of the rest of a body."""

from __future__ import annotations

import datetime

from kcd import overview
from kcd.api import slim

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
FULL_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "a",
        "uid": "u1",
        "labels": {"kcdapp": "web"},
        "annotations": {"kcd.io/candidate-version": "bbbbb22", "deployment.kubernetes.io/revision": "3"},
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
    },
    "spec": {
        "replicas": 2,
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "r/web:aaaaa11", "env": [{"name": "A", "value": "1"}]}]},
        },
    },
    "status": {"availableReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
}
KCD = {
    "metadata": {"name": "web", "namespace": "a", "managedFields": [{"manager": "kcd"}]},
    "spec": {"tag": "env-prod", "selector": {"kcdapp": "web"}, "container": {"name": "app"}},
    "status": {"currStatus": "Success", "successVersion": "aaaaa11"},
}


def test_a_slim_workload_yields_the_same_item_as_the_full_body() -> None:
    thin = slim.workload(FULL_DEPLOYMENT, "Deployment")

    assert overview.items([slim.kcd(KCD)], [thin], [], NOW) == overview.items([KCD], [FULL_DEPLOYMENT], [], NOW)


def test_a_slim_workload_drops_managed_fields_other_annotations_and_the_pod_spec_beyond_images() -> None:
    thin = slim.workload(FULL_DEPLOYMENT, "Deployment")

    assert thin["metadata"] == {
        "name": "web",
        "namespace": "a",
        "labels": {"kcdapp": "web"},
        "annotations": {"kcd.io/candidate-version": "bbbbb22"},
    }
    assert thin["spec"] == {"template": {"spec": {"containers": [{"name": "app", "image": "r/web:aaaaa11"}]}}}
    assert thin["status"] == {"availableReplicas": 2}
    assert "managedFields" not in slim.kcd(KCD)["metadata"]
