"""Diagrams exported by other tools (bpmn.io, Camunda Modeler 7 and 8, Signavio), written for these tests: each either
deploys (and runs) or is refused naming every element this engine cannot run - its id, type and line, and what to do
instead - and never with anything but DeploymentRejected."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from engine import catalogue
from engine.exceptions import DeploymentRejected
from engine.deploy.validation import validate_files
from tests.conftest import DIAGRAMS

OTHER = DIAGRAMS / "other_tools"
SERVICE = "calling Java classes or external workers is not supported here; use a script task"
FORM = "forms here are JSON Schema files"
ASSIGN = "tasks are assigned by lane"
MAPPING = "variable mappings are not applied here"
PYTHON = "expressions here are Python, evaluated on the case data"
DMN = "Jingzhi evaluates DMN cells as Python expressions"

#: A Jingzhi diagram calling the Camunda Modeler decision, so the decision is parsed and run as in a deployment.
LEAVE_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="leave_defs" targetNamespace="http://x">
  <bpmn:process id="leave" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>leave_approval</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def read(name: str) -> bytes:
    return (OTHER / name).read_bytes()


def line_of(data: bytes, snippet: str) -> int:
    """The line of ``snippet``, which must be in ``data`` once (the file is the test's template)."""
    assert data.count(snippet.encode()) == 1, f"{snippet!r} is not once in the file"
    return data[:data.index(snippet.encode())].count(b"\n") + 1


def answer(files: dict[str, bytes]) -> list:
    """The problems of a file set; validation may refuse, but nothing else may escape it."""
    try:
        validate_files(files)
    except DeploymentRejected as rejected:
        return rejected.problems
    return []


# --- what deploys, and runs ---------------------------------------------------------------------------------------

def test_a_signavio_export_with_an_executable_process_deploys_and_runs(engine):
    result = engine.deploy({"signavio.bpmn": read("signavio.bpmn")}, deployed_by="test")
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


def test_a_bpmn_io_export_deploys_and_runs_both_branches(engine):
    assert engine.deploy({"bpmnio.bpmn": read("bpmnio.bpmn")}, deployed_by="test").versions == {"Process_permit": 1}
    granted = engine.start("Process_permit", {"days": 3})
    [review] = engine.ready_tasks(instance_id=granted)
    assert review["bpmn_id"] == "Activity_review"
    engine.complete_task(review["id"], {"approved": True}, actor="clerk")
    assert engine.get(granted).status == "completed" and engine.get(granted).data["fee"] == 60

    refused = engine.start("Process_permit", {"days": 3})
    [review] = engine.ready_tasks(instance_id=refused)
    engine.complete_task(review["id"], {"approved": False}, actor="clerk")  # the gateway's default flow
    [letter] = engine.ready_tasks(instance_id=refused)
    assert letter["bpmn_id"] == "Activity_letter"
    engine.complete_task(letter["id"], {}, actor="clerk")
    assert engine.get(refused).status == "completed" and "fee" not in engine.get(refused).data


def test_a_bpmn_io_export_left_not_executable_says_how_to_run_it():
    data = read("bpmnio.bpmn").replace(b'isExecutable="true"', b'isExecutable="false"')   # bpmn-js's default
    [problem] = answer({"bpmnio.bpmn": data})
    assert 'set isExecutable="true"' in problem.message and "Process_permit" in problem.message


def test_a_signavio_export_with_lanes_and_vendor_metadata_runs_by_lane(engine):
    engine.deploy({"signavio_lanes.bpmn": read("signavio_lanes.bpmn")}, deployed_by="test")
    instance_id = engine.start("sid-process-complaint", {"decibels": 75})
    for expected, lane in (("sid-task-register", "front_office"), ("sid-task-visit", "field_team"),
                           ("sid-task-answer", "front_office")):
        [task] = engine.ready_tasks(instance_id=instance_id)
        assert (task["bpmn_id"], task["lane"], task["team"]) == (expected, lane, lane)
        engine.complete_task(task["id"], {}, actor="someone")
    assert engine.get(instance_id).status == "completed"


def test_a_camunda_export_with_only_harmless_vendor_attributes_deploys_and_runs(engine):
    engine.deploy({"camunda7_python.bpmn": read("camunda7_python.bpmn")}, deployed_by="test")
    instance_id = engine.start("parking_fine", {"minutes": 90})
    [task] = engine.ready_tasks(instance_id=instance_id)
    assert task["bpmn_id"] == "Task_review"
    engine.complete_task(task["id"], {}, actor="warden")
    assert engine.get(instance_id).status == "completed" and engine.get(instance_id).data["amount"] == 200


# --- what is refused, element by element -------------------------------------------------------------------------

REFUSED = {
    "camunda.bpmn": [
        ("StartEvent_1", 'camunda:formKey="embedded', "startEvent 'StartEvent_1' uses camunda:formKey: " + FORM),
        ("Activity_approve", 'camunda:assignee="${manager}"',
         "userTask 'Activity_approve' uses camunda:assignee and camunda:candidateGroups: " + ASSIGN),
        ("Activity_notify", 'camunda:class="org.example.Notify"',
         "serviceTask 'Activity_notify' uses camunda:class (a Java delegate): " + SERVICE),
        ("Activity_script", 'scriptFormat="javascript"',
         "scriptTask 'Activity_script' uses scriptFormat 'javascript': scripts here are Python"),
        ("Flow_5", "${long}", f"sequenceFlow 'Flow_5' uses the JUEL (Camunda 7) condition ${{long}}: {PYTHON}; "
                              f"e.g. long"),
        ("Flow_6", "${!long}", f"sequenceFlow 'Flow_6' uses the JUEL (Camunda 7) condition ${{!long}}: {PYTHON}; "
                               f"e.g. not long"),
    ],
    "camunda7.bpmn": [
        ("StartEvent_claim", 'camunda:formKey="camunda-forms', "camunda:formKey: " + FORM),
        ("StartEvent_claim", 'camunda:formKey="camunda-forms', "startEvent 'StartEvent_claim' uses camunda:initiator: "
                                                               "who started a case is kept in its history here"),
        ("Task_assess", 'camunda:formRef="assess"', "userTask 'Task_assess' uses camunda:formRef: " + FORM),
        ("Task_assess", 'camunda:formRef="assess"', "camunda:candidateGroups: " + ASSIGN),
        ("Task_assess", 'camunda:formRef="assess"', "camunda:dueDate: deadlines are the spiffworkflow property dueIn"),
        ("Flow_large", "${amount &gt; 100}", f"condition ${{amount > 100}}: {PYTHON}; e.g. amount > 100"),
        ("Flow_small", "${amount &lt;= 100", f"{PYTHON}; e.g. amount <= 100 and not urgent"),
        ("Task_risk", 'camunda:decisionRef="risk_rating"', "camunda:decisionRef: name the decision with "
                                                            "spiffworkflow:calledDecisionId"),
        ("Task_risk", 'camunda:decisionRef="risk_rating"', "camunda:resultVariable: results are not stored"),
        ("Task_check", 'camunda:class="com.example', "serviceTask 'Task_check' uses camunda:class (a Java delegate): "
                                                     + SERVICE),
        ("Task_pay", 'camunda:type="external"', "serviceTask 'Task_pay' uses camunda:type (an external task or "
                                                "connector): " + SERVICE),
        ("Event_wait", "${coolingOff}", "intermediateCatchEvent 'Event_wait' uses the JUEL (Camunda 7) timer "
                                        "${coolingOff}: " + PYTHON + "; e.g. coolingOff (a literal ISO 8601 value is "
                                                                     "quoted: \"PT5M\")"),
        ("Task_inform", 'camunda:delegateExpression="${mailer}"', "sendTask 'Task_inform' uses "
                                                                  "camunda:delegateExpression (a Java delegate): "
                                                                  + SERVICE),
        ("Task_archive", "<camunda:inputOutput>", "userTask 'Task_archive' uses camunda:inputOutput (input/output "
                                                  "mappings): " + MAPPING),
        ("Task_archive", "<camunda:taskListener", "camunda:taskListener: listeners are not run here"),
        ("Task_archive", 'camunda:collection="${documents}"', "camunda:collection: write a multi-instance over a list "
                                                              "with the standard loopDataInputRef"),
        ("Call_letters", '<camunda:in source="claimId"', "callActivity 'Call_letters' uses camunda:in (a variable "
                                                         "mapping into the called process): a call activity here "
                                                         "passes all case data"),
        ("Task_print", 'scriptFormat="groovy"', "scriptTask 'Task_print' uses scriptFormat 'groovy'"),
        ("Task_print", "<camunda:executionListener", "camunda:executionListener: listeners are not run here"),
    ],
    "zeebe.bpmn": [
        ("charge", "<zeebe:taskDefinition", "serviceTask 'charge' uses zeebe:taskDefinition (a job for an external "
                                            "worker): " + SERVICE),
    ],
    "zeebe_feel.bpmn": [
        ("Task_score", "<zeebe:calledDecision", "businessRuleTask 'Task_score' uses zeebe:calledDecision: name the "
                                                "decision with spiffworkflow:calledDecisionId"),
        ("Flow_big", "=total &gt; 1000", f"sequenceFlow 'Flow_big' uses the FEEL (Camunda 8) condition =total > 1000 "
                                         f"and express = true: {PYTHON}; e.g. total > 1000 and express == True"),
        ("Task_pick", "<zeebe:formDefinition", "userTask 'Task_pick' uses zeebe:formDefinition: " + FORM),
        ("Task_pick", "<zeebe:assignmentDefinition", "zeebe:assignmentDefinition: " + ASSIGN),
        ("Task_pick", "<zeebe:taskSchedule", "zeebe:taskSchedule: deadlines are the spiffworkflow property dueIn"),
        ("Task_pick", "<zeebe:loopCharacteristics", "zeebe:loopCharacteristics: write a multi-instance"),
        ("Task_ship", "<zeebe:taskDefinition", "serviceTask 'Task_ship' uses zeebe:taskDefinition (a job for an "
                                               "external worker): " + SERVICE),
        ("Task_ship", "<zeebe:ioMapping>", "zeebe:ioMapping (input/output mappings): " + MAPPING),
        ("Event_late", '=duration("P"', "boundaryEvent 'Event_late' uses the FEEL (Camunda 8) timer"),
        ("Task_total", "<zeebe:script", "scriptTask 'Task_total' uses zeebe:script (a FEEL expression): write the "
                                        "script inline in the script task, in Python"),
        ("Call_invoice", "<zeebe:calledElement", "callActivity 'Call_invoice' uses zeebe:calledElement: name the "
                                                 "called process in the call activity's calledElement attribute"),
        ("Message_delivered", "<zeebe:subscription", "message 'Message_delivered' uses zeebe:subscription (a FEEL "
                                                     "correlation key): messages correlate here with "
                                                     "bpmn:correlationKey"),
    ],
    "camunda_decision.dmn": [
        ("Entry_short_days", '<inputEntry id="Entry_short_days"',
         f"inputEntry 'Entry_short_days' uses the FEEL range [1..5] (rule 1, input 'Days'): {DMN}; write 1 <= ? <= 5"),
        ("Entry_short_kind", '<inputEntry id="Entry_short_kind"',
         f"uses the FEEL list \"annual\",\"sick\" (rule 1, input 'Kind'): {DMN}; write ? in (\"annual\", \"sick\")"),
        ("Entry_short_auto", '<outputEntry id="Entry_short_auto"',
         f"outputEntry 'Entry_short_auto' uses the FEEL literal true (rule 1, output): {DMN}; write True"),
        ("Entry_long_kind", '<inputEntry id="Entry_long_kind"',
         f"uses the FEEL negation not(\"unpaid\") (rule 2, input 'Kind'): {DMN}; write != \"unpaid\""),
        ("Entry_long_auto", '<outputEntry id="Entry_long_auto"', "uses the FEEL literal false (rule 2, output)"),
        ("Entry_other_auto", '<outputEntry id="Entry_other_auto"', "uses the FEEL literal false (rule 3, output)"),
    ],
}


def files_for(name: str) -> dict[str, bytes]:
    return {name: read(name), **({"leave.bpmn": LEAVE_BPMN} if name.endswith(".dmn") else {})}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_other_tools_exports_are_refused_naming_each_element_its_line_and_what_to_do(name):
    data = read(name)
    problems = answer(files_for(name))
    assert problems, "must be refused"
    expected = {(element, line_of(data, snippet)) for element, snippet, _ in REFUSED[name]}
    assert {(p.element_id, p.line) for p in problems} == expected
    assert all(p.file == name for p in problems)
    for element, _, words in REFUSED[name]:
        assert any(p.element_id == element and words in p.message for p in problems), (element, words, problems)


def test_each_thing_is_named_once_and_never_in_spiffworkflow_or_python_terms():
    problems = [p for name in REFUSED for p in answer(files_for(name))]
    assert len({(p.file, p.element_id, p.message) for p in problems}) == len(problems)
    assert not [p for p in problems if "must have an operator" in p.message or "does not compile" in p.message]


def test_without_the_java_parts_the_juel_conditions_still_name_their_flows_not_the_gateway():
    text = read("camunda.bpmn").replace(
        b'<bpmn:serviceTask id="Activity_notify" name="Notify" camunda:class="org.example.Notify">',
        b'<bpmn:task id="Activity_notify" name="Notify">').replace(b"</bpmn:serviceTask>", b"</bpmn:task>")
    problems = answer({"camunda.bpmn": text})
    assert {p.element_id for p in problems} == {"StartEvent_1", "Activity_approve", "Activity_script",
                                                "Flow_5", "Flow_6"}


def test_the_python_spelling_offered_for_feel_cells_decides_as_the_feel_table_did(engine):
    root = etree.fromstring(read("camunda_decision.dmn"))
    for problem in answer(files_for("camunda_decision.dmn")):
        python = re.search(r"; write (.*)$", problem.message).group(1)
        [cell] = root.xpath(f"//*[@id='{problem.element_id}']/*[local-name()='text']")
        cell.text = python
    engine.deploy({"camunda_decision.dmn": etree.tostring(root), "leave.bpmn": LEAVE_BPMN}, deployed_by="test")
    for days, kind, approver, automatic in ((3, "sick", "team lead", True), (5, "annual", "team lead", True),
                                            (8, "annual", "manager", False), (8, "unpaid", "director", False),
                                            (0, "annual", "director", False), (2, "unpaid", "director", False)):
        data = engine.get(engine.start("leave", {"days": days, "kind": kind})).data
        assert (data["approver"], data["automatic"]) == (approver, automatic), (days, kind)


def dmn_with(old: str, new: str) -> dict[str, bytes]:
    data = read("camunda_decision.dmn").decode()
    assert data.count(old) == 1, old
    return {"camunda_decision.dmn": data.replace(old, new).encode(), "leave.bpmn": LEAVE_BPMN}


SECOND_DECISION = """  <decision id="leave_budget" name="Budget">
    <informationRequirement id="InformationRequirement_1"><requiredDecision href="#leave_approval" />
    </informationRequirement>
    <literalExpression id="LiteralExpression_1"><text>days * 100</text></literalExpression>
  </decision>
  <dmndi:DMNDI>"""


@pytest.mark.parametrize("old, new, element, words", [
    ('hitPolicy="FIRST"', 'hitPolicy="RULE ORDER"', "DecisionTable_leave",
     "decisionTable 'DecisionTable_leave' uses the hit policy RULE ORDER: this engine answers with the first "
     "matching rule: use FIRST, UNIQUE or COLLECT"),
    ('hitPolicy="FIRST"', 'hitPolicy="COLLECT" aggregation="SUM"', "DecisionTable_leave",
     "uses the COLLECT aggregation SUM: COLLECT returns the list of every matching rule's outputs here"),
    ("  <dmndi:DMNDI>", SECOND_DECISION, "leave_budget",
     "decision 'leave_budget' uses the same file as decision 'leave_approval': only one decision per .dmn file is "
     "read here; put each in its own file"),
    ("  <dmndi:DMNDI>", SECOND_DECISION, "leave_budget",
     "uses the result of decision '#leave_approval': decisions here do not call each other; run each from its own "
     "business rule task"),
    ("  <dmndi:DMNDI>", SECOND_DECISION, "leave_budget",
     "uses a literalExpression instead of a decision table: only decision tables are run here"),
    ("<text>days</text>", '<text>days</text></inputExpression></input><input id="i3"><inputExpression id="ie3">'
                          '<text>if days &gt; 3 then 1 else 0</text>', "i3",
     "does not compile"),
])
def test_decision_tables_read_differently_here_are_refused_by_element(old, new, element, words):
    problems = answer(dmn_with(old, new))
    assert any(p.element_id == element and words in p.message for p in problems), problems


def test_a_feel_cell_of_no_recognised_form_still_gets_the_python_hint():
    problems = answer(dmn_with("<text>&gt; 5</text>", "<text>&gt; 5 and &lt; 10</text>"))
    [compile_error] = [p for p in problems if p.element_id == "Entry_long_days"]
    assert "does not compile" in compile_error.message and compile_error.message.endswith(f"({DMN})")


PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="x"/>
    {element}
    <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>{extra}
</bpmn:definitions>"""
FLOWS = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"


@pytest.mark.parametrize("element, words", [
    (f'<bpmn:intermediateThrowEvent id="x">{FLOWS}<bpmn:compensateEventDefinition id="c"/>'
     f'</bpmn:intermediateThrowEvent>', "intermediateThrowEvent 'x' uses a compensation event: compensation is not "
                                        "run by this engine"),
    (f'<bpmn:intermediateThrowEvent id="x">{FLOWS}<bpmn:linkEventDefinition id="l" name="L"/>'
     f'</bpmn:intermediateThrowEvent>', "uses a link event: link events are not run by this engine; draw the "
                                        "sequence flow directly"),
    (f'<bpmn:complexGateway id="x">{FLOWS}</bpmn:complexGateway>',
     "complexGateway 'x' uses a gateway type this engine does not run: use an inclusive or exclusive gateway"),
    (f'<bpmn:task id="x" isForCompensation="true">{FLOWS}</bpmn:task>',
     "task 'x' uses isForCompensation=\"true\" (a compensation handler)"),
    (f'<bpmn:userTask id="x">{FLOWS}<bpmn:potentialOwner id="o"><bpmn:resourceAssignmentExpression id="r">'
     f'<bpmn:formalExpression>managers</bpmn:formalExpression></bpmn:resourceAssignmentExpression>'
     f'</bpmn:potentialOwner></bpmn:userTask>', "userTask 'x' uses bpmn:potentialOwner: " + ASSIGN),
    (f'<bpmn:serviceTask id="x">{FLOWS}</bpmn:serviceTask>',
     "serviceTask 'x' uses no implementation this engine can call: " + SERVICE),
    (f'<bpmn:exclusiveGateway id="x" default="f2">{FLOWS}</bpmn:exclusiveGateway>'
     f'<bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="end"><bpmn:conditionExpression '
     f'xsi:type="bpmn:tFormalExpression" language="javascript">a &gt; 1</bpmn:conditionExpression>'
     f'</bpmn:sequenceFlow>', "sequenceFlow 'f3' uses a condition in the language 'javascript': " + PYTHON),
])
def test_standard_bpmn_this_engine_parses_but_does_not_run_is_refused(element, words):
    problems = answer({"plain.bpmn": PROCESS.format(element=element, extra="").encode()})
    assert any(p.element_id in ("x", "f3") and words in p.message and p.line == 7
               for p in problems), problems


@pytest.mark.parametrize("element, extra", [
    (f'<bpmn:intermediateCatchEvent id="x">{FLOWS}<bpmn:conditionalEventDefinition id="c"><bpmn:condition '
     f'xsi:type="bpmn:tFormalExpression">ready == True</bpmn:condition></bpmn:conditionalEventDefinition>'
     f'</bpmn:intermediateCatchEvent>', ""),
    (f'<bpmn:intermediateThrowEvent id="x">{FLOWS}<bpmn:escalationEventDefinition id="e" escalationRef="esc"/>'
     f'</bpmn:intermediateThrowEvent>', '<bpmn:escalation id="esc" escalationCode="late"/>'),
    (f'<bpmn:intermediateThrowEvent id="x">{FLOWS}<bpmn:signalEventDefinition id="s" signalRef="sig"/>'
     f'</bpmn:intermediateThrowEvent>', '<bpmn:signal id="sig" name="S"/>'),
    (f'<bpmn:inclusiveGateway id="x">{FLOWS}</bpmn:inclusiveGateway>', ""),
])
def test_events_and_gateways_spiffworkflow_runs_are_not_refused(element, extra):
    assert answer({"plain.bpmn": PROCESS.format(element=element, extra=extra).encode()}) == []


# --- never anything but an answer or a refusal ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.name for p in OTHER.iterdir()))
def test_every_file_with_any_one_element_removed_or_cut_short_gets_an_answer(name):
    files = files_for(name)
    root = etree.fromstring(files[name])
    elements = [e for e in root.iter() if e is not root and isinstance(e.tag, str)]
    for position in range(len(elements)):
        copy = etree.fromstring(files[name])
        victim = [e for e in copy.iter() if e is not copy and isinstance(e.tag, str)][position]
        victim.getparent().remove(victim)
        answer({**files, name: etree.tostring(copy)})
    for cut in range(0, len(files[name]), max(1, len(files[name]) // 25)):
        assert answer({**files, name: files[name][:cut]})
