"""Every list of the web app pages the same way through Flask-SQLAlchemy (webui/database.py): the case list, the
inbox, devices, dead letters, the audit search and the users, 50 rows a page, the pager keeping the list's filters,
in Chinese and in English; a page number that is not one (0, -1, abc, huge, past the end) is never an error. The
app-bound engine is the engine's own pool, and the request's session gives its connection back when the request ends.
"""
from __future__ import annotations

import re
import pytest

from engine import DeadLetterIn, clock
from tests.sensors.conftest import DEVICES
from tests.webui.test_browser import ARTIFACTS, browser, open_as, server, shot  # noqa: F401  (fixtures)
from tests.webui.test_case_search import many_cases  # noqa: F401  (fixture: 121 cases, so 121 register tasks)
from webui.database import MAX_PAGE, MAX_PER_PAGE, PER_PAGE, db, page_number

#: Each list and who may read it.
LISTS = {"/cases": "dispatcher", "/inbox": "dispatcher", "/devices": "dispatcher", "/dead-letters": "admin",
         "/admin/audit": "admin", "/admin/users": "admin", "/api/v1/cases": "dispatcher", "/api/v1/audit": "admin"}
NOT_PAGES = ("0", "-1", "abc", "", "1e3", "1.5", "٣", "99999999999999999999", "50")


@pytest.mark.parametrize("raw, expected", [
    ("1", 1), ("7", 7), (None, 1), ("", 1), ("0", 1), ("-1", 1), ("abc", 1), ("1.5", 1), ("1e3", 1), ("٣", 1),
    (" 2", 1), (str(MAX_PAGE), MAX_PAGE), (str(MAX_PAGE + 1), MAX_PAGE), ("9" * 30, MAX_PAGE),
])
def test_a_page_number_is_a_positive_number_or_the_default(raw, expected):
    assert page_number(raw, 1, MAX_PAGE) == expected


def test_a_page_size_is_clamped_to_the_largest():
    assert [page_number(raw, PER_PAGE, MAX_PER_PAGE) for raw in ("10", "0", "500", "x")] == [
        10, PER_PAGE, MAX_PER_PAGE, PER_PAGE]


def rows_of(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]+)"', html)


def next_link(html: str) -> set[str]:
    [found] = re.findall(r'rel="next" href="[^"?]+\?([^"]+)"', html)
    return set(found.split("&amp;"))


def test_no_page_number_is_an_error_on_any_list_in_either_language(login, registered_case):
    for url, user in LISTS.items():
        client = login(user)
        for lang in ("zh", "en"):
            client.get(f"/cases?lang={lang}")
            for raw in NOT_PAGES:
                for name in ("page", "per_page"):
                    response = client.get(url, query_string={name: raw})
                    assert response.status_code == 200, (url, lang, name, raw, response.get_data(as_text=True))
            past_end = client.get(url, query_string={"page": "50"})
            if url.startswith("/api/"):
                body = past_end.get_json()
                assert (body["page"], body["count"]) == (50, 0) and body["total"] >= 1
            else:                                       # no rows, and the way back to the only page
                html = past_end.get_data(as_text=True)
                assert f'rel="prev" href="{url}?page=1"' in html and 'rel="next"' not in html
                assert ("Page 50 of 1" if lang == "en" else "第 50 / 1 页") in html


