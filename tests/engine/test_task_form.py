"""Engine reads behind the task and case pages: a task's form, UI schema and instructions; the process diagram."""
from __future__ import annotations

from tests.conftest import DIAGRAMS


def test_a_task_brings_its_schema_and_the_diagrams_instructions(engine, deploy):
    source = (DIAGRAMS / "inspection.bpmn").read_text(encoding="utf-8")
    instructions = "<spiffworkflow:instructionsForEndUser>核实告警是否属实 Check the report on the map" \
                   "</spiffworkflow:instructionsForEndUser>"
    with_instructions = source.replace("<spiffworkflow:properties>", instructions + "<spiffworkflow:properties>", 1)
    assert with_instructions != source
    deploy("inspection.bpmn", "register.schema.json", inspection__bpmn=with_instructions.encode("utf-8"))
    instance_id = engine.start("inspection", {"device_id": "D-1"})
    [task] = engine.ready_tasks(instance_id=instance_id)
    form = engine.task_form(task["id"])
    assert form["instructions"] == "核实告警是否属实 Check the report on the map"
    assert form["schema"]["properties"]["valid"]["type"] == "boolean"
    assert form["task"]["id"] == task["id"] and form["data"]["device_id"] == "D-1"
    xml = engine.diagram(instance_id)
    assert 'id="inspection"' in xml and "核实告警是否属实" in xml
