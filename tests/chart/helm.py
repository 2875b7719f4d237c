"""Run the real helm and ct binaries (built into ~/.cache/kcd/bin) against charts/kcd."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.env import binaries

CHART = binaries.ROOT / "charts" / "kcd"
LIBRARY = binaries.ROOT / "charts" / "kcd-syncer"
EXAMPLE_APP = binaries.ROOT / "charts" / "examples" / "app"
KUBE_VERSION = binaries.versions()["KUBE_VERSION"]


def tool_env(kubeconfig: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PATH": binaries.bin_path(), "HELM_CACHE_HOME": str(binaries.cache_dir() / "helm-cache")}
    env["HELM_CONFIG_HOME"] = str(binaries.cache_dir() / "helm-config")
    env["HELM_DATA_HOME"] = str(binaries.cache_dir() / "helm-data")
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def run(argv: list[str], *, kubeconfig: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=binaries.ROOT, env=tool_env(kubeconfig), capture_output=True, text=True, timeout=300, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def helm(*args: str, kubeconfig: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    build_dependencies()
    return run([str(binaries.binary("helm")), *args], kubeconfig=kubeconfig, check=check)


def build_dependencies() -> None:
    """`helm dependency build` for the charts that use the kcd-syncer library chart (a clean clone has no
    charts/*/charts/*.tgz), again whenever the library changed since the last build."""
    newest = max(p.stat().st_mtime for p in LIBRARY.rglob("*") if p.is_file())
    for chart in (CHART, EXAMPLE_APP):
        built = list((chart / "charts").glob("kcd-syncer-*.tgz"))
        if not built or min(p.stat().st_mtime for p in built) < newest:
            run([str(binaries.binary("helm")), "dependency", "build", str(chart)])


def template(*args: str) -> list[dict[str, Any]]:
    out = helm("template", "kcd", str(CHART), "--namespace", "kcd", "--kube-version", KUBE_VERSION, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def install(namespace: str, kubeconfig: Path, *extra: str, release: str = "kcd") -> str:
    """Install the chart with the default ci values and without its CRD (the session's tests share one, which a
    release must not own); returns helm's output (NOTES included)."""
    values = str(CHART / "ci" / "default-values.yaml")
    args = ("install", release, str(CHART), "--namespace", namespace, "-f", values, "--set", "crds.install=false")
    return helm(*args, *extra, kubeconfig=kubeconfig).stdout
