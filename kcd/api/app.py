"""The workloads API and dashboard as a Flask app: ``create_app(store=..., settings=...)``.

Reads come from the store (kcd.api.store: watch-backed, or a static one in tests) through the rendered-response cache
(kcd.api.rendering); a request never LISTs. The history route GETs one ConfigMap. Write actions (off by default) are
``POST /v1/kcd/kcds/<namespace>/<name>/<action>``: always routed, so that the OpenAPI document is the same either way,
and answering 404 while disabled. Every error is JSON ``{"error": "..."}`` (an HTML page for ``format=html``).
"""

from __future__ import annotations

import gzip
import re
import secrets
import time
from typing import Any

import flask
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException

from kcd import operations
from kcd.api import Settings, actions, auth, openapi
from kcd.api.rendering import HTML, Renderer, now_text
from kcd.api.store import Source, Store
from kcd.kube import rest

DASHBOARD = "/v1/kcd/workloads?format=html"
FORMATS = ("json", "html")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a namespace: a DNS label
_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")  # a workload or KCD name
REQUESTS = Counter("kcd_api_requests_total", "HTTP requests by route, method and status", ["route", "method", "code"])
LATENCY = Histogram(
    "kcd_api_request_seconds",
    "HTTP request duration by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class BadRequest(Exception):
    """A bad parameter: 400 with its message."""


def error(status: int, message: str) -> flask.Response:
    response = flask.jsonify(error=message)
    response.status_code = status
    return response


def _fmt() -> str:
    fmt = flask.request.args.get("format") or "json"
    if fmt not in FORMATS:
        raise BadRequest(f"format must be json or html, not {fmt[:40]!r}")
    return fmt


def _namespace(default: str | None) -> str | None:
    ns = flask.request.args.get("namespace")
    if ns is None or ns == "":
        return default
    if not _LABEL.match(ns):
        raise BadRequest(f"namespace {ns[:80]!r} is not a valid namespace name (a DNS label)")
    return ns


def _name(value: str, what: str) -> str:
    if not _SUBDOMAIN.match(value):
        raise BadRequest(f"{what} {value[:80]!r} is not a valid name (a DNS subdomain)")
    return value


def _html(body: str | bytes, status: int = 200, nonce: str = "") -> flask.Response:
    response = flask.Response(body, status=status, content_type=HTML)
    csp = f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
    response.headers["Content-Security-Policy"] = csp + "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
    return response


def create_app(
    *, store: Source | None = None, settings: Settings | None = None, client: rest.Client | None = None
) -> flask.Flask:
    """The app; without `store`, a watch-backed Store is built from `settings` and started (call this in the serving
    process). `client` makes the write actions' calls (default: the Store's own)."""
    settings = settings or Settings()
    if store is None:
        client = client or rest.from_config(settings.kubeconfig)
        store = Store(client, namespace=settings.namespace).start()
    client = client or getattr(store, "client", None)
    app = flask.Flask("kcd.api", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined] # the items' keys in their documented order
    renderer = Renderer(
        store,
        writes_enabled=settings.writes_enabled,
        interval=settings.render_interval,
        max_age=settings.render_max_age,
    )
    app.extensions["kcd"] = {"store": store, "renderer": renderer, "client": client, "settings": settings}
    _observe(app)
    _reads(app, store, renderer, settings)
    _probes(app, store)
    _writes(app, store, client, settings)
    return app


def _observe(app: flask.Flask) -> None:
    @app.before_request
    def started() -> None:
        flask.g.started = time.perf_counter()

    @app.after_request
    def observed(response: flask.Response) -> flask.Response:
        rule = flask.request.url_rule
        route = rule.rule if rule is not None else "unmatched"
        REQUESTS.labels(route, flask.request.method, str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - flask.g.get("started", time.perf_counter()))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.errorhandler(BadRequest)
    def bad_request(err: BadRequest) -> flask.Response:
        return error(400, str(err))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> flask.Response:
        return error(err.code or 500, err.description or err.name)

    @app.errorhandler(rest.ApiError)
    def api_error(err: rest.ApiError) -> flask.Response:
        return error(502, f"the Kubernetes API failed: {err}")


def _reads(app: flask.Flask, store: Source, renderer: Renderer, settings: Settings) -> None:
    @app.get("/")
    def index() -> Any:
        return flask.redirect(DASHBOARD)

    @app.get("/v1/kcd/workloads")
    def workloads() -> flask.Response:
        fmt, namespace = _fmt(), _namespace(None)
        if not store.ready():
            return error(503, "warming up: the cache has not listed every resource yet")
        page = renderer.page(fmt, namespace)
        response = _html(page.gzipped, nonce=page.nonce) if fmt == "html" else flask.Response(page.gzipped)
        response.content_type = page.content_type
        response.vary.add("Accept-Encoding")
        if "gzip" in (flask.request.headers.get("Accept-Encoding") or ""):
            response.headers["Content-Encoding"] = "gzip"
        else:
            response.set_data(gzip.decompress(page.gzipped))
        return response

    @app.get("/v1/kcd/workloads/<name>")
    def workload_history(name: str) -> flask.Response:
        fmt, namespace = _fmt(), _namespace(store.namespace or "default")
        _name(name, "workload")
        assert namespace is not None
        if not store.ready():
            return error(503, "warming up: the cache has not listed every resource yet")
        item = next((i for i in renderer.items(namespace) if i["Name"] == name), None)
        records = store.history(namespace, name) if store.namespace in (None, namespace) else None
        if records is None and item is None and fmt == "json":
            return error(404, f"no managed workload and no history named {name} in namespace {namespace}")
        if fmt == "json":
            return flask.jsonify(records or [])
        return _history_page(namespace, name, records, item, settings.writes_enabled)

    @app.get("/openapi.json")
    def document() -> flask.Response:
        return flask.jsonify(openapi.DOCUMENT)


def _history_page(
    namespace: str, name: str, records: list[dict[str, Any]] | None, item: dict[str, Any] | None, writes: bool
) -> flask.Response:
    from kcd.api import pages  # the dashboard's module; imported on first use

    nonce = secrets.token_urlsafe(16)
    body = pages.history_page(
        namespace=namespace,
        name=name,
        records=records or [],
        item=item,
        writes_enabled=writes,
        nonce=nonce,
        refreshed_at=now_text(),
    )
    return _html(body, 404 if records is None and item is None else 200, nonce)


def _probes(app: flask.Flask, store: Source) -> None:
    @app.get("/healthz")
    def healthz() -> flask.Response:
        ok = store.healthy()
        return flask.Response("ok\n" if ok else "a watch is stuck\n", 200 if ok else 503, content_type="text/plain")

    @app.get("/readyz")
    def readyz() -> flask.Response:
        ok = store.ready()
        return flask.Response("ready\n" if ok else "warming up\n", 200 if ok else 503, content_type="text/plain")

    @app.get("/metrics")
    def metrics() -> flask.Response:
        return flask.Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def _writes(app: flask.Flask, store: Source, client: rest.Client | None, settings: Settings) -> None:
    def act(namespace: str, name: str, action: str) -> flask.Response:
        if not settings.writes_enabled or client is None:
            return error(404, "write actions are disabled (kcd api --enable-writes)")
        req = actions.Request(action, _label(namespace), _name(name, "kcd"), _version())
        if store.namespace not in (None, req.namespace):
            return error(404, f"namespace {req.namespace} is not managed by this install")
        try:
            caller = auth.authenticate(client, auth.bearer(flask.request.headers.get("Authorization")))
            auth.authorize(
                client, caller, namespace=req.namespace, name=req.name, subresource=actions.subresource(action)
            )
            return flask.jsonify(actions.run(client, store, req, caller))
        except auth.Unauthorized as err:
            return error(401, str(err))
        except auth.Forbidden as err:
            return error(403, str(err))
        except rest.NotFound:
            return error(404, f"kcd {req.namespace}/{req.name} not found")
        except operations.InvalidInput as err:
            return error(400, str(err))
        except (operations.OperationError, actions.Busy) as err:
            return error(409, str(err))

    for action in actions.ACTIONS:
        rule = f"/v1/kcd/kcds/<namespace>/<name>/{action}"
        app.add_url_rule(rule, f"action_{action}", act, methods=["POST"], defaults={"action": action})


def _label(value: str) -> str:
    if not _LABEL.match(value):
        raise BadRequest(f"namespace {value[:80]!r} is not a valid namespace name (a DNS label)")
    return value


def _version() -> str | None:
    body = flask.request.get_json(silent=True) if flask.request.content_length else {}
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object, e.g. {} or {"version": "1.2.3"}')
    version = body.get("version")
    if version is not None and not isinstance(version, str):
        raise BadRequest("version must be a string")
    return version or None
