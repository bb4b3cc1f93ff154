"""A deployment with anything wrong is refused whole, every problem located, and nothing is stored.

Most bad inputs are one piece of the valid triage set (triage.bpmn, priority.dmn, review.schema.json) broken in
place, so each test shows exactly what it breaks; the XML attacks and the odd files are built here too.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import defaults
from engine.exceptions import DeploymentRejected, Problem
from engine.models import Deployment, ProcessDefinition, ProcessInstance
from tests.conftest import DIAGRAMS, read_files

TRIAGE, PRIORITY, REVIEW = "triage.bpmn", "priority.dmn", "review.schema.json"
NOTHING = {"deployment": 0, "process_definition": 0, "process_instance": 0}


def good_files() -> dict[str, bytes]:
    return read_files(*(DIAGRAMS / name for name in (TRIAGE, PRIORITY, REVIEW)))


def broken(files: dict[str, bytes], name: str, old: bytes, new: bytes) -> dict[str, bytes]:
    """``files`` with ``old`` replaced by ``new`` in one file (which must contain it: the template is the test)."""
    assert files[name].count(old) == 1, f"{old!r} is not once in {name}"
    return {**files, name: files[name].replace(old, new)}


def line_of(data: bytes, text: bytes) -> int:
    return data[:data.index(text)].count(b"\n") + 1


def stored(engine) -> dict[str, int]:
    with engine.store.session() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Deployment, ProcessDefinition, ProcessInstance)}


def refused(engine, files: dict[str, bytes]) -> list[Problem]:
    """The problems of a deployment that must be refused, after checking it stored nothing."""
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy(files, deployed_by="test")
    assert stored(engine) == NOTHING
    assert rejected.value.code == "deployment_rejected"
    assert rejected.value.details == [p.__dict__ for p in rejected.value.problems]
    return rejected.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_the_valid_set_deploys_and_the_same_content_again_is_no_new_version(engine):
    first = engine.deploy(good_files(), deployed_by="test")
    assert first.created and first.versions == {"triage": 1, "escalation": 1}
    again = engine.deploy(good_files(), deployed_by="someone else")
    assert not again.created
    assert (again.deployment_id, again.versions) == (first.deployment_id, first.versions)
    assert stored(engine) == {"deployment": 1, "process_definition": 2, "process_instance": 0}


def test_a_valid_deployment_after_a_refused_one_is_version_1(engine):
    refused(engine, broken(good_files(), TRIAGE, b'"PT4H"', b"PT4H"))
    result = engine.deploy(good_files(), deployed_by="test")
    assert result.created and result.versions == {"triage": 1, "escalation": 1}
    assert result.deployment_id == 1  # the refused one did not even take an id


def test_malformed_xml_is_reported_with_its_line(engine):
    files = broken(good_files(), TRIAGE, b"</bpmn:scriptTask>", b"</bpmn:scriptTsk>")
    problem = only(refused(engine, files))
    assert problem.file == TRIAGE and problem.element_id is None
    assert problem.line == line_of(files[TRIAGE], b"</bpmn:scriptTsk>")
    assert problem.message.startswith("malformed XML:") and "scriptTsk" in problem.message


def with_doctype(files: dict[str, bytes], name: str, declarations: str, reference: bytes,
                 where: bytes) -> dict[str, bytes]:
    """``files`` with a DOCTYPE after the XML declaration of ``name`` and ``reference`` put in place of ``where``."""
    declaration, rest = files[name].split(b"\n", 1)
    data = declaration + b"\n" + declarations.encode() + b"\n" + rest.replace(where, reference, 1)
    return {**files, name: data}


def test_a_billion_laughs_is_refused_at_its_doctype_and_never_expanded(engine):
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    files = with_doctype(good_files(), TRIAGE, "<!DOCTYPE bpmn:definitions [\n" + "\n".join(entities) + "\n]>",
                         b"score = '&lol9;'", b"score = len(reports) * 10")
    problem = only(refused(engine, files))
    # Refused at the DOCTYPE (line 2), by our own check before any parser sees an entity, not by libxml2's
    # amplification limit halfway through expanding it. (No timing: machines here are noisy.)
    assert problem == Problem(TRIAGE, "DOCTYPE and entity declarations are not allowed in diagrams", line=2)


@pytest.mark.parametrize("name, where", [(TRIAGE, b"score = len(reports) * 10"), (PRIORITY, b"&gt;= 30")],
                         ids=["bpmn", "dmn"])
@pytest.mark.parametrize("declarations, reference", [
    ('<!DOCTYPE x [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>', b"&x;"),
    ('<!DOCTYPE x [\n<!ENTITY % p SYSTEM "file:///etc/passwd">\n%p;\n]>', b"1"),
    ('<!DOCTYPE x SYSTEM "file:///etc/passwd">', b"1"),
], ids=["general-entity", "parameter-entity", "external-dtd"])
def test_an_external_entity_is_refused_and_the_file_never_read(engine, name, where, declarations, reference):
    files = with_doctype(good_files(), name, declarations, reference, where)
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy(files, deployed_by="test")
    assert stored(engine) == NOTHING
    # (a refused decision file also leaves the business rule task calling it without its decision)
    assert rejected.value.problems[0] == Problem(
        name, "DOCTYPE and entity declarations are not allowed in diagrams", line=2)
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    assert secret and secret not in str(rejected.value) and secret not in repr(rejected.value.to_dict())


def test_a_process_without_a_start_event_names_the_process(engine):
    start = b'<bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>'
    files = broken(good_files(), TRIAGE, start, b'<bpmn:task id="start"><bpmn:outgoing>f_start</bpmn:outgoing>'
                                                b"</bpmn:task>")
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (TRIAGE, "triage")
    assert problem.line == line_of(files[TRIAGE], b'<bpmn:process id="triage"')
    assert "No start event" in problem.message


def test_an_unquoted_timer_expression_says_to_quote_it(engine):
    files = broken(good_files(), TRIAGE, b'"PT4H"', b"PT4H")
    assert only(refused(engine, files)) == Problem(
        TRIAGE, 'timer expression PT4H is not quoted: timer expressions are Python, write "PT4H" '
                "(or name a variable holding the value)",
        "cool_down", line_of(files[TRIAGE], b'id="cool_down"'))


def test_a_script_with_a_syntax_error(engine):
    files = broken(good_files(), TRIAGE, b"score = len(reports) * 10", b"score = len(reports) *")
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (TRIAGE, "score")
    assert problem.line == line_of(files[TRIAGE], b'<bpmn:scriptTask id="score"')
    assert problem.message.startswith("script does not compile: Line 1: SyntaxError")


def test_a_call_activity_to_a_missing_process(engine):
    files = broken(good_files(), TRIAGE, b'calledElement="escalation"', b'calledElement="nowhere"')
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (TRIAGE, "escalate")
    assert problem.line == line_of(files[TRIAGE], b'<bpmn:callActivity id="escalate"')
    assert "calls process 'nowhere', which is not in the deployment" in problem.message


def test_a_gateway_condition_that_does_not_compile(engine):
    files = broken(good_files(), TRIAGE, b'priority == "high"', b'priority = "high"')
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (TRIAGE, "route")
    assert problem.line == line_of(files[TRIAGE], b'<bpmn:exclusiveGateway id="route"')
    assert problem.message.startswith("condition of the flow to escalate does not compile")
    assert "SyntaxError" in problem.message


def test_a_decision_table_input_entry_that_does_not_compile(engine):
    files = broken(good_files(), PRIORITY, b"&gt;= 30", b"&gt;= = 30")
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (PRIORITY, "rule_high_score")
    assert problem.line == line_of(files[PRIORITY], b'<inputEntry id="rule_high_score"')
    assert problem.message.startswith("DMN rule 1 input does not compile")
    assert "score>= = 30" in problem.message


def test_a_decision_table_cell_that_the_dmn_engine_would_glue_to_its_input(engine):
    """SpiffWorkflow joins a cell that is not an expression to its input without a space: ``scorein (1, 2)``."""
    files = broken(good_files(), PRIORITY, b"&gt;= 30", b"in (30, 40)")
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (PRIORITY, "rule_high_score")
    assert "'scorein (30, 40)'" in problem.message and "'? in (30, 40)'" in problem.message


def test_a_business_rule_task_calling_a_missing_decision(engine):
    files = broken(good_files(), TRIAGE, b">priority</spiffworkflow:calledDecisionId>",
                   b">nothing</spiffworkflow:calledDecisionId>")
    problem = only(refused(engine, files))
    assert (problem.file, problem.element_id) == (TRIAGE, "decide")
    assert problem.line == line_of(files[TRIAGE], b'<bpmn:businessRuleTask id="decide"')
    assert '"nothing"' in problem.message and "priority" in problem.message


def test_a_form_schema_that_is_not_json_schema(engine):
    files = broken(good_files(), REVIEW, b'"type": "object"', b'"type": "thing"')
    schema, user_task = refused(engine, files)
    assert schema.file == REVIEW and schema.message.startswith("form schema is not a valid JSON Schema:")
    assert user_task == Problem(TRIAGE, f"form schema '{REVIEW}' is not usable (see its own problem)", "review",
                                line_of(files[TRIAGE], b'<bpmn:userTask id="review"'))


def test_a_form_file_that_is_not_json_reports_its_line(engine):
    files = broken(good_files(), REVIEW, b'"type": "object",', b'"type": "object"')
    schema, _user_task = refused(engine, files)
    assert schema.file == REVIEW and schema.message.startswith("form schema is not valid JSON:")
    assert schema.line == line_of(files[REVIEW], b'"properties"')


def test_a_form_property_naming_a_file_not_in_the_deployment(engine):
    files = broken(good_files(), TRIAGE, b'value="review.schema.json"', b'value="missing.schema.json"')
    assert only(refused(engine, files)) == Problem(
        TRIAGE, "property formJsonSchemaFilename names 'missing.schema.json', which is not in the deployment",
        "review", line_of(files[TRIAGE], b'<bpmn:userTask id="review"'))


def test_every_problem_in_every_file_is_listed(engine):
    files = broken(good_files(), TRIAGE, b'"PT4H"', b"PT4H")
    files = broken(files, TRIAGE, b"score = len(reports) * 10", b"score = len(reports) *")
    files = broken(files, PRIORITY, b"&gt;= 30", b"&gt;= = 30")
    files = broken(files, REVIEW, b'"type": "object"', b'"type": "thing"')
    files["notes.txt"] = b"not a diagram"
    found = {(p.file, p.element_id) for p in refused(engine, files)}
    assert found == {(TRIAGE, "cool_down"), (TRIAGE, "score"), (TRIAGE, "review"), (PRIORITY, "rule_high_score"),
                     (REVIEW, None), ("notes.txt", None)}


@pytest.mark.parametrize("name", ["notes.txt", "setup.py", "triage.bpmn.zip", "README"])
def test_a_file_type_that_is_not_bpmn_dmn_or_json(engine, name):
    files = {**good_files(), name: b"print('hello')"}
    assert only(refused(engine, files)) == Problem(name, "unsupported file type (expected .bpmn, .dmn or .json)")


def test_an_oversized_file_is_refused_without_being_parsed(engine):
    padding = b"<!-- " + b"x" * defaults.MAX_DEPLOY_FILE_BYTES + b" -->\n"
    files = broken(good_files(), TRIAGE, b"<bpmn:definitions", padding + b"<bpmn:definitions")
    files[TRIAGE] += b"<not closed"  # would be a second problem if the file were parsed
    assert only(refused(engine, files)) == Problem(
        TRIAGE, f"file is larger than {defaults.MAX_DEPLOY_FILE_BYTES} bytes")
