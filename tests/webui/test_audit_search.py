"""The audit search: /admin/audit and GET /api/v1/audit, on SQLite and PostgreSQL. Admins only; filters by actor,
event type, case, days and text in the detail (Chinese included: the detail is stored with \\u escapes); newest
first, paged, the search kept in the pager; event types and actors by their names; telephone numbers and e-mail
addresses masked, and never searchable; unusable parameters answered 400 (page) or 422 (API) naming them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import people
from tests.webui.conftest import fire_lane_alert

PHONE, EMAIL = "13812345678", "zhang.san@example.com"


@pytest.fixture
def trail(seeded, registered_case, manual_clock):
    """Besides the registered case: a day later, three more cases, one cancelled by the admin with a reason that
    holds a caller's telephone number and e-mail address, and one completed registration with a Chinese note."""
    first, _ = registered_case
    manual_clock.advance(days=1)
    later = [seeded.start("closed_loop", fire_lane_alert(f"FIR-{n:04d}")) for n in range(3)]
    seeded.cancel(later[0], f"重复上报，来电人 {PHONE}，邮箱 {EMAIL}", actor="admin")
    [register] = seeded.ready_tasks(instance_id=later[1])
    seeded.complete_task(register["id"], {"decision": "registered", "notes": "消防通道已复查"}, actor="dispatcher")
    return {"first": first, "later": later, "day_one": manual_clock.now() - timedelta(days=1)}


@pytest.fixture
def api(app, seeded):
    def call(query: str = "", username: str = "admin"):
        token = people.create_token(seeded.store, username, "test")
        return app.test_client().get(f"/api/v1/audit?{query}", headers={"Authorization": f"Bearer {token}"})
    return call


def found(api, query: str) -> list[dict]:
    response = api(query + "&per_page=200")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["events"]


def district_day(moment) -> str:
    return (moment + timedelta(hours=8)).date().isoformat()     # the district's day (Asia/Shanghai)


def test_only_admins_search_the_audit_trail(login, api, trail):
    assert login("admin").get("/admin/audit").status_code == 200
    for username in ("dispatcher", "patrol_lead", "patrol1", "designer"):
        assert login(username).get("/admin/audit").status_code == 403, username
        assert api("", username).status_code == 403, username
    anonymous = login()
    assert anonymous.get("/admin/audit").status_code == 302                 # to the login page
    assert anonymous.get("/api/v1/audit").status_code == 401
    nav = login("admin").get("/inbox").get_data(as_text=True)
    assert 'href="/admin/audit"' in nav and "审计" in nav
    assert 'href="/admin/audit"' not in login("patrol_lead").get("/inbox").get_data(as_text=True)


def test_filters_by_actor_event_case_days_and_text(api, trail):
    newest = found(api, "")
    assert [e["id"] for e in newest] == sorted((e["id"] for e in newest), reverse=True)   # newest first
    # the admin's one step: the cancellation and the stage it changed
    assert {e["kind"] for e in found(api, "actor=admin")} == {"instance.cancelled", "stage.changed"}
    assert {e["instance_id"] for e in found(api, "actor=admin")} == {trail["later"][0]}
    completed = found(api, "kind=task.completed")
    assert {(e["instance_id"], e["actor"]) for e in completed} == {(trail["first"], "dispatcher"),
                                                                   (trail["later"][1], "dispatcher")}
    assert {e["instance_id"] for e in found(api, f"instance_id={trail['first']}")} == {trail["first"]}
    assert {e["instance_id"] for e in found(api, f"instance_id=%23{trail['first']}")} == {trail["first"]}
    day_one = district_day(trail["day_one"])
    assert {e["instance_id"] for e in found(api, f"to={day_one}")} == {trail["first"], None}   # None: the deployment
    assert {e["instance_id"] for e in found(api, f"from={day_one}&to={day_one}&kind=task.completed")} == {
        trail["first"]}
    next_day = district_day(trail["day_one"] + timedelta(days=1))
    assert trail["first"] not in {e["instance_id"] for e in found(api, f"from={next_day}")}
    [noted] = found(api, "text=%E5%B7%B2%E5%A4%8D%E6%9F%A5")                   # "已复查", part of a Chinese note
    assert noted["instance_id"] == trail["later"][1] and noted["detail"]["data"]["notes"] == "消防通道已复查"
    assert found(api, "text=REGISTERED&kind=task.completed")                  # ignoring case
    assert found(api, "text=100%25") == []                                    # % is a character, not a wildcard
    assert found(api, "actor=nobody") == []


