"""Cluster-side readiness of the local control plane: fake nodes Ready and schedulable, default ServiceAccount there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubernetes import client, config

from tests.env.procs import ProcGroup, wait_until

if TYPE_CHECKING:
    from tests.env.cluster import Cluster


def api_client(cluster: Cluster) -> Any:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


def _node_ready(core: Any, name: str) -> bool:
    node = core.read_node(name)
    ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
    # The node-lifecycle controller removes the not-ready taint only after kwok reports Ready; until then the
    # scheduler refuses the node.
    tainted = any(t.key.startswith("node.kubernetes.io/") for t in (node.spec.taints or []))
    return ready and not tainted


def add_nodes(cluster: Cluster, *, count: int, procs: ProcGroup) -> list[str]:
    api = api_client(cluster)
    core = client.CoreV1Api(api)
    names = [f"kwok-node-{i}" for i in range(count)]
    for name in names:
        core.create_node(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {"kwok.x-k8s.io/node": "fake"},
                    "labels": {"kubernetes.io/os": "linux", "kubernetes.io/hostname": name, "type": "kwok"},
                },
            }
        )
    kwok = next(p for p in procs.procs if p.name == "kwok")
    wait_until(
        lambda: all(_node_ready(core, n) for n in names), what="nodes Ready and untainted", timeout=90, proc=kwok
    )
    kcm = next(p for p in procs.procs if p.name == "kube-controller-manager")
    wait_until(
        lambda: core.read_namespaced_service_account("default", "default") is not None,
        what="the default ServiceAccount",
        timeout=60,
        proc=kcm,
    )
    api.close()
    return names


def ready_endpoints(api: Any, namespace: str, service: str) -> list[str]:
    """Pod names of the ready endpoints in `service`'s EndpointSlices ("nil ready means ready")."""
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    return [
        e.target_ref.name
        for s in slices.items
        for e in (s.endpoints or [])
        if e.conditions is not None and e.conditions.ready is not False and e.target_ref is not None
    ]
