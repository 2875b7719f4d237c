"""The rendered-response cache: one render per store change, at most every `interval`, shared by every client."""

from __future__ import annotations

import gzip
import json
from typing import Any

from kcd.api.rendering import Renderer
from kcd.api.store import StaticStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def bodies(status: str) -> dict[str, Any]:
    kcd = {
        "metadata": {"name": "web", "namespace": "a"},
        "spec": {"tag": "env-prod", "selector": {"app": "web"}, "container": {"name": "app"}},
        "status": {"currStatus": status},
    }
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "r/web:aaaaa11"}]}}},
    }
    return {"kcds": [kcd], "workloads": [deployment]}


def statuses(renderer: Renderer) -> list[str]:
    return [i["Status"] for i in json.loads(gzip.decompress(renderer.page("json", None).gzipped))]


def test_an_unchanged_store_is_rendered_once_for_any_number_of_requests() -> None:
    clock = Clock()
    renderer = Renderer(StaticStore(**bodies("Success")), writes_enabled=False, clock=clock)

    pages = [renderer.page("json", None) for _ in range(20)]
    clock.now += 1.0
    pages += [renderer.page("json", None) for _ in range(20)]

    assert renderer.renders == 1
    assert len({p.gzipped for p in pages}) == 1


def test_a_change_is_rendered_after_the_interval_and_not_before() -> None:
    clock, store = Clock(), StaticStore(**bodies("Progressing"))
    renderer = Renderer(store, writes_enabled=False, interval=0.5, clock=clock)
    first = statuses(renderer)

    store.set(**bodies("Success"))
    right_after = statuses(renderer)
    clock.now += 0.5
    later = statuses(renderer)

    assert (first, right_after, later) == (["Progressing"], ["Progressing"], ["Success"])


def test_an_unchanged_store_is_rendered_again_after_max_age_for_relative_times() -> None:
    clock = Clock()
    renderer = Renderer(StaticStore(**bodies("Success")), writes_enabled=False, max_age=5.0, clock=clock)

    renderer.page("json", None)
    clock.now += 5.0
    renderer.page("json", None)

    assert renderer.renders == 2


def test_at_most_capacity_responses_are_kept() -> None:
    renderer = Renderer(StaticStore(**bodies("Success")), writes_enabled=False, capacity=4)

    for i in range(10):
        renderer.page("json", f"ns-{i}")

    assert len(renderer._slots) == 4


def test_a_client_accepting_gzip_gets_the_cached_page_compressed_and_others_get_it_plain() -> None:
    from kcd.api.app import create_app

    app = create_app(store=StaticStore(**bodies("Success")))
    web = app.test_client()

    zipped = web.get("/v1/kcd/workloads", headers={"Accept-Encoding": "gzip, deflate"})
    plain = web.get("/v1/kcd/workloads")

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data)) == json.loads(plain.data)
    assert "Content-Encoding" not in plain.headers
    assert [i["Status"] for i in plain.json] == ["Success"]


def test_an_html_render_renders_again_only_the_rows_whose_values_changed() -> None:
    clock, store = Clock(), StaticStore(**bodies("Success"))
    renderer = Renderer(store, writes_enabled=False, max_age=5.0, clock=clock)

    renderer.page("html", None)
    clock.now += 5.0
    renderer.page("html", None)  # max_age: rendered again, the row unchanged
    store.set(**bodies("Failed"))
    clock.now += 5.0
    html = gzip.decompress(renderer.page("html", None).gzipped).decode()

    assert renderer.renders == 3
    assert renderer._rows.rendered == 2
    assert 'class="row s-Failed"' in html and 'class="row s-Success"' not in html
