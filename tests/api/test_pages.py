"""The workloads table's rows (kcd.api.pages.Rows): escaped, each value once, rendered again only when they change."""

from __future__ import annotations

import datetime
from typing import Any

from kcd import overview, syncerhealth
from kcd.api import pages
from kcd.api.store import StaticStore
from kcd.status import format_time

NOW = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.UTC)
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def fleet(count: int, *, status: str = "Success", container: str = "app") -> StaticStore:
    kcds, workloads, leases = [], [], []
    for n in range(count):
        name = f"svc-{n}"
        kcds.append(
            {
                "metadata": {"name": name, "namespace": "shop"},
                "spec": {"tag": "env-prod", "selector": {"app": name}, "container": {"name": container}},
                "status": {"currStatus": status, "successVersion": "1a2b3c4", "currStatusTime": format_time(NOW)},
            }
        )
        pod = {"spec": {"containers": [{"name": container, "image": f"r/{name}:1a2b3c4"}]}}
        meta = {"name": name, "namespace": "shop", "labels": {"app": name}}
        workloads.append({"kind": "Deployment", "metadata": meta, "spec": {"template": pod}, "status": {}})
        renewed = format_time(NOW - datetime.timedelta(seconds=12))
        lease_meta = {"name": syncerhealth.lease_name("Deployment", name), "namespace": "shop"}
        leases.append({"metadata": lease_meta, "spec": {"renewTime": renewed, "leaseDurationSeconds": 60}})
    return StaticStore(kcds=kcds, workloads=workloads, leases=leases)


def items(store: StaticStore, seconds_later: float = 0) -> list[dict[str, Any]]:
    snap = store.snapshot()
    return overview.items(snap.kcds, snap.workloads, snap.leases, NOW + datetime.timedelta(seconds=seconds_later))


def test_a_second_render_renders_only_the_row_whose_values_changed() -> None:
    rows, before = pages.Rows(), items(fleet(5))
    after = [dict(i) for i in before]
    after[3]["Status"] = "Failed"

    first = rows.render(before, complete=True)
    rendered = rows.rendered
    second = rows.render(after, complete=True)

    assert (rendered, rows.rendered) == (5, 6)
    assert first.count('class="row s-Success"') == 5
    assert second.count('class="row s-Success"') == 4 and second.count('class="row s-Failed"') == 1


def test_a_syncers_last_poll_is_a_time_for_the_browser_so_the_row_is_the_same_seconds_later() -> None:
    rows, store = pages.Rows(), fleet(1)
    now, later = items(store), items(store, seconds_later=7)
    assert now[0]["Syncer"]["Message"] != later[0]["Syncer"]["Message"]  # "last poll 12 s ago", then 19 s

    first = rows.render(now, complete=True)
    second = rows.render(later, complete=True)

    renewed = format_time(NOW - datetime.timedelta(seconds=12))
    assert first == second and rows.rendered == 1
    assert f'last poll <time datetime="{renewed}">{renewed}</time>' in first
    assert "s ago" not in first


def test_every_value_in_a_row_is_escaped_in_text_and_in_attributes() -> None:
    item = items(fleet(1, status=IMG, container=SCRIPT))[0]
    item.update(CandidateVersion=IMG, CV=SCRIPT, Message=SCRIPT, Name=IMG)

    html = pages.row_html(item)

    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="badge &#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html
    assert "/v1/kcd/workloads/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E?namespace=shop&amp;format=html" in html


def test_a_row_shows_each_value_once() -> None:
    item = items(fleet(1))[0]
    item.update(Tag="tag-7f3e", Container="ctr-9d1a", CV="kcd-5c2b", Version="ver-0e4f")

    html = pages.row_html(item)

    assert [html.count(v) for v in ("tag-7f3e", "ctr-9d1a", "kcd-5c2b", "ver-0e4f")] == [1, 1, 1, 1]
    assert "title=" not in html and "data-sort" not in html and "data-label" not in html


def test_a_partial_item_renders_as_unknown_never_updated_and_missing_syncer() -> None:
    html = pages.Rows().render([{"Name": "lonely", "Namespace": "shop"}], complete=True)

    assert '<span class="badge ">Unknown</span>' in html
    assert '<span class="badge Missing">Missing</span>' in html
    assert '<span class="muted">never</span>' in html


def test_the_row_cache_keeps_only_the_rows_of_the_last_complete_render() -> None:
    rows = pages.Rows()
    rows.render(items(fleet(10)), complete=True)
    rows.render(items(fleet(10))[:2], complete=False)  # one namespace's rows: already known
    kept_after_one_namespace = len(rows)

    rows.render(items(fleet(3)), complete=True)

    assert (kept_after_one_namespace, len(rows)) == (10, 3)


def test_the_page_counts_workloads_progressing_failed_and_failing_syncers() -> None:
    found = items(fleet(4))
    found[0]["Status"], found[1]["Status"] = "Failed", "Progressing"
    found[2]["Syncer"] = {**found[2]["Syncer"], "State": "Stale"}

    assert pages.counters(found) == {"workloads": 4, "progressing": 1, "failed": 1, "syncers": 1}
