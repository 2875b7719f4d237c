"""A real control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.

kwok plays the kubelet for fake nodes (pods become Running/Ready, Job pods Succeed, deleted pods go away,
and pods marked with a fault misbehave; see kwok-stages.yaml). Nothing ever connects to a pod IP or a ClusterIP:
they are not real hosts.

Optional, off by default: the API server's audit log (`start(audit_log=…)`, tests/env/audit.py), and kubeconfigs for
other users than the admin (`Cluster.user_kubeconfig`), so that one process's requests can be told apart in that log.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.env import audit, binaries
from tests.env.kubeready import add_nodes
from tests.env.pki import Pki, make_pki, user_cert, write_kubeconfig
from tests.env.procs import EnvError, ProcGroup, free_port, wait_until

STAGES = Path(__file__).with_name("kwok-stages.yaml")
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"


@dataclass
class Cluster:
    """What a test needs to reach a cluster: a kubeconfig. `procs` is empty for an existing cluster."""

    kubeconfig: Path
    server: str
    workdir: Path
    pki: Pki | None = None
    procs: ProcGroup | None = None
    nodes: list[str] = field(default_factory=list)
    audit_log: Path | None = None  # the API server's audit log, when started with one

    @property
    def local(self) -> bool:
        return self.procs is not None

    def user_kubeconfig(self, user: str, *, group: str | None = "system:masters") -> Path:
        """A kubeconfig for a client cert of `user` in `group` (default: another admin, under its own name)."""
        if self.pki is None:
            raise EnvError("user kubeconfigs need the local control plane's CA (unset KCD_TEST_KUBECONFIG)")
        cert = user_cert(self.pki, self.workdir / "pki" / "users", user=user, group=group)
        return write_kubeconfig(self.workdir / f"kubeconfig-{user}", server=self.server, pki=self.pki, cert=cert)

    def stop(self) -> None:
        if self.procs is not None:
            self.procs.stop()


def _https_ok(url: str, ca: Path) -> bool:
    ctx = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(url, context=ctx, timeout=2) as resp:  # noqa: S310 - loopback only
        return bool(resp.status == 200)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
        return bool(resp.status == 200)


def _start_etcd(procs: ProcGroup, workdir: Path) -> int:
    port, peer = free_port(), free_port()
    proc = procs.start(
        "etcd",
        [
            str(binaries.binary("etcd")),
            "--name=default",
            f"--data-dir={workdir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{port}",
            f"--advertise-client-urls=http://127.0.0.1:{port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}",
            "--listen-metrics-urls=",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
            "--auto-compaction-retention=1",
            "--log-level=warn",
        ],
    )
    wait_until(lambda: _http_ok(f"http://127.0.0.1:{port}/health"), what="etcd health", timeout=30, proc=proc)
    return port


def _start_apiserver(procs: ProcGroup, pki: Pki, etcd_port: int, extra: Sequence[str] = ()) -> int:
    port = free_port()
    proc = procs.start(
        "kube-apiserver",
        [
            str(binaries.binary("kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--tls-cert-file={pki.admin_cert}",
            f"--tls-private-key-file={pki.admin_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            # Tests and benchmarks make many requests in bursts; flow control only slows them down here.
            "--enable-priority-and-fairness=false",
            "--max-requests-inflight=0",
            "--max-mutating-requests-inflight=0",
            "--endpoint-reconciler-type=none",
            # bench_controller --pprof (a diagnostic) asks for the API server's pprof endpoints.
            f"--profiling={'true' if os.environ.get('KCD_TEST_APISERVER_PROFILING') else 'false'}",
            *extra,
        ],
    )
    wait_until(
        lambda: _https_ok(f"https://127.0.0.1:{port}/readyz", pki.ca_cert),
        what="kube-apiserver /readyz",
        timeout=90,
        proc=proc,
    )
    return port


def _start_controllers(procs: ProcGroup, pki: Pki, kubeconfig: Path, workdir: Path) -> None:
    common = [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--profiling=false",
        # Benchmarks create hundreds of workloads; the default client QPS (20-50) would dominate their figures.
        "--kube-api-qps=300",
        "--kube-api-burst=600",
    ]
    procs.start(
        "kube-controller-manager",
        [
            str(binaries.binary("kube-controller-manager")),
            *common,
            f"--secure-port={free_port()}",
            f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.sa_key}",
            "--use-service-account-credentials=false",
            # Fewer idle controllers: no cloud, no node IPAM (kwok assigns pod IPs), faster node health.
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
            "--node-monitor-grace-period=60s",
            "--concurrent-deployment-syncs=10",
            "--concurrent-replicaset-syncs=10",
        ],
    )
    procs.start("kube-scheduler", [str(binaries.binary("kube-scheduler")), *common, f"--secure-port={free_port()}"])
    config = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {
            "manageAllNodes": True,
            "nodeIP": "127.0.0.1",  # the apiserver dials InternalIP for logs/exec: it must stay loopback
            "cidr": POD_CIDR,
            "nodeLeaseDurationSeconds": 40,
            # Stated explicitly: with a config file kwok v0.8.0 leaves these at 0 and refuses to start.
            "nodeLeaseParallelism": 4,
            "podPlayStageParallelism": 8,
            "nodePlayStageParallelism": 4,
            "podsOnNodeSyncParallelism": 2,
        },
    }
    kwok_port = free_port()
    kwok_config = workdir / "kwok.yaml"
    kwok_config.write_text(yaml.safe_dump(config) + "---\n" + STAGES.read_text())
    procs.start(
        "kwok",
        [
            str(binaries.binary("kwok")),
            f"--kubeconfig={kubeconfig}",
            f"--config={kwok_config}",
            "--manage-all-nodes=true",
            "--node-ip=127.0.0.1",
            f"--node-port={kwok_port}",
            f"--server-address=127.0.0.1:{kwok_port}",
            f"--tls-cert-file={pki.admin_cert}",
            f"--tls-private-key-file={pki.admin_key}",
        ],
    )


def start(
    workdir: Path,
    *,
    nodes: int = 1,
    full: bool = True,
    audit_log: Path | None = None,
    audit_users: Sequence[str] = (),
) -> Cluster:
    """Start a control plane under `workdir`; `full=False` gives only etcd + kube-apiserver (nothing reconciles).

    `audit_log`: the API server writes its audit log there (Metadata level, ResponseComplete only; only the requests
    of `audit_users` when given). Off by default: tests do not pay for it.
    """
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        binaries.binary(name)  # fail fast, with one line, before starting anything
    workdir.mkdir(parents=True, exist_ok=True)
    procs = ProcGroup(workdir / "logs")
    try:
        pki = make_pki(workdir / "pki")
        flags: list[str] = []
        if audit_log is not None:
            policy = audit.write_policy(workdir / "audit-policy.yaml", users=audit_users)
            flags = audit.apiserver_flags(policy, audit_log)
        api_port = _start_apiserver(procs, pki, _start_etcd(procs, workdir), flags)
        server = f"https://127.0.0.1:{api_port}"
        kubeconfig = write_kubeconfig(workdir / "kubeconfig", server=server, pki=pki)
        cluster = Cluster(
            kubeconfig=kubeconfig, server=server, workdir=workdir, pki=pki, procs=procs, audit_log=audit_log
        )
        if full:
            _start_controllers(procs, pki, kubeconfig, workdir)
            cluster.nodes = add_nodes(cluster, count=nodes, procs=procs)
        return cluster
    except BaseException:
        procs.stop()
        raise


def existing(kubeconfig: str, workdir: Path) -> Cluster:
    """Use a cluster the developer already has (kind, k3d, …): KCD_TEST_KUBECONFIG=<path>."""
    path = Path(kubeconfig).expanduser()
    if not path.exists():
        raise EnvError(f"KCD_TEST_KUBECONFIG={kubeconfig} does not exist")
    data = yaml.safe_load(path.read_text())
    context = data.get("current-context")
    ctx: dict[str, str] = next((c["context"] for c in data.get("contexts", []) if c["name"] == context), {})
    server = next((c["cluster"]["server"] for c in data.get("clusters", []) if c["name"] == ctx.get("cluster")), "")
    return Cluster(kubeconfig=path, server=server, workdir=workdir)


def from_env(
    workdir: Path,
    *,
    nodes: int = 1,
    full: bool = True,
    audit_log: Path | None = None,
    audit_users: Sequence[str] = (),
) -> Cluster:
    external = os.environ.get("KCD_TEST_KUBECONFIG")
    if external:
        if audit_log is not None:
            raise EnvError("an audit log needs the local control plane: unset KCD_TEST_KUBECONFIG")
        return existing(external, workdir)
    return start(workdir, nodes=nodes, full=full, audit_log=audit_log, audit_users=audit_users)


def describe(cluster: Cluster) -> str:
    lines = [f"kubeconfig: {cluster.kubeconfig}", f"apiserver:  {cluster.server}"]
    if cluster.procs:
        lines.append(f"logs:       {cluster.procs.logdir}")
    with contextlib.suppress(Exception):
        lines.append(f"nodes:      {', '.join(cluster.nodes)}")
    return "\n".join(lines)
