"""The KCD CRD as the tests install it: charts/kcd/templates/crd.yaml with its template lines dropped.

The chart template is the single source of the schema. Every template expression in it sits on a line of its own
(the `crds.install` guard, the chart labels, the `crds.keep` annotation), so dropping the lines that hold `{{` leaves
the plain manifest, with no helm run and no dependence on the chart's other templates. A chart test checks that
`helm template` renders the same spec.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

CRD_TEMPLATE = Path(__file__).resolve().parent.parent / "charts" / "kcd" / "templates" / "crd.yaml"
CRD_NAME = "kcds.kcd.io"


@functools.cache
def _load() -> dict[str, Any]:
    lines = [line for line in CRD_TEMPLATE.read_text().splitlines() if "{{" not in line]
    manifest = yaml.safe_load("\n".join(lines))
    if not isinstance(manifest, dict) or manifest.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"{CRD_TEMPLATE} does not hold a CustomResourceDefinition once its template lines are dropped")
    return manifest


def crd_manifest() -> dict[str, Any]:
    """A fresh copy of the CRD manifest (callers may change it)."""
    return copy.deepcopy(_load())


def kcd_schema() -> dict[str, Any]:
    """The openAPIV3Schema of version v1 (a fresh copy)."""
    (version,) = [v for v in crd_manifest()["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def install(api_client: Any, *, timeout: float = 60) -> None:
    """Create or replace the CRD through `api_client` (kubernetes.client.ApiClient) and wait until it is Established."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    from tests.env.procs import wait_until

    ext = client.ApiextensionsV1Api(api_client)
    body = crd_manifest()
    try:
        current = ext.read_custom_resource_definition(CRD_NAME)
    except ApiException as err:
        if err.status != 404:
            raise
        ext.create_custom_resource_definition(body)
    else:  # keep whatever owns it (a helm release installed before the tests) able to adopt it again
        meta = body["metadata"]
        meta["labels"] = {**(current.metadata.labels or {}), **meta.get("labels", {})}
        meta["annotations"] = {**(current.metadata.annotations or {}), **meta.get("annotations", {})}
        meta["resourceVersion"] = current.metadata.resource_version
        ext.replace_custom_resource_definition(CRD_NAME, body)

    def established() -> bool:
        status = ext.read_custom_resource_definition(CRD_NAME).status
        return any(c.type == "Established" and c.status == "True" for c in status.conditions or [])

    wait_until(established, what=f"CRD {CRD_NAME} Established", timeout=timeout)


def original_example(*, name: str = "kcdkcd", namespace: str = "kube-system") -> dict[str, Any]:
    """The original kcd's example KCD (k8s/kubectl/kcd.yaml, seed-kcd.md §8) with only apiVersion changed."""
    return {
        "apiVersion": "kcd.io/v1",
        "kind": "KCD",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "imageRepo": "nearmap/kcd",
            "tag": "latest",
            "pollIntervalSeconds": 300,
            "selector": {"kcdapp": "kcdkcd"},
            "container": {"name": "kcd"},
            "config": {"name": "kcd", "key": "version"},
        },
    }


def drop_nulls(value: Any) -> Any:
    """`value` without null members, as the API server prunes them (for schema checks of merge-patch shapes)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value
