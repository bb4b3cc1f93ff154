"""The process designer in a real browser (Playwright driving Debian's Chromium): open the closed-loop diagram in
the bpmn-js modeler, break a script, see the engine's error marked on its element, fix it, rename a task and deploy;
a case started before stays on version 1, a new one follows version 2. Screenshots go to tests/artifacts/."""
from __future__ import annotations

from tests.webui.conftest import fire_lane_alert
from tests.webui.test_browser import browser, open_as, server, shot  # noqa: F401  (fixtures)

BREAK = """(script) => {
  const m = window.jingzhiModeler, intake = m.get("elementRegistry").get("intake");
  const before = intake.businessObject.script;
  m.get("modeling").updateProperties(intake, {script: script});
  return before;
}"""
RENAME = """(name) => {
  const m = window.jingzhiModeler;
  m.get("modeling").updateLabel(m.get("elementRegistry").get("register"), name);
}"""


def test_break_see_the_error_on_its_element_fix_and_deploy(seeded, app, server, browser, registered_case,  # noqa: F811
                                                           database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    old_case, _ = registered_case
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer/closed_loop/1")
    page.click("#edit")
    page.wait_for_selector('#modeler[data-rendered="yes"]')

    original = page.evaluate(BREAK, "x = ((")
    assert original.startswith("# Start data") and "inside_compound" in original   # the script, handed back
    page.click("#validate")
    page.wait_for_selector('#designer-status[data-state="invalid"]')
    assert page.locator('g.djs-element.problem[data-element-id="intake"]').count() == 1
    note = page.locator('.djs-overlay-problem .problem-note').first.inner_text()
    assert note.startswith("脚本无法编译：") and "SyntaxError" in note        # a Chinese browser: the engine's
    # sentence in Chinese (engine.exceptions.Message), Python's own error as Python says it
    assert "closed_loop.bpmn:" in page.locator('#problems li[data-element="intake"]').inner_text()
    shot(page, "designer-error", backend)

    page.click("#deploy")                                        # refused with the same problem: nothing stored
    page.wait_for_selector('#designer-status[data-state="refused"]')
    assert page.locator('g.djs-element.problem[data-element-id="intake"]').count() == 1
    assert [v["version"] for p in seeded.designs.processes() if p["process_id"] == "closed_loop"
            for v in p["versions"]] == [1]

    page.evaluate(BREAK, original)
    page.evaluate(RENAME, "立案审核（新） Register")
    page.click("#validate")
    page.wait_for_selector('#designer-status[data-state="valid"]')
    assert page.locator("g.djs-element.problem").count() == 0 and page.locator("#problems li").count() == 0
    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="deployed"]')
    assert "closed_loop v2" in page.inner_text("#designer-status")
    shot(page, "designer-deployed", backend)

    second = seeded.designs.version("closed_loop", 2)
    assert second["deployed_by"] == "designer" and "立案审核（新） Register" in second["files"]["closed_loop.bpmn"]
    new_case = seeded.start("closed_loop", fire_lane_alert("FIR-0043"), business_key="FIR-0043/fire_lane")
    assert seeded.get(new_case).version == 2 and seeded.get(old_case).version == 1
    [register] = seeded.ready_tasks(instance_id=new_case)
    assert register["label"] == "立案审核（新） Register"

    page.click("#deploy")                                        # the same content again: no new version
    page.wait_for_selector('#designer-status[data-state="unchanged"]')
    assert "未产生新版本" in page.inner_text("#designer-status")                # "no new version", in Chinese
