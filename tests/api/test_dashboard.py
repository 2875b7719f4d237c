"""The dashboard in a real browser: Debian's headless Chromium loads it from 127.0.0.1 (tests/api/browser.py)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api import browser
from tests.api.browser import IMG, SCRIPT, Watch

pytestmark = [browser.needs_chromium, pytest.mark.timeout(120)]
LIST = "/v1/kcd/workloads?format=html"


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser.chromium() as running:
        yield running


@pytest.fixture
def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@pytest.fixture
def fleet(now: datetime.datetime) -> browser.Fleet:
    return browser.sample(now)


@pytest.fixture
def base_url(fleet: browser.Fleet) -> Iterator[str]:
    with browser.serve(browser.app_for(fleet.store)) as url:
        yield url


@pytest.fixture
def page(chrome: Any) -> Iterator[Any]:
    context = chrome.new_context(viewport=browser.WALL)
    yield context.new_page()
    context.close()


def row(page: Any, name: str) -> Any:
    return page.locator("#rows tr.row").filter(has=page.locator("a.wl", has_text=re.compile(f"^{re.escape(name)}$")))


def visible_names(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#rows tr.row:visible a.wl").all_text_contents()]


def count(page: Any, key: str) -> str:
    return str(page.locator(f'[data-count="{key}"] b').text_content())


def test_the_table_shows_every_workload_with_status_colours_counters_and_syncer(
    page: Any, base_url: str, fleet: browser.Fleet
) -> None:
    watch = Watch(page)
    page.goto(base_url + LIST)

    assert sorted(visible_names(page)) == sorted(w["metadata"]["name"] for w in fleet.workloads)
    assert (count(page, "workloads"), count(page, "progressing"), count(page, "failed"), count(page, "syncers")) == (
        "9",
        "1",
        "1",
        "2",
    )
    colour = "getComputedStyle(document.querySelector('tr.s-{} td[data-col=status] .badge')).color"
    assert page.evaluate(colour.format("Failed")) == "rgb(207, 34, 46)"  # red
    assert page.evaluate(colour.format("Success")) == "rgb(26, 127, 55)"  # green
    assert page.evaluate(colour.format("Progressing")) == "rgb(9, 105, 218)"  # blue (and a pulsing dot)
    gateway = row(page, "gateway")
    assert gateway.locator("td[data-col=syncer] .badge").text_content() == "Failing"
    assert "registry 401" in str(gateway.locator("td[data-col=syncer]").text_content())
    assert row(page, "cart").locator("td[data-col=updated] time").text_content() == "2 h ago"
    assert row(page, "nightly-report").locator("td[data-col=updated]").text_content().strip() == "never"
    assert all(u.startswith((base_url, "data:")) for u in watch.requests), watch.requests
    assert (watch.dialogs, watch.errors) == ([], [])


def test_clicking_a_column_header_sorts_the_rows_and_a_second_click_reverses_them(page: Any, base_url: str) -> None:
    page.goto(base_url + LIST)
    pods = page.locator("#rows tr.row td[data-col=pods]")

    page.click("th[data-key=pods] button")
    ascending = [int(t) for t in pods.all_text_contents()]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    page.click("th[data-key=pods] button")
    assert [int(t) for t in pods.all_text_contents()] == sorted(ascending, reverse=True)
    assert page.get_attribute("th[data-key=pods]", "aria-sort") == "descending"

    page.reload()  # the sort is kept in the URL's hash
    assert "sort=pods" in page.url and [int(t) for t in pods.all_text_contents()] == sorted(ascending, reverse=True)
    page.click("th[data-key=status] button")  # failed first, then progressing, then the rest
    assert visible_names(page)[:2] == ["catalog", "checkout"]
    page.click("th[data-key=name] button")
    assert visible_names(page) == sorted(visible_names(page))


def test_typing_in_the_filter_hides_the_rows_that_do_not_match(page: Any, base_url: str) -> None:
    page.goto(base_url + LIST)

    page.fill("#filter", "payments")
    assert sorted(visible_names(page)) == ["fraud-scorer", "gateway", "ledger"]
    assert page.text_content("#shown") == "showing 3 of 9"
    page.fill("#filter", "payments failing|stale")
    assert sorted(visible_names(page)) == ["fraud-scorer", "gateway"]

    page.click('[data-count="failed"]')  # a counter filters on its column
    assert page.input_value("#filter") == "status:Failed" and visible_names(page) == ["catalog"]
    page.fill("#filter", "no-such-workload")
    assert visible_names(page) == [] and page.is_visible("#nomatch")
    page.fill("#filter", "")
    assert len(visible_names(page)) == 9 and not page.is_visible("#nomatch")


def test_the_history_page_shows_the_timeline_of_rollouts_with_outcome_duration_reason_and_time(
    page: Any, base_url: str
) -> None:
    page.goto(base_url + LIST)
    page.get_by_role("link", name="checkout", exact=True).click()
    page.wait_for_url(re.compile(r"/v1/kcd/workloads/checkout\?namespace=shop&format=html$"))

    events = page.locator("#timeline li.event")
    assert events.locator(".version").all_text_contents() == ["5be1f07", "6f0e9b2", "7c41e0b", "8a0c3d2"]
    assert events.locator(".badge").all_text_contents() == ["RolledBack", "Superseded", "Success", "Failed"]
    assert "took 5 min 12 s" in str(events.first.text_content())
    assert "ProgressDeadlineExceeded" in str(events.first.locator(".reason").text_content())
    assert events.first.locator("time").text_content() == "30 min ago"
    assert (page.text_content("#live-version"), page.text_content("#candidate-version")) == ("7c41e0b", "9d2f6aa")
    assert "Healthy" in str(page.text_content("#syncer"))

    page.click("a.back")
    page.wait_for_url(re.compile(r"/v1/kcd/workloads\?format=html"))
    assert len(visible_names(page)) == 9


def test_quarantined_and_held_versions_the_rollout_in_flight_a_pause_and_why_a_rollout_failed_are_shown(
    page: Any, base_url: str
) -> None:
    page.goto(base_url + LIST)
    assert row(page, "cart").locator("td[data-col=status] .badge").all_text_contents() == ["Success", "Paused"]
    assert row(page, "catalog").locator(".status-msg").text_content() == browser.FAILED

    page.goto(base_url + "/v1/kcd/workloads/checkout?namespace=shop&format=html")
    assert page.locator("#quarantined .chip").all_text_contents() == ["5be1f07"]
    assert page.locator("#held .chip").all_text_contents() == ["8a0c3d2"]
    assert re.search(r"Waiting 9d2f6aa started 4\d s ago", " ".join(str(page.text_content("#rollout")).split()))


def _no_injection(page: Any, watch: Watch) -> None:
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1  # the page's own
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert (watch.dialogs, watch.errors) == ([], [])


def test_markup_in_a_label_annotation_container_reason_or_kcd_name_is_shown_as_text(page: Any, base_url: str) -> None:
    watch = Watch(page)
    page.goto(base_url + LIST)
    web = row(page, "web")
    assert web.locator("td[data-col=candidate] .ver").text_content() == IMG
    assert web.locator("td[data-col=container]").text_content() == SCRIPT
    assert web.locator("td[data-col=kcd]").text_content() == SCRIPT
    page.fill("#filter", "<script>")
    assert visible_names(page) == ["web"]
    page.wait_for_selector(
        'body:not([data-refreshes="0"])', state="attached", timeout=15_000
    )  # the refreshed table too
    assert row(page, "web").locator("td[data-col=candidate] .ver").text_content() == IMG
    _no_injection(page, watch)

    page.goto(base_url + "/v1/kcd/workloads/web?namespace=edge&format=html")
    assert page.text_content("#timeline .reason") == f"{SCRIPT} {IMG}"
    assert (page.text_content("#kcd-name"), page.text_content("#container-name")) == (SCRIPT, SCRIPT)
    assert page.text_content("#candidate-version") == IMG
    assert SCRIPT in str(page.text_content("#timeline .event"))
    _no_injection(page, watch)


def test_auto_refresh_shows_new_data_and_keeps_the_filter_and_the_scroll_position(
    chrome: Any, now: datetime.datetime
) -> None:
    fleet = browser.sample(now, bulk=60)
    context = chrome.new_context(viewport={"width": 1280, "height": 700})
    page = context.new_page()
    with browser.serve(browser.app_for(fleet.store)) as url:
        page.goto(url + LIST)
        page.fill("#filter", "bulk")
        page.evaluate("window.scrollTo(0, 900)")
        fleet.kcds[20]["status"]["currStatus"] = "Failed"  # bulk/svc-11 (after the 9 others)
        fleet.add("bulk", "svc-new").add("shop", "cashier").publish()

        page.wait_for_selector('body:not([data-refreshes="0"])', state="attached", timeout=15_000)
        assert page.input_value("#filter") == "bulk" and "q=bulk" in page.url
        assert "svc-new" in visible_names(page) and "cashier" not in visible_names(page)
        assert len(visible_names(page)) == 61
        assert row(page, "svc-11").locator(".badge").first.text_content() == "Failed"
        assert count(page, "failed") == "2"
        assert page.evaluate("window.scrollY") == 900
    context.close()


def test_screenshots_on_a_wall_screen_and_a_phone(chrome: Any, base_url: str, tmp_path: Path) -> None:
    shots = []
    wall = chrome.new_context(viewport=browser.WALL, color_scheme="dark")
    page = wall.new_page()
    page.goto(base_url + LIST)
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18  # readable across a room
    shots.append(browser.screenshot(page, tmp_path, "dashboard-wall.png"))
    page.goto(base_url + "/v1/kcd/workloads/checkout?namespace=shop&format=html")
    shots.append(browser.screenshot(page, tmp_path, "history-wall.png"))
    wall.close()

    phone = chrome.new_context(viewport=browser.PHONE, is_mobile=True, has_touch=True, color_scheme="light")
    page = phone.new_page()
    page.goto(base_url + LIST)
    assert page.evaluate("getComputedStyle(document.querySelector('#rows tr.row')).display") == "block"  # cards
    assert page.evaluate("document.documentElement.scrollWidth") <= browser.PHONE["width"]  # no sideways scroll
    shots.append(browser.screenshot(page, tmp_path, "dashboard-phone.png"))
    page.goto(base_url + "/v1/kcd/workloads/checkout?namespace=shop&format=html")
    assert page.evaluate("document.documentElement.scrollWidth") <= browser.PHONE["width"]
    shots.append(browser.screenshot(page, tmp_path, "history-phone.png"))
    phone.close()
    assert all(0 < s.stat().st_size < 400_000 for s in shots)


def test_with_writes_enabled_an_action_button_posts_with_the_pasted_bearer_token_after_a_confirming_click(
    page: Any, fleet: browser.Fleet
) -> None:
    posts: list[Any] = []
    page.on("request", lambda req: posts.append(req) if req.method == "POST" else None)
    with browser.serve(browser.app_for(fleet.store, writes=True)) as url:
        page.goto(url + "/v1/kcd/workloads/checkout?namespace=shop&format=html")
        page.fill("#token", "t0ken")
        page.click("button[data-action=pause]")
        assert posts == [] and "again to confirm" in str(page.text_content("#action-result"))
        page.click("button[data-action=pause]")
        page.wait_for_selector("#action-result:has-text('HTTP')")

        assert [p.url for p in posts] == [url + "/v1/kcd/kcds/shop/checkout/pause"]
        assert posts[0].headers["authorization"] == "Bearer t0ken"
        assert str(page.text_content("#action-result")).startswith("pause: HTTP 404")  # this app has no API client
        page.reload()
        assert page.input_value("#token") == "t0ken"  # kept in sessionStorage for the tab
