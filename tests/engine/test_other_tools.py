"""Diagrams exported by other tools (Camunda Modeler 7 and 8, Signavio), written for these tests: each either deploys
or is refused with the element and line of what this engine cannot run - never an unexplained failure."""
from __future__ import annotations

import pytest

from engine import catalogue
from engine.exceptions import DeploymentRejected
from tests.conftest import DIAGRAMS

OTHER = DIAGRAMS / "other_tools"


def test_a_signavio_export_with_an_executable_process_deploys_and_runs(engine):
    result = engine.deploy({"signavio.bpmn": (OTHER / "signavio.bpmn").read_bytes()}, deployed_by="test")
    assert result.versions == {"sid-process": 1}
    instance_id = engine.start("sid-process")
    [task] = engine.ready_tasks(instance_id=instance_id)             # a plain task waits for a person, as a manual one
    assert task["bpmn_id"] == "sid-task" and task["label"] == "Check request"
    engine.complete_task(task["id"], {}, actor="someone")
    assert engine.get(instance_id).status == "completed"


def test_a_signavio_export_without_an_executable_process_is_refused_by_name():
    text = (OTHER / "signavio.bpmn").read_text().replace('isExecutable="true"', 'isExecutable="false"')
    [problem] = catalogue.check({"signavio.bpmn": text.encode()})
    assert "no executable process" in problem["message"] and "sid-process" in problem["message"]


@pytest.mark.parametrize("name, expected", [
    ("camunda.bpmn", {("Activity_script", 18, "scriptFormat 'javascript' is not supported"),
                      ("Activity_notify", 13, "Service Task")}),
    ("zeebe.bpmn", {("charge", 6, "Service Task")}),
])
def test_camunda_exports_are_refused_naming_each_unsupported_element(name, expected):
    problems = catalogue.check({name: (OTHER / name).read_bytes()})
    found = {(p["element_id"], p["line"]) for p in problems}
    assert found == {(element, line) for element, line, _ in expected}
    for element, _, words in expected:
        assert any(p["element_id"] == element and words in p["message"] for p in problems)


def test_without_the_service_task_camunda_scripts_and_juel_conditions_are_named_too():
    text = (OTHER / "camunda.bpmn").read_text()
    text = text.replace('<bpmn:serviceTask id="Activity_notify" name="Notify" camunda:class="org.example.Notify">',
                        '<bpmn:task id="Activity_notify" name="Notify">').replace("</bpmn:serviceTask>", "</bpmn:task>")
    with pytest.raises(DeploymentRejected) as refused:
        from engine.validation import validate_files
        validate_files({"camunda.bpmn": text.encode()})
    messages = [(p.element_id, p.message) for p in refused.value.problems]
    assert ("Activity_script", "scriptFormat 'javascript' is not supported: scripts here are Python, run in the "
                               "engine's sandbox") in messages
    assert sum(1 for element, message in messages if element == "Gateway_1" and "${" in message) == 2
