"""``kcd api`` under gunicorn: one worker process with threads (gthread), the Flask app built in the worker.

``python -m kcd.api.serve [--bind H:P] [--namespace NS] [--enable-writes] [--kubeconfig PATH] [--threads N]``

``kcd api`` execs this module instead of serving from the CLI process: the CLI's command modules import the
``kubernetes`` client (55 MB), which a forked worker would carry for its whole life; this entry point imports only
gunicorn, and the worker only Flask, the rest client and the pure modules. The app (and with it the store's watch
threads) is created by the worker after gunicorn's fork, never in the master: threads do not survive a fork.
One worker, because the cache is per process: more workers would multiply the watches and the memory.

Memory (the budget is 80 MB): glibc gives each thread that allocates under contention an arena of its own, and a
worker has ~16 threads (gunicorn's, the store's watches) whose renders leave each arena fragmented: with 2 arenas the
worker's RSS after load at 2,000 workloads is ~12 MB lower (``malloc_arenas``, set before any thread starts).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from kcd.api import Settings


class Server(BaseApplication):  # type: ignore[misc] # gunicorn ships no type hints
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        from kcd.api.app import create_app  # in the worker, after the fork

        return create_app(settings=self.settings)


def options(bind: str, threads: int) -> dict[str, Any]:
    return {
        "bind": [bind],
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,  # clients that poll every few seconds keep their connection
        "preload_app": False,
        "proc_name": "kcd-api",
        "errorlog": "-",
        "loglevel": "info",
    }


M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2


def malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas (inherited by gunicorn's forked worker); False where there is no glibc."""
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, count))
    return False


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kcd api")
    parser.add_argument("--bind", default="127.0.0.1:8081")
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--enable-writes", action="store_true")
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--threads", type=int, default=8)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(namespace=args.namespace, writes_enabled=args.enable_writes, kubeconfig=args.kubeconfig)
    malloc_arenas(ARENAS)
    Server(settings, options(args.bind, args.threads)).run()


if __name__ == "__main__":
    main()
