"""``kcd api`` under gunicorn: one worker process with threads (gthread), the Flask app built in the worker.

``python -m kcd.api.serve [--bind H:P] [--namespace NS] [--enable-writes] [--kubeconfig PATH] [--threads N]``

``kcd api`` execs this module instead of serving from the CLI process: the CLI's command modules import the
``kubernetes`` client (55 MB), which a forked worker would carry for its whole life; this entry point imports only
gunicorn, and the worker only Flask, the rest client and the pure modules. The app (and with it the store's watch
threads) is created by the worker after gunicorn's fork, never in the master: threads do not survive a fork.
One worker, because the cache is per process: more workers would multiply the watches and the memory.
"""

from __future__ import annotations

import argparse
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
    Server(settings, options(args.bind, args.threads)).run()


if __name__ == "__main__":
    main()
