"""Benchmark of the local test environment: cold build times (recorded by build.sh), warm start time and total RSS.

Baseline in the same run: a bare control plane (etcd + kube-apiserver only, what envtest offers), against which the
whole environment (plus kcm, scheduler, kwok with a Ready node, three registries and moto ECR) is compared.
Run: make bench-env   (or .venv/bin/python -m benchmarks.bench_env --runs 3)
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tests.env import binaries, stack
from tests.env import cluster as cluster_mod

MB = 1024 * 1024


def _recorded_build_times() -> list[str]:
    path = binaries.cache_dir() / "build-times.tsv"
    if not path.exists():
        return ["  (no build-times.tsv: the binaries were built before build.sh recorded times)"]
    return [f"  {line}" for line in path.read_text().splitlines()]


def _baseline_start() -> float:
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-base-"))
    t0 = time.monotonic()
    cl = cluster_mod.start(workdir, full=False)
    elapsed = time.monotonic() - t0
    cl.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    return elapsed


def _full_start() -> tuple[float, dict[str, float], int]:
    workdir = Path(tempfile.mkdtemp(prefix="kcd-bench-full-"))
    st = stack.start(workdir)
    time.sleep(2)  # let the components finish their first sync before reading RSS
    rss = st.rss_bytes()
    timings = dict(st.timings)
    st.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    return timings["total"], timings, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print("kcd test environment benchmark")
    print("cold builds recorded by tools/testenv/build.sh (tool, version, seconds):")
    print("\n".join(_recorded_build_times()))
    base = [_baseline_start() for _ in range(args.runs)]
    full: list[float] = []
    rss: list[int] = []
    parts: list[dict[str, float]] = []
    for _ in range(args.runs):
        total, timings, used = _full_start()
        full.append(total)
        parts.append(timings)
        rss.append(used)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # moto + token issuer run in-process
    med_base, med_full = statistics.median(base), statistics.median(full)
    print(f"warm start, baseline etcd+apiserver: median {med_base:.1f}s  (runs: {', '.join(f'{b:.1f}' for b in base)})")
    print(f"warm start, whole environment:       median {med_full:.1f}s  (runs: {', '.join(f'{f:.1f}' for f in full)})")
    for key in ("control plane", "registries", "moto ecr"):
        print(f"    {key:14s} median {statistics.median(p[key] for p in parts):.1f}s")
    print(
        f"ratio whole/baseline: {med_full / med_base:.2f}x   goal: whole environment <= 30 s -> "
        f"{'met' if med_full <= 30 else 'NOT met'}"
    )
    print(
        f"RSS of the environment's processes: median {statistics.median(rss) / MB:.0f} MB; "
        f"plus the Python process holding moto and the token issuer: {own_rss / MB:.0f} MB (max RSS)"
    )


if __name__ == "__main__":
    main()
