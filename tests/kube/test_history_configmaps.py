"""The history ConfigMaps on the local control plane (kcd.kube.cluster.ConfigMapHistory): one write per record when
the adapter wrote the ConfigMap before, and nothing lost when it did not (a restarted controller) or when someone
else changed it in between."""

from __future__ import annotations

from typing import Any

from kcd import history
from kcd.kube.api import CONFIGMAPS, Kube
from kcd.kube.cluster import ConfigMapHistory
from kcd.model import Outcome


def _record(version: str, time: str = "2026-11-26T12:00:00Z") -> history.Record:
    return history.Record(
        version=version, time=time, kcd="web", type="Deployment", name="web", container="app", outcome=Outcome.SUCCESS
    )


def test_a_restarted_adapter_keeps_the_records_of_the_configmap_it_did_not_write(kube_api: Any, namespace: str) -> None:
    kube = Kube(kube_api)  # shares the session's client: closing it here would close theirs
    ConfigMapHistory(kube).add(namespace, "web", _record("v1"), max_entries=10)
    restarted = ConfigMapHistory(kube)
    restarted.add(namespace, "web", _record("v2", "2026-11-26T13:00:00Z"), max_entries=10)
    assert [r.version for r in restarted.load(namespace, "web")] == ["v2", "v1"]


def test_a_change_by_someone_else_between_two_records_is_kept(kube_api: Any, namespace: str) -> None:
    kube = Kube(kube_api)
    store = ConfigMapHistory(kube)
    store.add(namespace, "web", _record("v1"), max_entries=10)
    other = history.encode([_record("by-hand", "2026-11-26T12:30:00Z"), _record("v1")])
    kube.patch(
        CONFIGMAPS, namespace, "web.history", {"metadata": {"labels": {"team": "a"}}, "data": {"history": other}}
    )
    store.add(namespace, "web", _record("v2", "2026-11-26T13:00:00Z"), max_entries=10)
    cm = kube.get(CONFIGMAPS, namespace, "web.history")
    assert [r.version for r in history.decode(cm["data"]["history"])] == ["v2", "by-hand", "v1"]
    assert cm["metadata"]["labels"] == {"team": "a", history.LABEL: history.LABEL_VALUE}
