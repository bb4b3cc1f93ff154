"""Decision tables and bpmnlint in a real browser (Playwright driving Debian's Chromium).

The routing table opened from the designer's page in the dmn-js modeler: a cell typed wrong is marked with the
engine's problem and its rule, then the fire-lane team typed anew is deployed; the new deployment's DMN has it and
a new case is routed by it while a case started before stays with the old team. On the bpmn-js modeler page a task
added without flows is found by bpmnlint in the browser, marked and listed, and the finding goes when it does.
Screenshots go to tests/artifacts/."""
from __future__ import annotations

from tests.webui.conftest import fire_lane_alert
from tests.webui.test_browser import browser, open_as, server, shot  # noqa: F401  (fixtures)

TEAM_CELL = 'td[data-element-id="routing_fire_lane_compound_out_team"]'
LIMIT_CELL = 'td[data-element-id="routing_fire_lane_compound_out_limit"]'
ADD_TASK = """() => {
  const m = window.jingzhiModeler, root = m.get("canvas").getRootElement();
  const parent = root.children.find((c) => c.type === "bpmn:Participant") || root;
  const shape = m.get("modeling").createShape({type: "bpmn:Task"}, {x: 400, y: 40}, parent);
  return shape.id;
}"""
REMOVE = """(id) => {
  const m = window.jingzhiModeler;
  m.get("modeling").removeElements([m.get("elementRegistry").get(id)]);
}"""
LINTED = """(runs) => {
  const list = document.getElementById("lint");
  return list.dataset.state === "done" && Number(list.dataset.runs) > runs;
}"""


def type_into(page, cell: str, text: str) -> None:
    """Replace a decision table cell's text the way a person does: click it, select all, type, leave it (the cell's
    editor closes a quote as it is opened and steps over the closing one when it is typed)."""
    page.click(f"{cell} [contenteditable]")
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.click("h1")
    assert page.locator(cell).inner_text().strip() == text


def test_edit_a_routing_cell_in_dmn_js_deploy_and_new_cases_follow_it(seeded, app, server, browser,  # noqa: F811
                                                                      registered_case, database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    old_case, old_move = registered_case
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer")
    page.click('#decisions a[href="/designer/decisions/routing/1"]')
    page.click("#edit")
    page.wait_for_selector('#dmn-editor[data-rendered="yes"]')
    assert page.locator(TEAM_CELL).inner_text().strip() == '"property_company"'

    type_into(page, LIMIT_CELL, "PT30M +")                                  # not a Python expression
    page.click("#validate")
    page.wait_for_selector('#designer-status[data-state="invalid"]')
    problem = page.locator('#problems li[data-element="routing_fire_lane_compound_out_limit"]')
    assert problem.get_attribute("data-decision") == "routing" and problem.get_attribute("data-rule") == "5"
    assert "routing.dmn" in problem.inner_text()
    assert page.locator(f"{LIMIT_CELL}.problem").count() == 1
    shot(page, "decision-error", backend)

    type_into(page, LIMIT_CELL, '"PT30M"')
    type_into(page, TEAM_CELL, '"grid_patrol"')
    page.click("#validate")
    page.wait_for_selector('#designer-status[data-state="valid"]')
    assert page.locator("#dmn-editor .problem").count() == 0 and page.locator("#problems li").count() == 0
    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="deployed"]')
    assert "closed_loop v2" in page.inner_text("#designer-status")
    shot(page, "decision-deployed", backend)

    newest = seeded.designs.decision("routing")
    assert (newest["version"], newest["deployed_by"]) == (2, "designer")
    rule = next(r for r in newest["table"]["rules"] if r["id"] == "routing_fire_lane_compound")
    assert [c["text"] for c in rule["outputs"]][:3] == ['"grid_patrol"', "True", '"PT30M"']
    assert [v["version"] for v in next(d for d in seeded.designs.decisions()
                                       if d["decision_id"] == "auto_registration")["versions"]] == [1]

    new_case = seeded.start("closed_loop", fire_lane_alert("FIR-0043"), business_key="FIR-0043/fire_lane")
    assert seeded.get(new_case).version == 2 and seeded.get(old_case).version == 1
    [register] = seeded.ready_tasks(instance_id=new_case)
    seeded.complete_task(register["id"], {"decision": "registered"}, actor="dispatcher")
    [move] = seeded.ready_tasks(instance_id=new_case)
    assert (move["bpmn_id"], move["team"]) == ("move_vehicle", "grid_patrol")
    assert old_move["team"] == "property_company"

    page.goto(f"{server}/designer")                                          # the page lists the new version
    assert page.locator('#decisions tr[data-decision="routing"]').count() == 2
    assert page.locator('#decisions tr[data-decision="routing"][data-version="2"]').get_attribute(
        "data-running") == "1"


def test_bpmnlint_marks_and_lists_a_disconnected_task_in_the_modeler(seeded, app, server, browser,  # noqa: F811
                                                                     database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer/closed_loop/edit")
    page.wait_for_selector('#modeler[data-rendered="yes"]')
    page.wait_for_function(LINTED, arg=0)
    assert page.locator("#lint li").count() == 0                             # the district's diagram lints clean
    runs = int(page.get_attribute("#lint", "data-runs"))

    task = page.evaluate(ADD_TASK)
    finding = page.locator(f'#lint li[data-rule="no-disconnected"][data-element="{task}"]')
    finding.wait_for()
    assert finding.get_attribute("data-category") == "error" and "not connected" in finding.inner_text()
    assert page.locator(f'g.djs-element.lint-error[data-element-id="{task}"]').count() == 1
    assert page.locator(".djs-overlay-lint .lint-note").count() == 1
    assert page.locator("g.djs-element.problem").count() == 0                 # not the server's problem marker
    assert {page.locator("#lint li").nth(i).get_attribute("data-element")
            for i in range(page.locator("#lint li").count())} == {task}       # linting again finds no more
    shot(page, "designer-lint", backend)

    runs = int(page.get_attribute("#lint", "data-runs"))
    page.evaluate(REMOVE, task)
    page.wait_for_function(LINTED, arg=runs)
    assert page.locator("#lint li").count() == 0
    assert page.locator(".djs-overlay-lint").count() == 0 and page.locator("g.djs-element.lint-error").count() == 0
