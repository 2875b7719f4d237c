"""Where the built test binaries live: ~/.cache/kcd/bin/<tool>-v<version>/ (tools/testenv/build.sh fills it)."""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path

from tests.env.procs import EnvError

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = ROOT / "tools" / "testenv" / "versions.env"
BUILD_HINT = "run `tools/testenv/build.sh` (or `make env`) to build it"


def cache_dir() -> Path:
    return Path(os.environ.get("KCD_CACHE", Path.home() / ".cache" / "kcd"))


@cache
def versions() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in VERSIONS_FILE.read_text().splitlines() if "=" in line and line[0] != "#")
    return {k.strip(): v.strip() for k, v in pairs}


_DIRS = {
    "etcd": "etcd-v{ETCD_VERSION}",
    "kube-apiserver": "kube-v{KUBE_VERSION}",
    "kube-controller-manager": "kube-v{KUBE_VERSION}",
    "kube-scheduler": "kube-v{KUBE_VERSION}",
    "kubectl": "kube-v{KUBE_VERSION}",
    "kwok": "kwok-v{KWOK_VERSION}",
    "helm": "helm-v{HELM_VERSION}",
    "ct": "ct-v{CT_VERSION}",
}


def binary(name: str) -> Path:
    """The cached binary, or EnvError with one line saying what is missing and how to get it."""
    directory = cache_dir() / "bin" / _DIRS[name].format(**versions())
    path = directory / name
    if not (directory / ".ok").exists() or not path.exists():
        raise EnvError(f"{name} is missing at {path}: {BUILD_HINT}")
    return path


def system_binary(name: str, package: str) -> Path:
    found = shutil.which(name)
    if not found:
        raise EnvError(f"{name} is missing: apt-get install {package}")
    return Path(found)


def bin_path() -> str:
    """A PATH with every cached tool directory first (helm, ct and kubectl shell out to each other)."""
    dirs = [str(cache_dir() / "bin" / _DIRS[n].format(**versions())) for n in ("kubectl", "helm", "ct")]
    # The venv's bin holds yamllint and yamale, which ct runs.
    return os.pathsep.join([*dirs, str(Path(sys.executable).parent), os.environ.get("PATH", "")])
