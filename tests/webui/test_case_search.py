"""Finding cases: the case list and GET /api/v1/cases search by number, address, device, scenario, stage, channel,
team and opening day, page through Flask-SQLAlchemy past the old 100-row cut, keep the search in the pager, refuse
unusable parameters with the parameter's name, and show officers only the cases they had a part in."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import people
from tests.webui.conftest import fire_lane_alert
from tests.webui.test_browser import browser, server  # noqa: F401  (fixtures)


@pytest.fixture
def many_cases(seeded, manual_clock):
    """121 fire-lane cases, one a minute (newest last), at numbered addresses; the last one a day later."""
    ids = []
    for n in range(120):
        manual_clock.advance(minutes=1)
        ids.append(seeded.start("closed_loop", fire_lane_alert(f"FIR-{n:04d}", address=f"广中路 {n} 号 消防通道"),
                                business_key=f"FIR-{n:04d}/fire_lane"))
    manual_clock.advance(days=1)
    ids.append(seeded.start("closed_loop", fire_lane_alert("SMK-9001", scenario="fire_lane",
                                                           address="水电路 1号 何家宅小区")))
    return ids


@pytest.fixture
def api(app, seeded):
    def call(username: str, query: str):
        token = people.create_token(seeded.store, username, "test")
        return app.test_client().get(f"/api/v1/cases?{query}", headers={"Authorization": f"Bearer {token}"})
    return call


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/cases/(\d+)"', html)]


def test_the_case_list_pages_past_one_hundred_and_keeps_the_search(login, many_cases):
    dispatcher = login("dispatcher")
    first = dispatcher.get("/cases").get_data(as_text=True)
    assert numbers(first) == list(reversed(many_cases))[:50]               # newest first, 50 a page
    assert "第 1 / 3 页，共 121 件" in first
    third = dispatcher.get("/cases?page=3").get_data(as_text=True)
    assert numbers(third) == list(reversed(many_cases))[100:]              # rows 101-121: past the old cut
    searched = dispatcher.get("/cases?q=%E5%B9%BF%E4%B8%AD%E8%B7%AF&per_page=100").get_data(as_text=True)
    [following] = re.findall(r'rel="next" href="([^"]+)"', searched)
    assert len(numbers(searched)) == 100 and set(following.split("?")[1].split("&amp;")) == {
        "page=2", "per_page=100", "q=%E5%B9%BF%E4%B8%AD%E8%B7%AF"}
    beyond = dispatcher.get("/cases?page=99999999999999999999")             # clamped, never an overflow
    assert beyond.status_code == 200 and numbers(beyond.get_data(as_text=True)) == []


def test_search_by_number_address_device_and_day(api, many_cases, manual_clock):
    def found(query: str) -> list[int]:
        response = api("dispatcher", query)
        assert response.status_code == 200, response.get_json()
        return [c["instance_id"] for c in response.get_json()["cases"]]

    assert found(f"q=%23{many_cases[7]}") == [many_cases[7]]                 # "#<number>"
    assert found("q=%E5%B9%BF%E4%B8%AD%E8%B7%AF 11 %E5%8F%B7") == [many_cases[11]]   # part of the address
    assert found("device=FIR-0042") == [many_cases[42]]
    assert found("q=FIR-004&per_page=200") == [many_cases[n] for n in range(49, 39, -1)]  # device id prefix
    assert found("q=100%25") == []                                          # % is a character, not a wildcard
    last_day = (manual_clock.now() + timedelta(hours=8)).date().isoformat()
    assert found(f"opened_from={last_day}") == [many_cases[-1]]
    assert found(f"opened_to={last_day}&scenario=fire_lane&stage=register&channel=sensor&per_page=1") == [
        many_cases[-1]]
    body = api("dispatcher", "per_page=10&page=13").get_json()
    assert (body["total"], body["pages"], body["page"], body["count"]) == (121, 13, 13, 1)


def test_officers_find_only_cases_they_had_a_part_in_and_team_filters(api, seeded, registered_case, many_cases):
    instance_id, _ = registered_case
    assert [c["instance_id"] for c in api("property1", "per_page=200").get_json()["cases"]] == [instance_id]
    assert [c["instance_id"] for c in api("dispatcher", "team=property_company").get_json()["cases"]] == [
        instance_id]


@pytest.mark.parametrize("query, field", [
    ("opened_from=yesterday", "opened_from"),
    ("opened_from=2026-02-01&opened_to=2026-01-01", "opened_to"),
    ("q=" + "x" * 301, "q"),
])  # a NUL character in any parameter is refused before the search with a 400 (test_hostile_input.py)
def test_unusable_search_parameters_are_refused_with_their_name(api, login, seeded, query, field):
    response = api("dispatcher", query)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "form_invalid" and field in response.get_json()["error"]["details"]
    page = login("dispatcher").get(f"/cases?{query}")
    assert page.status_code == 400 and "搜索条件有误" in page.get_data(as_text=True)


def test_paging_the_case_list_past_one_hundred_in_the_browser(many_cases, server, browser, database_url):
    from tests.webui.test_browser import open_as, shot

    page = open_as(browser, server, "dispatcher")
    page.goto(f"{server}/cases")
    page.click("a[rel=next]")
    page.click("a[rel=next]")
    page.wait_for_url("**/cases?page=3")
    rows = page.locator("#cases tbody a").all_inner_texts()
    assert rows == [f"#{n}" for n in reversed(many_cases[:21])]           # the oldest 21: rows 101-121
    page.fill("input[name=q]", "广中路 7 号")
    page.click(".filters button")
    assert page.locator("#cases tbody a").all_inner_texts() == [f"#{many_cases[7]}"]
    shot(page, "case-search", "pg" if database_url.startswith("postgresql") else "sqlite")
