"""Officer, admin and designer UX of issue 14 in a real browser (Playwright driving Debian's Chromium): the
four-eyes notice on the task page, the teams page, the case diagram zoomed on a phone, the designer's layout at
1280 and 390 pixels with its deadline and escalation timer edited as one. On SQLite only: what is checked is the
pages' layout and behaviour; the database work under them is tested on both backends with the Flask client.
Screenshots go to tests/artifacts/."""
from __future__ import annotations

import pytest

from engine import teams
from tests.bpmn.conftest import form
from tests.webui.test_browser import browser, open_as, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TIMER = """(id) => window.jingzhiModeler.get("elementRegistry").get(id).businessObject
                   .eventDefinitions[0].timeDuration.body"""
PROPERTY = """([id, name]) => (window.jingzhiModeler.get("elementRegistry").get(id).businessObject.extensionElements
                   .values.find(v => v.$type === "spiffworkflow:Properties").properties
                   .find(p => p.name === name) || {}).value"""


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def change(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Tab")                     # panel fields commit on "change"


def test_four_eyes_is_said_on_the_task_page_instead_of_the_form(seeded, app, server, browser,  # noqa: F811
                                                                registered_case):
    _, move = registered_case
    seeded.complete_task(move["id"], form("move_vehicle"), actor="patrol1")       # patrol1 moved the car himself
    [verify] = seeded.ready_tasks(instance_id=move["instance_id"])
    page = open_as(browser, server, "patrol1", phone=True)
    page.goto(f"{server}/tasks/{verify['id']}")
    notice = page.locator("#four-eyes")
    assert notice.is_visible() and "四眼原则" in notice.inner_text()
    assert page.locator("#claim").count() == 0 and page.locator("#task-form").count() == 0
    shot(page, "four-eyes-phone", "sqlite")


def test_the_teams_page_creates_renames_and_retires(seeded, app, server, browser):  # noqa: F811
    page = open_as(browser, server, "admin")
    page.goto(f"{server}/admin/users")
    page.click("#teams-link")
    page.fill("#new-code", "night_watch")
    page.fill("#new-name_zh", "夜巡队")
    page.fill("#new-name_en", "Night watch")
    page.select_option("#new-kind", "partner")
    page.click("#create-team button")
    row = page.locator("#team-night_watch")
    assert row.is_visible() and "已创建队伍 night_watch" in page.inner_text(".flash")

    row.locator('input[name="name_zh"]').fill("夜间巡逻队")
    row.locator('input[name="name_en"]').fill("Night patrol")
    row.locator("form.team-names button").click()
    assert page.locator("#team-night_watch input[name='name_zh']").input_value() == "夜间巡逻队"

    assert page.locator("#team-grid_patrol form.retire").count() == 0      # routed to by the district's diagrams
    assert "closed_loop" in page.inner_text("#team-grid_patrol .routed")
    page.locator("#team-night_watch form.retire button").click()
    assert page.locator("#team-night_watch.retired").is_visible()
    assert teams.team(seeded.store, "night_watch")["retired"]
    shot(page, "teams-1280", "sqlite")

    page.goto(f"{server}/admin/users")
    assert "夜间巡逻队" not in page.inner_text("#add-user")                          # no longer a choice
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/admin/teams")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1      # nothing wider than the phone
    shot(page, "teams-390", "sqlite")


def test_the_case_diagram_is_zoomed_and_panned_on_a_phone(seeded, app, server, browser,  # noqa: F811
                                                           registered_case):
    instance_id, _ = registered_case
    page = open_as(browser, server, "property1", phone=True)
    page.goto(f"{server}/cases/{instance_id}")
    page.wait_for_selector('#diagram[data-rendered="yes"]')
    diagram = box(page, "#diagram")
    assert diagram["width"] >= 340 and diagram["height"] >= 400                   # the phone's width, most of its height
    opened = float(page.get_attribute("#diagram", "data-zoom"))
    assert opened >= 0.8                                                           # the current step, readable
    active = box(page, 'g.djs-element.active[data-element-id="handle"]')          # the step it is at
    assert diagram["x"] <= active["x"] and active["x"] + active["width"] <= diagram["x"] + diagram["width"]
    shot(page, "case-diagram-phone", "sqlite")

    page.click('[data-diagram-zoom="fit"]')
    whole = float(page.get_attribute("#diagram", "data-zoom"))
    assert whole < opened
    shot(page, "case-diagram-phone-whole", "sqlite")
    page.click('[data-diagram-zoom="in"]')
    assert float(page.get_attribute("#diagram", "data-zoom")) > whole
    page.click('[data-diagram-zoom="out"]')
    page.click('[data-diagram-zoom="out"]')
    assert float(page.get_attribute("#diagram", "data-zoom")) < whole
    page.click('[data-diagram-zoom="current"]')
    assert float(page.get_attribute("#diagram", "data-zoom")) == opened


def test_the_designer_canvas_is_full_width_with_palette_and_panel_folding(seeded, app, server, browser):  # noqa: F811
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer/closed_loop/edit")
    page.wait_for_selector('#modeler[data-rendered="yes"]')
    canvas, panel = box(page, "#modeler"), box(page, "#panel")
    assert canvas["width"] >= 1280 - 32 - panel["width"] - 40 and canvas["width"] > 800
    palette = box(page, ".djs-palette")
    leftmost = min(box(page, f'g.djs-element[data-element-id="{i}"]')["x"] for i in ("closed_loop_lane_command_centre",))
    assert palette["x"] + palette["width"] <= leftmost                             # the palette covers no shape
    shot(page, "designer-1280", "sqlite")
    page.click("#toggle-panel")
    assert not page.locator("#panel").is_visible() and box(page, "#modeler")["width"] >= 1280 - 60
    page.click("#toggle-palette")
    assert not page.locator(".djs-palette").is_visible()
    shot(page, "designer-1280-folded", "sqlite")
    page.click("#toggle-palette")
    page.click("#toggle-panel")

    # a deadline and its escalation timer, edited as one; the English name has its field
    page.click('g.djs-element[data-element-id="register"]')
    page.wait_for_selector('#panel-body[data-element="register"]')
    assert page.input_value("#prop-name_en") == "Register the report"
    linked = page.locator('#deadline-timers li[data-linked="yes"]')
    assert linked.count() == 1 and linked.get_attribute("data-timer") == "register_overdue"
    change(page, "#prop-dueIn", '"PT2H"')
    assert page.evaluate(TIMER, "register_overdue") == '"PT2H"'
    assert page.evaluate(TIMER, "register_remind") == "dispatch_remind"              # a reminder stays
    page.evaluate('() => window.jingzhiModeler.get("commandStack").undo()')          # one step undoes both
    assert page.evaluate(TIMER, "register_overdue") == "dispatch_limit"
    assert page.evaluate(PROPERTY, ["register", "dueIn"]) == "dispatch_limit"
    page.evaluate('() => window.jingzhiModeler.get("commandStack").redo()')
    assert page.evaluate(PROPERTY, ["register", "dueIn"]) == page.evaluate(TIMER, "register_overdue") == '"PT2H"'
    change(page, "#prop-name_en", "Register and check the report")
    assert page.evaluate(PROPERTY, ["register", "name_en"]) == "Register and check the report"
    page.click('g.djs-element[data-element-id="register_overdue"]')
    page.wait_for_selector('#panel-body[data-element="register_overdue"]')
    change(page, "#prop-timer", '"PT3H"')
    assert page.evaluate(PROPERTY, ["register", "dueIn"]) == '"PT3H"'                # and the other way round
    shot(page, "designer-deadline", "sqlite")

    phone = open_as(browser, server, "designer", phone=True)
    phone.goto(f"{server}/designer/closed_loop/edit")
    phone.wait_for_selector('#modeler[data-rendered="yes"]')
    assert box(phone, "#modeler")["width"] >= 390 - 30
    assert not phone.locator(".djs-palette").is_visible() and not phone.locator("#panel").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(phone, "designer-390", "sqlite")
    phone.click("#toggle-palette")
    assert phone.locator(".djs-palette").is_visible()
    phone.click("#toggle-panel")
    assert phone.locator("#panel").is_visible()
    shot(phone, "designer-390-open", "sqlite")
