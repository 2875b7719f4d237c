"""The workload kinds kcd manages: the one definition every part (controller, edge, CLI, syncer) derives from.

Selection is by a workload's own metadata labels; ReplicaSets, Jobs and Pods are never selected (the original
matched them and then patched Pods).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # "Deployment"
    group: str  # "apps"
    version: str  # "v1"
    plural: str  # "deployments"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


WORKLOAD_KINDS: tuple[Kind, ...] = (
    Kind("Deployment", "apps", "v1", "deployments"),
    Kind("StatefulSet", "apps", "v1", "statefulsets"),
    Kind("DaemonSet", "apps", "v1", "daemonsets"),
    Kind("CronJob", "batch", "v1", "cronjobs"),
)
NAMES: tuple[str, ...] = tuple(k.name for k in WORKLOAD_KINDS)
_BY_LOWER = {k.name.lower(): k for k in WORKLOAD_KINDS} | {k.plural: k for k in WORKLOAD_KINDS}


def find(text: str) -> Kind | None:
    """A kind by its name or plural, any case ("deployment", "Deployment", "deployments"); None when not managed."""
    return _BY_LOWER.get(text.lower())
