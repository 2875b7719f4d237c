"""kopf's side of the injection webhook: a small operator that watches nothing and serves one mutating handler.

kopf's WebhookServer serves HTTPS on ``--address:--port`` with the chart's certificate, loaded into an SSLContext of
ours that is loaded again when the mounted Secret changes (kcd.webhook.sources.CertFiles, checked every 10 s): a
rotated certificate is served without a restart and routes ``POST /inject`` to the handler below. The
API server sends only pods labelled ``kcd.io/inject: "true"`` (the MutatingWebhookConfiguration's objectSelector); the
handler's label filter is a second check. The handler never raises: a failed lookup admits the pod unchanged with a
warning, because an error answer would *deny* the pod (failurePolicy Ignore covers only an unreachable webhook).

kopf is imported here only (an import-linter contract); the decisions are kcd.webhook.inject's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import kopf

from kcd import kopfsession, model
from kcd.kube.api import Kube
from kcd.webhook import inject
from kcd.webhook.sources import CertFiles, KubeLookups, Miss, TemplateFile

log = logging.getLogger("kcd.webhook")
HANDLER_ID = "inject"  # the URL path: https://<host>:<port>/inject
CERT_CHECK_SECONDS = 10.0


@dataclass(frozen=True)
class Options:
    address: str
    port: int
    certfile: str
    keyfile: str
    template: str
    configmap_key: str | None
    health_port: int = 0  # 0: no liveness endpoint


def handle(
    body: Any, namespace: str | None, lookups: inject.Lookups, template: TemplateFile, *, miss_ok: bool = False
) -> inject.Decision:
    """The handler's work, errors included: never raises (but Miss, when `miss_ok`)."""
    try:
        return inject.decide(body, namespace=namespace or "", template=template.current(), lookups=lookups)
    except Exception as err:  # noqa: BLE001 - any failure admits the pod as it is, never denies it
        if miss_ok and isinstance(err, Miss):
            raise
        log.exception("injection failed", extra={"namespace": namespace})
        return inject.Decision(None, warnings=(f"kcd: syncer not injected: {type(err).__name__}: {err}",))


async def _reload_forever(certs: CertFiles) -> None:
    while True:
        await asyncio.sleep(CERT_CHECK_SECONDS)
        certs.refresh()


def build_registry(kube: Kube, options: Options) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    lookups = KubeLookups(kube, options.configmap_key)
    cached = lookups.cached()
    template = TemplateFile(options.template)
    certs = CertFiles(options.certfile, options.keyfile)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False
        settings.scanning.disabled = True  # no CRD watch: this operator watches nothing
        settings.admission.managed = None  # the chart owns the MutatingWebhookConfiguration
        settings.admission.server = kopf.WebhookServer(
            # kopf loads the files into our context (it generates a certificate when none is given); CertFiles
            # loads them again into the same context when they change.
            addr=options.address,
            port=options.port,
            certfile=options.certfile,
            pkeyfile=options.keyfile,
            context=certs.context,
        )

    reloading: list[asyncio.Task[None]] = []  # a reference: the loop keeps only weak ones to its tasks

    @kopf.on.startup(registry=registry)
    async def watch_certificate(**_: Any) -> None:
        reloading.append(asyncio.get_running_loop().create_task(_reload_forever(certs)))

    kopf.on.login(registry=registry)(kopfsession.login(kube, connections=4))

    @kopf.on.mutate(
        "", "v1", "pods", id=HANDLER_ID, operations=["CREATE"], labels={model.INJECT: "true"}, registry=registry
    )
    async def inject_syncer(
        body: kopf.Body, namespace: str | None, patch: kopf.Patch, warnings: list[str], **_: Any
    ) -> None:
        # On the event loop from the cache: handing each call to kopf's thread pool and back was ~0.5 ms of the
        # webhook's ~2.8 ms CPU per admission (py-spy, BENCHMARKS.md). Only a cache miss, which GETs, goes to a thread.
        try:
            decision = handle(body, namespace, cached, template, miss_ok=True)
        except Miss:
            decision = await asyncio.get_running_loop().run_in_executor(
                None, handle, body, namespace, lookups, template
            )
        warnings.extend(decision.warnings)
        if decision.init_containers is not None:
            patch.setdefault("spec", {})["initContainers"] = decision.init_containers
        log.debug(  # debug: a log line per admission costs more than the admission (kcd.cli.webhook)
            "pod admitted",
            extra={
                "namespace": namespace,
                "pod": body.get("metadata", {}).get("generateName") or body.get("metadata", {}).get("name"),
                "workload": f"{decision.workload.kind}/{decision.workload.name}" if decision.workload else "",
                "injected": decision.init_containers is not None,
            },
        )

    return registry


def run(kube: Kube, options: Options) -> int:
    """Serve until SIGTERM/SIGINT (kopf's own signal handling); the exit code."""
    registry = build_registry(kube, options)
    liveness = f"http://{options.address}:{options.health_port}/healthz" if options.health_port else None
    log.info("webhook serving", extra={"address": options.address, "port": options.port, "path": f"/{HANDLER_ID}"})
    kopfsession.run(kopf.operator(registry=registry, standalone=True, clusterwide=True, liveness_endpoint=liveness))
    return 0
