"""The OpenAPI 3.1 document of the API, written by hand (served at /openapi.json; a test checks that its paths are
exactly the app's routes)."""

from __future__ import annotations

from typing import Any

from kcd import overview

_ERROR = {"$ref": "#/components/responses/Error"}
_FORMAT = {
    "name": "format",
    "in": "query",
    "schema": {"type": "string", "enum": ["json", "html"], "default": "json"},
    "description": "json (default) or html (the dashboard)",
}
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


def _path_param(name: str, what: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": what}


def _json(schema: dict[str, Any], description: str, *, html: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if html:
        content["text/html"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _ERROR for code in codes}


def _text(responses: dict[str, str]) -> dict[str, Any]:
    return {code: {"description": what, **_TEXT} for code, what in responses.items()}


def _get(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


def _array(ref: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}


_ACTION_DOC = (
    "Only with --enable-writes (404 otherwise). The caller's own bearer token is checked with a TokenReview and its "
    "right to patch the KCD (clear: its status) with a SubjectAccessReview; the action is audited as a ManualAction "
    "Event on the KCD naming the caller."
)
_VERSION_BODY = {"type": "object", "properties": {"version": {"type": ["string", "null"]}}}


def _action(summary: str, body: dict[str, Any] | None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": _ACTION_DOC,
        "security": [{"bearer": []}],
        "parameters": [_path_param("namespace", "the KCD's namespace"), _path_param("name", "the KCD's name")],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/ActionResult"}, "done"),
            **_errors(400, 401, 403, 404, 409, 502),
        },
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return {"post": op}


_NAMESPACE = {"name": "namespace", "in": "query", "schema": {"type": "string"}, "description": "only this namespace"}
_HISTORY_NAMESPACE = {
    "name": "namespace",
    "in": "query",
    "schema": {"type": "string", "default": "default"},
    "description": "the workload's namespace (default: default, or the namespace of a namespaced install)",
}
_ITEM = {
    "type": "object",
    "required": list(overview.KEYS),
    "properties": {k: {"type": "integer"} if k == "AvailablePods" else {} for k in overview.KEYS},
}
_RECORD_TEXT = ("version", "digest", "time", "kcd", "type", "name", "container", "strategy", "reason")
_RECORD = {
    "type": "object",
    "properties": {
        **{k: {"type": "string"} for k in _RECORD_TEXT},
        "outcome": {"type": "string", "enum": ["Success", "Failed", "RolledBack"]},
        "durationSeconds": {"type": "number"},
    },
}
_RESULT = {
    "type": "object",
    "properties": {
        **{k: {"type": "string"} for k in ("kcd", "action", "by", "summary")},
        "audited": {"type": "boolean"},
    },
}
_KCD = "/v1/kcd/kcds/{namespace}/{name}"

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "kcd workloads API", "version": "1"},
    "paths": {
        "/": _get("Redirect to the dashboard", {"302": {"description": "to /v1/kcd/workloads?format=html"}}),
        "/v1/kcd/workloads": _get(
            "Every managed workload: one item per (KCD, selected workload), sorted by namespace and name",
            {"200": _json(_array("Workload"), "the items", html=True), **_errors(400, 503)},
            [_FORMAT, _NAMESPACE],
        ),
        "/v1/kcd/workloads/{name}": _get(
            "A workload's rollout history, newest first",
            {"200": _json(_array("Record"), "the records", html=True), **_errors(400, 404, 502, 503)},
            [_path_param("name", "the workload's name"), _FORMAT, _HISTORY_NAMESPACE],
        ),
        f"{_KCD}/rollback": _action("Roll back (to `version`, default the previous live version)", _VERSION_BODY),
        f"{_KCD}/clear": _action("Clear quarantined and held versions (only `version` when given)", _VERSION_BODY),
        f"{_KCD}/pause": _action("Start no new rollouts", None),
        f"{_KCD}/resume": _action("Allow rollouts again", None),
        "/healthz": _get("Alive, and no watch is stuck", _text({"200": "ok", "503": "a watch is stuck"})),
        "/readyz": _get("The cache has listed every resource", _text({"200": "ready", "503": "warming up"})),
        "/metrics": _get("Prometheus metrics", _text({"200": "the exposition format"})),
        "/openapi.json": _get("This document", {"200": _json({"type": "object"}, "OpenAPI 3.1")}),
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a Kubernetes token"}},
        "responses": {"Error": _json({"$ref": "#/components/schemas/Error"}, "an error")},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Workload": _ITEM,
            "Record": _RECORD,
            "ActionResult": _RESULT,
        },
    },
}
