"""Entry point of the syncer sidecar (``kcd-syncer``, also ``kcd registry sync``): configuration from the environment.

Contract variables: ``KCD_NAMESPACE``, ``KCD_NAME``, ``KCD_WORKLOAD_KIND`` (a ``kcd.kinds`` kind, by name or plural in
any case), ``KCD_WORKLOAD_NAME``, ``POD_NAME``.
Optional: ``KCD_SYNCER_ADDRESS`` (default ``0.0.0.0``) and ``KCD_SYNCER_PORT`` (default 8082; 0 picks a free port,
logged) for ``/healthz`` and ``/metrics``; ``KCD_DOCKER_CONFIG`` (a mounted ``.dockerconfigjson``) for private OCI
registries; ``KCD_REGISTRY_TIMEOUT`` (seconds per registry response, default 15); ``KCD_INSECURE_REGISTRIES``
(comma-separated hosts reached over plain HTTP; loopback hosts always are); the API server settings of
``sidecar.kubeapi``. SIGTERM/SIGINT: finish the current step, release the Lease, exit 0.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from types import FrameType

from kcd import kinds, registries, syncercontainer
from kcd.registries import dockerconfig
from sidecar import kubeapi, serving
from sidecar.syncer import Settings, Syncer

log = logging.getLogger("kcd.syncer")


def settings_from(environ: Mapping[str, str]) -> Settings:
    c = syncercontainer
    names = (c.ENV_NAMESPACE, c.ENV_KCD, c.ENV_WORKLOAD_KIND, c.ENV_WORKLOAD_NAME)
    missing = [n for n in names if not environ.get(n)]
    if missing:
        raise ValueError(f"missing environment: {', '.join(missing)}")
    given = environ[c.ENV_WORKLOAD_KIND]
    kind = kinds.find(given)
    if kind is None:  # the controller reads candidates from these kinds only: another kind's would never be seen
        raise ValueError(f"{c.ENV_WORKLOAD_KIND} {given!r} is not one of {', '.join(kinds.NAMES)}")
    return Settings(
        namespace=environ[c.ENV_NAMESPACE],
        kcd=environ[c.ENV_KCD],
        workload_kind=kind.name.lower(),  # one spelling, so every replica computes the same Lease name
        workload_name=environ[c.ENV_WORKLOAD_NAME],
        pod_name=environ.get(c.ENV_POD) or socket.gethostname(),
    )


def _registry_factory(environ: Mapping[str, str]) -> functools.partial[registries.Registry]:
    config = dockerconfig.load(dockerconfig.default_path(environ))
    insecure = [h.strip() for h in environ.get("KCD_INSECURE_REGISTRIES", "").split(",") if h.strip()]
    timeout = float(environ.get("KCD_REGISTRY_TIMEOUT", "15"))
    return functools.partial(
        registries.for_repo, docker_config=config, insecure=insecure, max_wait=0, attempts=2, timeout=timeout
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    environ = os.environ
    try:
        settings = settings_from(environ)
        api = kubeapi.from_env(environ)
        factory = _registry_factory(environ)
    except (ValueError, OSError) as err:
        sys.stderr.write(f"kcd-syncer: {err}\n")
        sys.exit(2)
    metrics = serving.Metrics()
    syncer = Syncer(settings, api, registry_factory=factory, observer=metrics)
    port = int(environ.get("KCD_SYNCER_PORT", "8082"))
    server = serving.serve(environ.get("KCD_SYNCER_ADDRESS", "0.0.0.0"), port, syncer.healthy, metrics)  # noqa: S104
    log.info("serving /healthz and /metrics on port %d", server.server_address[1])
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.is_set():
        stop.wait(syncer.step())
    syncer.release()
    server.shutdown()
    api.close()
    log.info("stopped")


if __name__ == "__main__":
    main()
