"""`kcd run` for the controller benchmark, with settings that `kcd run` has no flag for (a benchmark-only launcher).

    python -m benchmarks.controller_launch [--idle-resync S] [--profile FILE] -- run ...

Everything after `--` goes to the `kcd` command line unchanged. Without options this is exactly `python -m kcd`.
- `--idle-resync S`: Settings.idle_resync_seconds (300 s in production), so that an idle window of a few minutes
  holds several resyncs of every KCD. `kcd run` builds its Settings from its flags and has none for this one; the
  launcher replaces the Settings that reach `kcd.controller.run`.
- `--profile FILE`: cProfile of the main thread (kopf's event loop; the steps run on pool threads), written at exit.
- `--memdump FILE`: on SIGUSR1, write where the memory is to FILE (benchmarks.controller_memory: RSS, glibc's heap,
  live objects by type, and tracemalloc's top lines when PYTHONTRACEMALLOC is set).
Each option it applies is logged as one JSON line, so the benchmark can check that it took effect.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any


def _say(msg: str, **fields: Any) -> None:
    print(json.dumps({"logger": "benchmarks.controller_launch", "msg": msg, **fields}), file=sys.stderr, flush=True)


def _with_resync(seconds: float) -> None:
    import kcd.controller

    run = kcd.controller.run

    def patched(settings: Any) -> int:
        settings = dataclasses.replace(settings, idle_resync_seconds=seconds)
        _say("idle resync set", idle_resync_seconds=settings.idle_resync_seconds)
        return int(run(settings))

    kcd.controller.run = patched


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="benchmarks.controller_launch")
    parser.add_argument("--idle-resync", type=float, default=None)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--memdump", default=None)
    args = parser.parse_args(argv[:split])
    if args.memdump:
        from benchmarks import controller_memory

        controller_memory.install_dump(args.memdump)
    if args.idle_resync is not None:
        _with_resync(args.idle_resync)
    sys.argv = ["kcd", *argv[split + 1 :]]
    from kcd.cli import main as kcd_main

    profile = None
    if args.profile:
        import cProfile  # only then: the launcher must not add to the controller's RSS

        profile = cProfile.Profile()
    try:
        if profile is not None:
            profile.enable()
        kcd_main()
    finally:
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