def test_the_inbox_pages_the_whole_inbox_in_its_order(seeded, login, many_cases):  # noqa: F811
    dispatcher = login("dispatcher")
    whole = [str(row["id"]) for row in seeded.worklist.inbox(["command_centre"], "dispatcher", limit=500)]
    assert len(whole) == 121
    pages = [dispatcher.get(f"/inbox?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert [task for html in pages for task in rows_of(html, "data-task")] == whole
    assert "第 1 / 3 页，共 121 项任务" in pages[0] and next_link(pages[0]) == {"page=2"}
    polled = dispatcher.get("/inbox/rows?page=3").get_data(as_text=True)   # the page's poll keeps its page
    assert rows_of(polled, "data-task") == whole[100:] and "第 3 / 3 页，共 121 项任务" in polled
    assert 'data-src="/inbox/rows?page=3"' in pages[2]
    english = dispatcher.get("/inbox?page=2&per_page=100&lang=en").get_data(as_text=True)
    assert rows_of(english, "data-task") == whole[100:] and "Page 2 of 2, 121 tasks" in english


def test_devices_page_with_their_filters(seeded, login):
    seeded.devices.import_rows([{**DEVICES[0], "id": f"SMK-{n:03d}"} for n in range(60)]
                               + [{**DEVICES[1], "id": "DCM-1"}])
    dispatcher = login("dispatcher")
    first = dispatcher.get("/devices?device_type=smoke_alarm").get_data(as_text=True)
    assert rows_of(first, "data-device") == [f"SMK-{n:03d}" for n in range(50)]
    assert "第 1 / 2 页，共 60 台设备" in first and next_link(first) == {"page=2", "device_type=smoke_alarm"}
    second = dispatcher.get("/devices?device_type=smoke_alarm&page=2&lang=en").get_data(as_text=True)
    assert rows_of(second, "data-device") == [f"SMK-{n:03d}" for n in range(50, 60)]
    assert "Page 2 of 2, 60 devices" in second


def test_dead_letters_page_newest_first_with_their_reason(seeded, login, manual_clock):
    for n in range(60):
        manual_clock.advance(seconds=1)
        seeded.alarms.record([], [DeadLetterIn(received_at=clock.now(), source="http", reason="bad_json",
                                               detail="not JSON", raw=f"raw-{n:03d}")])
    admin = login("admin")
    first = admin.get("/dead-letters?reason=bad_json").get_data(as_text=True)
    raws = re.findall(r"raw-(\d+)", first)
    assert raws == [f"{n:03d}" for n in range(59, 9, -1)]                  # newest first, 50 a page
    assert "第 1 / 2 页，共 60 条被拒消息" in first and next_link(first) == {"page=2", "reason=bad_json"}
    second = admin.get("/dead-letters?reason=bad_json&page=2").get_data(as_text=True)
    assert re.findall(r"raw-(\d+)", second) == [f"{n:03d}" for n in range(9, -1, -1)]


def test_the_app_bound_engine_is_the_engines_pool_and_requests_give_their_connection_back(app, seeded, login,
                                                                                          registered_case):
    with app.app_context():
        assert db.engine is seeded.sql_engine                                # one pool per process, not two
    dispatcher = login("dispatcher")
    for url in ("/cases", "/inbox", "/devices", "/api/v1/cases"):
        assert dispatcher.get(url).status_code == 200
        assert seeded.sql_engine.pool.checkedout() == 0, url                 # the session ended with the request


def test_a_capped_count_says_more_than(login, seeded, monkeypatch, many_cases):  # noqa: F811
    monkeypatch.setattr("webui.database.COUNT_LIMIT", 100)
    dispatcher = login("dispatcher")
    html = dispatcher.get("/inbox?page=2").get_data(as_text=True)
    assert "第 2 / 2+ 页，超过 100 项任务" in html and next_link(html) == {"page=3"}   # more than counted
    assert len(rows_of(dispatcher.get("/inbox?page=3").get_data(as_text=True), "data-task")) == 21


def test_the_case_list_pages_past_one_hundred_to_a_case_in_the_browser(many_cases, server, browser,  # noqa: F811
                                                                      database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    page = open_as(browser, server, "dispatcher")
    page.goto(f"{server}/cases")
    assert page.inner_text("nav.pager span") == "第 1 / 3 页，共 121 件"
    page.click("a[rel=next]")
    page.wait_for_url("**/cases?page=2")
    page.click("a[rel=next]")
    page.wait_for_url("**/cases?page=3")
    assert page.locator("#cases tbody a").all_inner_texts() == [f"#{n}" for n in reversed(many_cases[:21])]
    shot(page, "paging-cases-page3", backend)
    page.click(f'#cases a[href="/cases/{many_cases[3]}"]')                  # the 118th newest case, row 18 of page 3
    page.wait_for_url(f"**/cases/{many_cases[3]}")
    assert "FIR-0003" in page.inner_text("main")
    page.goto(f"{server}/cases?page=3&per_page=50&lang=en")
    assert page.inner_text("nav.pager span") == "Page 3 of 3, 121 cases"
    page.click("a[rel=prev]")
    page.wait_for_url("**/cases?page=2&per_page=50")
    assert len(page.locator("#cases tbody a").all_inner_texts()) == 50
    shot(page, "paging-cases-page2-en", backend)
    phone = open_as(browser, server, "dispatcher", phone=True)           # the inbox's pager, in its polled rows
    phone.goto(f"{server}/inbox?page=3")
    assert phone.inner_text("#inbox-rows nav.pager span") == "第 3 / 3 页，共 121 项任务"
    assert phone.locator("#inbox-rows tr[data-task]").count() == 21
    shot(phone, "paging-inbox-page3-phone", backend)
    phone.locator("#inbox-rows tr.pager-row").scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / f"paging-inbox-page3-phone-end-{backend}.png"))   # the screen at the pager
