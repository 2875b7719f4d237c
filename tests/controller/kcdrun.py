"""Start `kcd run` as a real process against the test cluster, with its log kept for assertions and failure reports."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.env.procs import Proc, ProcGroup, free_port, wait_until


class Controller:
    def __init__(self, proc: Proc, port: int) -> None:
        self.proc = proc
        self.port = port

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.proc.log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def image_patches(self, kcd: str | None = None) -> list[dict[str, Any]]:
        return [ln for ln in self.lines() if ln.get("msg") == "image set" and (kcd is None or ln.get("kcd") == kcd)]

    def ready(self) -> bool:
        return self.probe("/readyz")[0] == 200

    def leads(self) -> bool:
        """Ready as the leader (/readyz names the role: a standby is Ready too)."""
        return self.probe("/readyz") == (200, "ready (leader)")

    def probe(self, path: str) -> tuple[int, str]:
        return probe(self.port, path)


def probe(port: int, path: str) -> tuple[int, str]:
    """(status, body) of one of the controller's probes on 127.0.0.1:`port`; (0, "") while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:  # noqa: S310
            return int(resp.status), resp.read().decode().strip()
    except urllib.error.HTTPError as err:
        with err:
            return int(err.code), err.read().decode().strip()
    except OSError:
        return 0, ""


def start(
    procs: ProcGroup,
    kubeconfig: Path,
    *,
    name: str = "kcd-controller",
    extra: list[str] | None = None,
    wait_ready: bool = True,
    env: dict[str, str] | None = None,
) -> Controller:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "kcd",
        "run",
        "--kubeconfig",
        str(kubeconfig),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
        *(extra or []),
    ]
    proc = procs.start(name, argv, env=env)
    ctl = Controller(proc, port)
    if wait_ready:
        wait_until(ctl.ready, what=f"{name} /readyz", timeout=30, proc=proc)
    return ctl
