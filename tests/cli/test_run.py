"""`kcd run` refuses a configuration it cannot use with one line, before starting anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_run_with_an_unreadable_kubeconfig_fails_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    out = subprocess.run(
        [sys.executable, "-m", "kcd", "run", "--kubeconfig", str(missing), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("Error: cannot load the Kubernetes configuration: ")
