"""Where the controller's memory goes at N workloads (a diagnostic, not part of `make bench-controller`).

    .venv/bin/python -m benchmarks.controller_memory --size 2000 [--tracemalloc 1] [--arena-max N] [--no-storm]

On the local control plane (no audit log): N Deployments with one KCD each, `kcd run` as the chart runs it (through
benchmarks.controller_launch --memdump), its start-up steps, the all-live storm of bench_controller, the quiet tail,
12 s; then SIGUSR1 makes the controller write a dump (RSS, glibc's heap in use and free, live objects by type with
their shallow size, tracemalloc's top lines when `--tracemalloc` frames are traced), which is printed.
Tracing slows the controller (several times): use it for where, not for how fast.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOP = 40


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_size_t)
        for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def _heap() -> list[str]:
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return ["mallinfo2: not available"]
    fn.restype = _MallInfo2
    info = fn()

    def mb(value: int) -> str:
        return f"{value / 2**20:.1f} MB"

    return [
        f"heap: arena {mb(info.arena)}, in use {mb(info.uordblks)}, free {mb(info.fordblks)}, mmap {mb(info.hblkhd)}"
    ]


def _objects() -> list[str]:
    counts: collections.Counter[str] = collections.Counter()
    sizes: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    lines = [f"gc objects: {sum(counts.values())}, shallow {sum(sizes.values()) / 2**20:.1f} MB"]
    lines += [f"  {name}: {counts[name]} objects, {size / 2**20:.2f} MB" for name, size in sizes.most_common(TOP)]
    return lines


def _traced() -> list[str]:
    import tracemalloc

    if not tracemalloc.is_tracing():
        return ["tracemalloc: off"]
    snap = tracemalloc.take_snapshot()
    lines = [f"traced: {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MB"]
    for group in ("filename", "lineno"):
        for stat in snap.statistics(group)[:TOP]:
            lines.append(f"  {stat.size / 2**10:9.0f} KiB {stat.count:8d} {stat.traceback}")
    tb = snap.statistics("traceback")[:15]
    for stat in tb:
        lines.append(f"-- {stat.size / 2**10:.0f} KiB {stat.count}")
        lines += [f"     {frame}" for frame in stat.traceback.format()[-12:]]
    return lines


def _status() -> list[str]:
    keep = ("VmRSS", "VmHWM", "RssAnon", "Threads")
    return [ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith(keep)]


def install_dump(path: str) -> None:
    """In the controller: SIGUSR1 writes the dump to `path` (on the main thread, between two of kopf's callbacks)."""

    def dump(*_: Any) -> None:
        gc.collect()
        lines = _status() + _heap() + _objects() + _traced()
        Path(path + ".tmp").write_text("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)

    signal.signal(signal.SIGUSR1, dump)


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.controller_memory")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--tracemalloc", type=int, default=0, help="frames per traced allocation (0: off)")
    parser.add_argument("--arena-max", type=int, default=0, help="MALLOC_ARENA_MAX for the controller (0: unset)")
    parser.add_argument("--no-storm", action="store_true", help="dump after the start-up steps, without the storm")
    args = parser.parse_args()

    from benchmarks import bench_controller as bench
    from benchmarks import controller_storms as storms
    from benchmarks.controller_report import Phases
    from tests import crd
    from tests.controller import kcdrun
    from tests.env import cluster as cluster_mod
    from tests.env.kubeready import api_client
    from tests.env.procs import ProcGroup, free_port, wait_until

    workdir = Path(tempfile.mkdtemp(prefix="kcd-mem-"))
    cl = cluster_mod.from_env(workdir / "cluster")
    procs = ProcGroup(workdir / "logs")
    api = api_client(cl)
    try:
        crd.install(api)
        env = storms.Env(cl, api, procs, cl.kubeconfig, argparse.Namespace(profile=None))
        ns, names = "mem", [f"w{i}" for i in range(args.size)]
        t0 = time.time()
        obs = storms.setup(env, ns, names)
        print(f"set up {args.size} in {time.time() - t0:.0f} s", flush=True)
        dump, port = workdir / "memdump.txt", free_port()
        argv = [sys.executable, "-m", "benchmarks.controller_launch", "--memdump", str(dump), "--", "run"]
        argv += ["--kubeconfig", str(cl.kubeconfig), "--bind", "127.0.0.1", "--port", str(port)]
        argv += ["--log-level", "info", "--namespace", ns]
        extra = {"PYTHONTRACEMALLOC": str(args.tracemalloc)} if args.tracemalloc else {}
        if args.arena_max:
            extra["MALLOC_ARENA_MAX"] = str(args.arena_max)
        ctl = kcdrun.Controller(procs.start("kcd", argv, env={**bench.CONTROLLER_ENV, **extra}), port)
        wait_until(ctl.ready, what="/readyz", timeout=120, proc=ctl.proc)
        n = args.size
        wait_until(lambda: len(obs.with_status) == n, what="first statuses", timeout=600 + n, proc=ctl.proc)
        storms.wait_quiet(obs)
        print(f"start-up done at {time.time() - t0:.0f} s, RSS {ctl.proc.rss_bytes() / 2**20:.0f} MB", flush=True)
        if not args.no_storm:
            live = bench.all_live(env, ctl, ns, names, obs, Phases(started=time.time()))
            print(f"all live in {max(live.success):.1f} s", flush=True)
        time.sleep(12)
        print(f"RSS idle: {ctl.proc.rss_bytes() / 2**20:.1f} MB", flush=True)
        os.kill(ctl.proc.popen.pid, signal.SIGUSR1)
        wait_until(dump.exists, what="the memory dump", timeout=300, proc=ctl.proc)
        print(dump.read_text())
    finally:
        procs.stop()
        api.close()
        cl.stop()


if __name__ == "__main__":
    main()
