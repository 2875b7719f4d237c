"""Settings of the controller process (`kcd run`), built once from the command line and passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    kubeconfig: str | None = None
    namespace: str | None = None  # watch one namespace; None watches all
    port: int = 8081
    bind: str = "0.0.0.0"  # noqa: S104 - the pod's API port; tests pass 127.0.0.1
    leader_elect: bool = False
    lease_namespace: str = "default"
    lease_name: str = "kcd-controller"
    lease_seconds: int = 15
    log_level: str = "info"
    # A safety net only: drift and new candidates arrive as workload events. Every resync costs five API calls.
    idle_resync_seconds: float = 300.0
    progress_poll_seconds: float = 2.0  # re-check of an in-flight rollout besides the workload events
    # Threads making API calls for the reconcile steps. 16 patched a 1,000-candidate storm's last image 1.6 s after the
    # last announcement (8: 18 s) but took RSS at 2,000 KCDs to 181 MB (goal 180) for the same all-live ratio.
    max_workers: int = 8
    error_backoff_seconds: float = 5.0  # after a step raised something unexpected (a bug, not an API error)
