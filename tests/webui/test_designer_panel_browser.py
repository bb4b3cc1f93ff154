"""The designer's properties panel and form editor in a real browser (Playwright driving Debian's Chromium).

Done-when of the designer: open the closed-loop diagram, change a deadline and a lane through the panel, see a
validation error marked on the broken element, fix it, deploy; a case started before stays on version 1 while a
new case follows version 2. Then a form schema edited beside the diagram with its live preview, kept as a draft
and deployed. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.webui.conftest import ROOT, fire_lane_alert
from tests.webui.test_browser import browser, open_as, server, shot  # noqa: F401  (fixtures)


def open_editor(browser, server):  # noqa: F811
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer/closed_loop/edit")
    page.wait_for_selector('#modeler[data-rendered="yes"]')
    return page


def select(page, element_id: str) -> None:
    page.click(f'g.djs-element[data-element-id="{element_id}"]')
    page.wait_for_selector(f'#panel-body[data-element="{element_id}"]')


def change(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Tab")                     # fields commit on "change", as when the officer leaves them


def register_task(engine, instance_id: int) -> dict:
    [task] = engine.ready_tasks(instance_id=instance_id)
    assert task["bpmn_id"] == "register"
    return task


def test_change_a_deadline_and_a_lane_in_the_panel_see_the_error_fix_and_deploy(  # noqa: F811
        seeded, app, server, browser, database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    old_case = seeded.start("closed_loop", fire_lane_alert("FIR-0041"), business_key="FIR-0041/fire_lane")
    old = register_task(seeded, old_case)
    assert old["team"] == "command_centre"
    page = open_editor(browser, server)

    select(page, "register")
    assert page.input_value("#prop-dueIn") == "dispatch_limit"
    assert page.input_value("#prop-formJsonSchemaFilename") == "register.schema.json"
    assert page.input_value("#prop-lane") == "closed_loop_lane_command_centre"
    change(page, "#prop-dueIn", '"PT45M" +')                  # a deadline that does not compile
    page.click("#validate")
    page.wait_for_selector('#designer-status[data-state="invalid"]')
    assert page.locator('g.djs-element.problem[data-element-id="register"]').count() == 1
    assert "dueIn" in page.inner_text("#panel-problems")       # the panel names the problem of this element
    shot(page, "designer-panel-error", backend)

    change(page, "#prop-dueIn", '"PT45M"')
    page.select_option("#prop-lane", "closed_loop_lane_grid_patrol")
    page.wait_for_function("""() => window.jingzhiModeler.get("elementRegistry").get("closed_loop_lane_grid_patrol")
                                .businessObject.flowNodeRef.some(n => n.id === "register")""")
    page.click("#validate")
    page.wait_for_selector('#designer-status[data-state="valid"]')
    assert page.locator("g.djs-element.problem").count() == 0
    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="deployed"]')
    assert "closed_loop v2" in page.inner_text("#designer-status")
    shot(page, "designer-panel-deployed", backend)

    # the case started before stays on version 1: its task keeps the old lane and deadline
    assert seeded.get(old_case).version == 1 and register_task(seeded, old_case)["team"] == "command_centre"
    new_case = seeded.start("closed_loop", fire_lane_alert("FIR-0043"), business_key="FIR-0043/fire_lane")
    assert seeded.get(new_case).version == 2
    new = register_task(seeded, new_case)
    assert new["team"] == "grid_patrol"
    assert abs(new["due_at"] - new["created_at"] - timedelta(minutes=45)) < timedelta(seconds=5)
    assert new["due_at"] - new["created_at"] != old["due_at"] - old["created_at"]


def test_edit_a_form_beside_the_diagram_with_live_preview_keep_a_draft_and_deploy(  # noqa: F811
        seeded, app, server, browser, database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    page = open_editor(browser, server)
    select(page, "register")
    page.click("#edit-form")
    page.wait_for_selector('#form-editor[data-preview="ok"]')
    assert page.locator("#form-preview #f-decision").count() == 1   # the task page's own field

    schema = json.loads(page.input_value("#form-text"))
    page.fill("#form-text", '{"type": "object", "properties": {')   # broken JSON: the preview says where
    page.wait_for_selector('#form-editor[data-preview="error"]')
    assert "register.schema.json:1" in page.inner_text("#form-error")

    schema["properties"]["witness"] = {"type": "string", "title": "现场见证人 Witness"}
    page.fill("#form-text", json.dumps(schema, ensure_ascii=False, indent=2))
    page.wait_for_selector("#form-preview #f-witness")
    assert "现场见证人" in page.inner_text("#form-preview")
    shot(page, "designer-form-preview", backend)

    page.click("#new-layout")                                   # layout hints in their own file, same preview
    page.wait_for_selector('#form-name:text("register.ui.json")')
    assert page.input_value("#prop-formUiSchemaFilename") == "register.ui.json"
    page.fill("#form-text", json.dumps({"ui:order": ["witness", "*"], "notes": {"ui:widget": "hidden"}}))
    page.wait_for_function("""() => { const first = document.querySelector("#form-preview .field");
                                     return first && first.id === "field-witness"; }""")
    assert page.locator("#form-preview #f-notes").count() == 0

    page.click("#save-draft")
    page.wait_for_selector('#designer-status[data-state="draft"]')
    draft = seeded.designs.draft("closed_loop", "designer")
    assert "witness" in draft["files"]["register.schema.json"]

    page.reload()                                               # the draft opens again where it was left
    page.wait_for_selector('#modeler[data-rendered="yes"]')
    assert page.locator("#draft-notice").count() == 1
    select(page, "register")
    page.click("#edit-form")
    page.wait_for_selector("#form-preview #f-witness")

    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="deployed"]')
    deployed = seeded.designs.version("closed_loop", 2)["files"]
    assert "witness" in deployed["register.schema.json"] and "ui:order" in deployed["register.ui.json"]
    assert 'name="formUiSchemaFilename" value="register.ui.json"' in deployed["closed_loop.bpmn"]
    assert seeded.designs.draft("closed_loop", "designer") is None


SELECT = """(id) => {
  const m = window.jingzhiModeler, canvas = m.get("canvas"), element = m.get("elementRegistry").get(id);
  const root = canvas.findRoot(element);
  if (root !== canvas.getRootElement()) canvas.setRootElement(root);   // drill into the sub-process
  m.get("selection").select(element);
}"""
SAVED_XML = "() => window.jingzhiModeler.saveXML({format: true}).then(r => r.xml)"


def pick(page, element_id: str) -> None:
    """Select an element through bpmn-js, as a click would; some sit inside the collapsed "handle" sub-process,
    which the designer opens by drilling down."""
    page.evaluate(SELECT, element_id)
    page.wait_for_selector(f'#panel-body[data-element="{element_id}"]')


def test_every_section_of_the_panel_writes_what_the_engine_reads(seeded, app, server, browser):  # noqa: F811
    page = open_editor(browser, server)

    pick(page, "register_overdue")                          # timer boundary event
    assert page.input_value("#prop-timer-kind") == "timeDuration"
    assert page.input_value("#prop-timer") == "dispatch_limit"
    change(page, "#prop-timer", '"PT2H"')

    pick(page, "f_gw_playbook_to_call_street_trading")      # gateway condition
    change(page, "#prop-condition", 'scenario in ("street_trading", "street_vending")')

    pick(page, "f_gw_playbook_to_call_group_renting")       # default flow on, then undone
    page.check("#prop-default")
    assert page.evaluate("""() => window.jingzhiModeler.get("elementRegistry").get("gw_playbook")
                              .businessObject.default.id""") == "f_gw_playbook_to_call_group_renting"
    page.evaluate("""() => { const s = window.jingzhiModeler.get("commandStack"); s.undo(); s.undo(); }""")
    assert page.evaluate("""() => window.jingzhiModeler.get("elementRegistry").get("gw_playbook")
                              .businessObject.default.id""") == "f_gw_playbook_to_call_general"

    pick(page, "verify_sensor_clear")                       # message, payload variable, correlation
    assert page.input_value("#prop-message") == "sensor_clear"
    assert page.input_value("#prop-messageVariable") == "clear"
    assert page.input_value("#prop-correlation-device_id") == "device_id"
    change(page, "#prop-messageVariable", "clear_event")
    change(page, "#prop-correlation-device_id", 'payload.get("device_id")')

    pick(page, "call_fire_lane")                            # call activity target
    assert page.input_value("#prop-calledElement") == "playbook_fire_lane"
    change(page, "#prop-calledElement", "playbook_general")

    pick(page, "auto_register")                             # decision table
    assert page.input_value("#prop-calledDecisionId") == "auto_registration"
    page.select_option("#prop-calledDecisionId", "routing")

    pick(page, "intake")                                    # script
    script = page.input_value("#prop-script")
    change(page, "#prop-script", script + "\nchecked_in_designer = True")

    pick(page, "gw_auto")                                   # a stage on any element
    page.select_option("#prop-stage", "register")

    pick(page, "closed_loop_lane_grid_patrol")              # a lane's team
    change(page, "#prop-lane-team", "property_company")

    pick(page, "register")                                  # team, instructions, a new form
    change(page, "#prop-team", '"grid_patrol"')
    change(page, "#prop-instructions", "核实现场后立案 Check on site first")
    page.fill("#new-form-name", "register_extra.schema.json")
    page.click("#new-form")
    page.wait_for_selector('#form-editor[data-preview="ok"]')
    assert page.input_value("#prop-formJsonSchemaFilename") == "register_extra.schema.json"

    xml = page.evaluate(SAVED_XML)
    for expected in ['<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT2H"</bpmn:timeDuration>',
                     'scenario in ("street_trading", "street_vending")', 'default="f_gw_playbook_to_call_general"',
                     "<spiffworkflow:messageVariable>clear_event</spiffworkflow:messageVariable>",
                     'payload.get("device_id")', 'calledElement="playbook_general"',
                     "<spiffworkflow:calledDecisionId>routing</spiffworkflow:calledDecisionId>",
                     "checked_in_designer = True", 'name="property_company"',
                     '<spiffworkflow:property name="team" value="&#34;grid_patrol&#34;" />',
                     "核实现场后立案 Check on site first",
                     '<spiffworkflow:property name="formJsonSchemaFilename" value="register_extra.schema.json" />']:
        assert expected in xml, expected
    gw_auto = xml[xml.index('<bpmn:exclusiveGateway id="gw_auto"'):]
    assert '<spiffworkflow:property name="stage" value="register" />' in gw_auto[:gw_auto.index("</bpmn:exclusiveGateway>")]
    original = (ROOT / "bpmn" / "closed_loop.bpmn").read_text(encoding="utf-8")   # nothing else lost on the way
    assert xml.count("<spiffworkflow:calledDecisionId>") == original.count("<spiffworkflow:calledDecisionId>")
    assert xml.count("<spiffworkflow:property ") == original.count("<spiffworkflow:property ") + 2  # team, stage

    page.click("#validate")                                 # and the engine accepts the whole edited set
    page.wait_for_selector('#designer-status[data-state="valid"]')


def test_deploying_over_a_version_someone_deployed_meanwhile_asks_first(seeded, app, server, browser):  # noqa: F811
    from tests.webui.test_designer import REGISTER_DUE, edited

    page = open_editor(browser, server)                       # opened on v1
    theirs = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')
    seeded.deploy({name: text.encode("utf-8") for name, text in theirs.items()}, deployed_by="admin")   # v2

    select(page, "register")
    change(page, "#prop-dueIn", '"PT45M"')
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="overtaken"]')
    assert "v2" in questions[0] and "admin" in questions[0]
    assert max(v["version"] for v in seeded.designs.versions_of("closed_loop")) == 2

    page.once("dialog", lambda dialog: dialog.accept())       # deploy anyway
    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="deployed"]')
    assert '"PT45M"' in seeded.designs.version("closed_loop", 3)["files"]["closed_loop.bpmn"].replace(
        "&#34;", '"').replace("&quot;", '"')


BUILD_NOISE = """() => {
  const m = window.jingzhiModeler, registry = m.get("elementRegistry"), modeling = m.get("modeling"),
        factory = m.get("elementFactory");
  const start = registry.get("playbook_noise_start");
  const task = modeling.appendShape(start, factory.createShape({type: "bpmn:UserTask"}), {x: 320, y: 178});
  modeling.updateProperties(task, {id: "check_noise", name: "噪声核查 Check the noise"});
  modeling.appendShape(task, factory.createShape({type: "bpmn:EndEvent"}), {x: 480, y: 178});
}"""


def test_switch_between_the_sets_diagrams_and_add_a_new_process(seeded, app, server, browser):  # noqa: F811
    page = open_editor(browser, server)
    select(page, "register")
    change(page, "#prop-dueIn", '"PT40M"')

    page.select_option("#diagram-file", "general.bpmn")        # another diagram of the same set
    page.wait_for_selector('#modeler[data-rendered="yes"][data-file="general.bpmn"]')
    page.select_option("#diagram-file", "closed_loop.bpmn")             # and back: the edit is still there
    page.wait_for_selector('#modeler[data-rendered="yes"][data-file="closed_loop.bpmn"]')
    select(page, "register")
    assert page.input_value("#prop-dueIn") == '"PT40M"'

    page.fill("#new-process-id", "closed_loop")                          # a process id already taken
    page.click("#new-diagram")
    page.wait_for_selector('#designer-status[data-state="error"]')
    page.fill("#new-process-id", "playbook_noise")
    page.click("#new-diagram")
    page.wait_for_selector('#modeler[data-rendered="yes"][data-file="playbook_noise.bpmn"]')
    page.evaluate(BUILD_NOISE)
    select(page, "check_noise")
    change(page, "#prop-team", '"grid_patrol"')
    change(page, "#prop-dueIn", '"PT2H"')

    page.click("#deploy")
    page.wait_for_selector('#designer-status[data-state="deployed"]')
    assert "playbook_noise v1" in page.inner_text("#designer-status")
    assert '"PT40M"' in seeded.designs.version("closed_loop", 2)["files"]["closed_loop.bpmn"].replace(
        "&#34;", '"').replace("&quot;", '"')
    instance_id = seeded.start("playbook_noise", {})
    [task] = seeded.ready_tasks(instance_id=instance_id)
    assert (task["bpmn_id"], task["team"]) == ("check_noise", "grid_patrol")


ADD_THROW = """() => {
  const m = window.jingzhiModeler, factory = m.get("elementFactory");
  const lane = m.get("elementRegistry").get("closed_loop_lane_grid_patrol");
  const event = factory.createShape({type: "bpmn:IntermediateThrowEvent",
                                     eventDefinitionType: "bpmn:MessageEventDefinition"});
  m.get("modeling").createShape(event, {x: lane.x + 120, y: lane.y + lane.height - 30}, lane);
  m.get("modeling").updateProperties(event, {id: "notify_owner"});
}"""


def test_a_message_throw_event_gets_a_new_message_and_its_payload(seeded, app, server, browser):  # noqa: F811
    page = open_editor(browser, server)
    page.evaluate(ADD_THROW)
    pick(page, "notify_owner")
    assert page.locator("#prop-messageVariable").count() == 0       # a throw sends; it stores nothing
    change(page, "#prop-new-message", "owner_notified")
    assert page.input_value("#prop-message") == "owner_notified"
    change(page, "#prop-messagePayload", '{"device_id": device_id}')
    assert page.input_value("#prop-correlation-device_id") == ""     # no retrieval expression for it yet
    change(page, "#prop-correlation-device_id", "device_id")
    xml = page.evaluate(SAVED_XML)
    assert '<bpmn:message id="owner_notified" name="owner_notified" />' in xml
    assert '<spiffworkflow:messagePayload>{"device_id": device_id}</spiffworkflow:messagePayload>' in xml
    assert 'messageRef="owner_notified"' in xml.split('id="notify_owner"')[1][:600]
    assert xml.count("<bpmn:correlationPropertyRetrievalExpression") == 2


def test_inside_a_sub_process_the_panel_offers_no_lanes_of_the_pool(seeded, app, server, browser):  # noqa: F811
    page = open_editor(browser, server)
    pick(page, "gw_playbook")                                      # inside the collapsed "handle" sub-process
    assert page.locator("#prop-lane").count() == 0 and page.locator("#prop-stage").count() == 1
    pick(page, "register")
    assert page.locator("#prop-lane option").count() == 2          # command_centre and grid_patrol


def test_a_problem_in_another_diagram_of_the_set_opens_it(seeded, app, server, browser):  # noqa: F811
    page = open_editor(browser, server)
    page.select_option("#diagram-file", "general.bpmn")
    page.wait_for_selector('#modeler[data-rendered="yes"][data-file="general.bpmn"]')
    select(page, "handle_on_site")
    change(page, "#prop-dueIn", '"PT1H" +')
    page.select_option("#diagram-file", "closed_loop.bpmn")
    page.wait_for_selector('#modeler[data-rendered="yes"][data-file="closed_loop.bpmn"]')

    page.click("#validate")                                       # the whole set: the broken playbook too
    page.wait_for_selector('#designer-status[data-state="invalid"]')
    page.click('#problems li[data-element="handle_on_site"]')
    page.wait_for_selector('#modeler[data-rendered="yes"][data-file="general.bpmn"]')
    page.wait_for_selector('#panel-body[data-element="handle_on_site"]')
    assert page.locator('g.djs-element.problem[data-element-id="handle_on_site"]').count() == 1