def test_pages_newest_first_and_keeps_the_search_in_the_pager(api, login, trail):
    everything = api("per_page=200").get_json()
    body = api("per_page=5&page=2").get_json()
    assert (body["page"], body["per_page"], body["count"], body["total"]) == (2, 5, 5, everything["total"])
    assert body["pages"] == -(-everything["total"] // 5) and everything["total"] > 10
    assert [e["id"] for e in body["events"]] == [e["id"] for e in everything["events"][5:10]]
    html = login("admin").get("/admin/audit?kind=task.created&per_page=2").get_data(as_text=True)
    [following] = re.findall(r'rel="next" href="([^"]+)"', html)
    assert set(following.split("?")[1].split("&amp;")) == {"page=2", "per_page=2", "kind=task.created"}
    assert "共" in html and "条事件" in html
    beyond = api("page=99999999999999999999").get_json()                      # clamped, never an overflow
    assert beyond["events"] == []


def test_event_types_and_actors_are_shown_by_their_names(login, seeded, trail):
    people.add_user(seeded.store, "wang", "a long password", ["dispatcher"], ["command_centre"], "王调度")
    [register] = seeded.ready_tasks(instance_id=trail["later"][2])
    seeded.complete_task(register["id"], {"decision": "registered"}, actor="wang")
    html = login("admin").get("/admin/audit?actor=wang&kind=task.completed").get_data(as_text=True)
    [row] = re.findall(r'<tr data-kind="task.completed">(.+?)</tr>', html, re.S)
    assert "王调度" in row and "任务已提交" in row and ">wang<" in row
    assert "案件启动" in login("admin").get("/admin/audit?kind=instance.started").get_data(as_text=True)


def test_contact_details_are_masked_and_cannot_be_searched(api, login, trail):
    [cancelled] = found(api, "kind=instance.cancelled")
    assert cancelled["detail"]["reason"] == "重复上报，来电人 138****5678，邮箱 z***@example.com"
    page = login("admin").get(f"/admin/audit?instance_id={trail['later'][0]}").get_data(as_text=True)
    assert "138****5678" in page and "z***@example.com" in page
    everything = api("per_page=200").get_data(as_text=True) + page
    assert PHONE not in everything and EMAIL not in everything
    for term in (PHONE, "138 1234 5678", "021-62345678", EMAIL, "zhang@example"):
        response = api(f"text={term}")
        assert response.status_code == 422, term
        assert "text" in response.get_json()["error"]["details"]
    refused = login("admin").get(f"/admin/audit?text={PHONE}")
    assert refused.status_code == 400 and "联系方式" in refused.get_data(as_text=True)
    assert found(api, "text=2026-01") != []                                    # a date is not a telephone number


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"),
    ("from=2026-02-01&to=2026-01-01", "to"),
    ("instance_id=abc", "instance_id"),
    ("instance_id=99999999999", "instance_id"),
    ("text=" + "x" * 301, "text"),
    ("actor=" + "x" * 121, "actor"),
    ("text=%00", "text"),
])
def test_unusable_parameters_are_refused_with_their_name(api, login, seeded, query, field):
    response = api(query)
    if query == "text=%00":   # a NUL character anywhere is refused before any view (webui/inputs.py)
        assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"]
        assert login("admin").get(f"/admin/audit?{query}").status_code == 400
        return
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "form_invalid" and field in response.get_json()["error"]["details"]
    page = login("admin").get(f"/admin/audit?{query}")
    assert page.status_code == 400 and "搜索条件有误" in page.get_data(as_text=True)
