"""The OpenAPI document describes exactly the app's routes."""

from __future__ import annotations

import re

from kcd.api import Settings
from kcd.api.app import create_app
from kcd.api.store import StaticStore


def test_the_openapi_paths_and_methods_are_exactly_the_apps_routes() -> None:
    app = create_app(store=StaticStore(), settings=Settings(writes_enabled=True))
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }

    served = app.test_client().get("/openapi.json")
    documented = {(path, method) for path, ops in served.json["paths"].items() for method in ops}

    assert served.status_code == 200
    assert served.json["openapi"] == "3.1.0"
    assert documented == routes


def test_the_routes_are_the_same_whether_writes_are_enabled_or_not() -> None:
    rules = [
        sorted(
            r.rule for r in create_app(store=StaticStore(), settings=Settings(writes_enabled=w)).url_map.iter_rules()
        )
        for w in (False, True)
    ]

    assert rules[0] == rules[1]
