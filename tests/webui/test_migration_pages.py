"""Moving the running cases of an older version from the designer's version page, and its JSON twin: every case is
listed as moved or refused with the tasks that stopped it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import clock
from tests.webui.conftest import fire_lane_alert
from tests.webui.test_browser import browser, open_as, server, shot  # noqa: F401  (fixtures)
from tests.webui.test_designer import district_files

#: v2 of the district's files: verify gets 90 minutes instead of one hour (later than any running case), and the
#: fire-lane playbook's first task a new label (where a registered fire-lane case waits).
VERIFY_DUE = ('<spiffworkflow:property name="dueIn" value="&quot;PT1H&quot;"/>',
              '<spiffworkflow:property name="dueIn" value="&quot;PT90M&quot;"/>')
MOVE_LABEL = ('name="劝离挪车"', 'name="劝离挪车（先拍照）"')


def version_2() -> dict[str, str]:
    files = district_files()
    for name, (old, new) in (("closed_loop.bpmn", VERIFY_DUE), ("fire_lane.bpmn", MOVE_LABEL)):
        assert files[name].count(old) == 1
        files[name] = files[name].replace(old, new)
    return files


@pytest.fixture
def designer(login):
    return login("designer")


@pytest.fixture
def two_cases(seeded, registered_case, designer):
    """One case waiting at register and one at move_vehicle on v1, then v2 deployed."""
    at_register = seeded.start("closed_loop", fire_lane_alert("FIR-0050"), business_key="FIR-0050/fire_lane")
    assert [t["bpmn_id"] for t in seeded.ready_tasks(instance_id=at_register)] == ["register"]
    response = designer.api("POST", "/api/v1/designer/deploy", {"files": version_2()})
    assert response.status_code == 201 and response.get_json()["versions"]["closed_loop"] == 2
    return at_register, registered_case[0]


def test_the_old_version_offers_to_move_its_running_cases_to_the_newest(designer, two_cases):
    old = designer.get("/designer/closed_loop/1").get_data(as_text=True)
    assert 'action="/designer/closed_loop/1/migrate"' in old and 'name="csrf_token"' in old
    assert re.search(r'<button id="migrate">迁移运行中的案件到 v2</button>', old)
    assert 'name="to_version" value="2"' in old
    assert 'id="migrate"' not in designer.get("/designer/closed_loop/2").get_data(as_text=True)   # the newest
    assert 'id="migrate"' not in designer.get("/designer/playbook_door_open/1").get_data(as_text=True)  # none run
    english = designer.get("/designer/closed_loop/1?lang=en").get_data(as_text=True)
    assert "Move running cases to v2" in english


def test_moving_lists_each_case_moved_or_refused_with_the_task_that_stopped_it(designer, seeded, two_cases):
    at_register, at_move = two_cases
    response = designer.post("/designer/closed_loop/1/migrate", {"to_version": "2"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-migrated="1" data-refused="1"' in page
    assert f'<tr data-instance="{at_register}" data-migrated="true">' in page
    assert f'<tr data-instance="{at_move}" data-migrated="false">' in page
    blocker = re.search(r'<li data-element="move_vehicle">(.*?)</li>', page, re.S).group(1)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", blocker)).strip() == \
        "move_vehicle 劝离挪车 · 待处理 · playbook_fire_lane · 在新版本中被修改： 名称"
    assert (seeded.get(at_register).version, seeded.get(at_move).version) == (2, 1)
    [event] = [e for e in seeded.history(at_register) if e["kind"] == "instance.migrated"]
    assert event["actor"] == "designer" and event["detail"]["to_version"] == 2

    # the moved case follows v2 from here on: verify gets 90 minutes
    [register] = seeded.ready_tasks(instance_id=at_register)
    seeded.complete_task(register["id"], {"decision": "registered"}, actor="dispatcher")
    [move] = seeded.ready_tasks(instance_id=at_register)
    seeded.complete_task(move["id"], {"plate_number": "沪A12345", "owner_contacted": True, "vehicle_moved": True,
                                      "photos_before": ["evidence/1/x.jpg"]}, actor="property1")
    [verify] = seeded.ready_tasks(instance_id=at_register)
    assert verify["bpmn_id"] == "verify" and verify["due_at"] == clock.now() + timedelta(minutes=90)

    # the page now offers it again for the case left on v1, in English on request
    again = designer.post("/designer/closed_loop/1/migrate?lang=en", {"to_version": "2"}).get_data(as_text=True)
    assert 'data-migrated="0" data-refused="1"' in again and "ready" in again and "changed in the new version: label" in again


def test_the_json_twin_returns_every_outcome(login, seeded, two_cases):
    at_register, at_move = two_cases
    admin = login("admin")
    response = admin.api("POST", "/api/v1/designer/closed_loop/1/migrate", {"to_version": 2})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from_version"], body["to_version"], body["migrated"], body["refused"]) == (1, 2, 1, 1)
    by_id = {o["instance_id"]: o for o in body["instances"]}
    assert by_id[at_register]["migrated"] is True and by_id[at_register]["reason"] is None
    refused = by_id[at_move]
    assert refused["migrated"] is False and "move_vehicle" in refused["reason"]
    assert refused["blockers"] == [{"process_id": "playbook_fire_lane", "element_id": "move_vehicle",
                                    "label": "劝离挪车", "state": "READY",
                                    "change": "changed: bpmn_name", "attributes": ["bpmn_name"]}]
    assert admin.api("POST", "/api/v1/designer/closed_loop/9/migrate", {}).status_code == 404
    bad = admin.api("POST", "/api/v1/designer/closed_loop/1/migrate", {"to_version": "two"})
    assert bad.status_code == 422


def test_moving_needs_the_csrf_token_and_changes_nothing_without_it(designer, seeded, two_cases):
    at_register, _ = two_cases
    response = designer.flask.post("/designer/closed_loop/1/migrate", data={"to_version": "2"})
    assert response.status_code == 400
    assert designer.flask.post("/api/v1/designer/closed_loop/1/migrate", json={}).status_code == 400
    assert seeded.get(at_register).version == 1


def test_moving_from_the_version_page_in_a_browser(seeded, app, two_cases, server, browser,  # noqa: F811
                                                   database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    at_register, at_move = two_cases
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer/closed_loop/1")
    assert page.inner_text("#running") == "2"
    page.click("#migrate")
    page.wait_for_selector("#outcomes")
    assert page.get_attribute(f'tr[data-instance="{at_register}"]', "data-migrated") == "true"
    assert page.get_attribute(f'tr[data-instance="{at_move}"]', "data-migrated") == "false"
    assert "move_vehicle" in page.inner_text(f'tr[data-instance="{at_move}"]')
    shot(page, "designer-migrate", backend)
    page.goto(f"{server}/designer/closed_loop/1")
    assert page.inner_text("#running") == "1"
    assert (seeded.get(at_register).version, seeded.get(at_move).version) == (2, 1)
