"""The whole local environment in one object: control plane, registries in each auth mode and moto ECR.

Used by `make demo` (python -m tests.env) and by the environment benchmark; the pytest fixtures start the same parts
one by one, on demand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.env import cluster as cluster_mod
from tests.env import ecr as ecr_mod
from tests.env import registry as registry_mod
from tests.env.procs import ProcGroup


@dataclass
class Stack:
    workdir: Path
    cluster: cluster_mod.Cluster
    procs: ProcGroup
    registries: dict[str, registry_mod.Registry]
    ecr: ecr_mod.MotoEcr
    timings: dict[str, float] = field(default_factory=dict)

    def rss_bytes(self) -> int:
        own = self.cluster.procs.rss_bytes() if self.cluster.procs else 0
        return own + self.procs.rss_bytes()

    def describe(self) -> str:
        lines = [cluster_mod.describe(self.cluster)]
        for mode, reg in self.registries.items():
            extra = f" (user {reg.user} / {reg.password})" if reg.mode != "anonymous" else ""
            if reg.issuer:
                extra += f", tokens from {reg.issuer.url}"
            lines.append(f"registry:   {reg.host}  [{mode}]{extra}")
        lines.append(f"ecr (moto): {self.ecr.endpoint}  (AWS_ENDPOINT_URL_ECR; account {ecr_mod.ACCOUNT})")
        return "\n".join(lines)

    def stop(self) -> None:
        self.ecr.stop()
        self.procs.stop()
        for reg in self.registries.values():
            reg.stop()
        self.cluster.stop()


def start(workdir: Path, *, modes: tuple[registry_mod.Mode, ...] = ("anonymous", "htpasswd", "token")) -> Stack:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    cluster = cluster_mod.from_env(workdir / "cluster")
    timings["control plane"] = time.monotonic() - t0
    procs = ProcGroup(workdir / "logs")
    try:
        t1 = time.monotonic()
        registries: dict[str, registry_mod.Registry] = {
            mode: registry_mod.start(procs, workdir, mode) for mode in modes
        }
        timings["registries"] = time.monotonic() - t1
        t2 = time.monotonic()
        ecr = ecr_mod.start()
        timings["moto ecr"] = time.monotonic() - t2
    except BaseException:
        procs.stop()
        cluster.stop()
        raise
    timings["total"] = time.monotonic() - t0
    return Stack(workdir=workdir, cluster=cluster, procs=procs, registries=registries, ecr=ecr, timings=timings)
