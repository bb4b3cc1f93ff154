"""Deployment refuses diagrams too big to run in bounded time, naming the limit and the element, before
SpiffWorkflow parses them (no bare RecursionError); the district's own diagrams stay well inside every limit."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.exceptions import DeploymentRejected
from engine.models import Deployment
from engine.deploy.sandbox_limits import MAX_ELEMENTS, MAX_PARALLEL_BRANCHES, MAX_SEQUENCE
from engine.deploy.validation import validate_files
from tests.conftest import read_files

ROOT = Path(__file__).resolve().parent.parent.parent
NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def process(*parts: str) -> dict[str, bytes]:
    return {"big.bpmn": (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs" '
                         f'targetNamespace="http://jingzhi.example/bpmn">\n<bpmn:process id="big" isExecutable="true">'
                         + "\n".join(parts) + "\n</bpmn:process>\n</bpmn:definitions>\n").encode()}


def task(task_id: str, incoming: list[str], outgoing: list[str], kind: str = "task") -> str:
    return (f'<bpmn:{kind} id="{task_id}">' + "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming)
            + "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing) + f"</bpmn:{kind}>")


def flow(flow_id: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'


def sequence(n: int) -> dict[str, bytes]:
    parts = ['<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    previous = "start"
    for i in range(n):
        parts += [flow(f"f{i}", previous, f"t{i}"), task(f"t{i}", [f"f{i}"], [f"f{i + 1}"])]
        previous = f"t{i}"
    parts += [flow(f"f{n}", previous, "end"), f'<bpmn:endEvent id="end"><bpmn:incoming>f{n}</bpmn:incoming></bpmn:endEvent>']
    return process(*parts)


def parallel(n: int) -> dict[str, bytes]:
    parts = ['<bpmn:startEvent id="start"><bpmn:outgoing>fs</bpmn:outgoing></bpmn:startEvent>', flow("fs", "start", "split"),
             task("split", ["fs"], [f"a{i}" for i in range(n)], "parallelGateway"),
             task("join", [f"b{i}" for i in range(n)], ["fe"], "parallelGateway"),
             flow("fe", "join", "end"), '<bpmn:endEvent id="end"><bpmn:incoming>fe</bpmn:incoming></bpmn:endEvent>']
    for i in range(n):
        parts += [flow(f"a{i}", "split", f"t{i}"), task(f"t{i}", [f"a{i}"], [f"b{i}"]), flow(f"b{i}", f"t{i}", "join")]
    return process(*parts)


def doubling(k: int) -> dict[str, bytes]:
    """k tasks each passed twice as often as the one before: a parallel split whose two flows both reach the next
    task, which has no gateway to wait at and so runs once per arriving flow."""
    parts = ['<bpmn:startEvent id="start"><bpmn:outgoing>s</bpmn:outgoing></bpmn:startEvent>', flow("s", "start", "m0")]
    incoming = ["s"]
    for i in range(k):
        parts += [task(f"m{i}", incoming, [f"o{i}"]), flow(f"o{i}", f"m{i}", f"g{i}"),
                  task(f"g{i}", [f"o{i}"], [f"x{i}", f"y{i}"], "parallelGateway"),
                  flow(f"x{i}", f"g{i}", f"m{i + 1}"), flow(f"y{i}", f"g{i}", f"m{i + 1}")]
        incoming = [f"x{i}", f"y{i}"]
    parts += [f'<bpmn:endEvent id="m{k}">' + "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming)
              + "</bpmn:endEvent>"]
    return process(*parts)


def refused(engine, files) -> list:
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy(files, deployed_by="test")
    with engine.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Deployment)) == 0
    assert not any("RecursionError" in p.message for p in rejected.value.problems)
    return rejected.value.problems


def test_the_district_diagrams_deploy_within_every_limit(engine):
    result = engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")
    assert result.created and "closed_loop" in result.versions


def test_a_long_sequence_is_refused_at_the_element_that_crosses_the_limit(engine):
    validate_files(sequence(MAX_SEQUENCE - 2))  # start + tasks + end: exactly the limit
    for n in (MAX_SEQUENCE, 5000):
        problems = refused(engine, sequence(n))
        chain = [p for p in problems if "MAX_SEQUENCE" in p.message]
        assert [(p.file, p.element_id) for p in chain] == [("big.bpmn", f"t{MAX_SEQUENCE - 1}")]
        assert f"at most {MAX_SEQUENCE}" in chain[0].message and chain[0].line


def test_too_many_parallel_branches_are_refused_at_the_split(engine):
    validate_files(parallel(MAX_PARALLEL_BRANCHES))
    for n in (MAX_PARALLEL_BRANCHES + 1, 1000, 5000):
        problems = refused(engine, parallel(n))
        [split] = [p for p in problems if "MAX_PARALLEL_BRANCHES" in p.message]
        assert split.element_id == "split" and f"{n} branches can be active at once" in split.message


def test_paths_that_multiply_count_as_parallel_branches(engine):
    validate_files(doubling(5))
    [problem] = refused(engine, doubling(12))
    assert "MAX_PARALLEL_BRANCHES" in problem.message and problem.element_id == "g5"


def test_too_many_elements_are_refused(engine):
    parts = ['<bpmn:startEvent id="start"/>'] + [f'<bpmn:task id="t{i}"/>' for i in range(MAX_ELEMENTS)]
    problems = refused(engine, process(*parts))
    assert any(f"has {MAX_ELEMENTS + 1} flow elements" in p.message and f"at most {MAX_ELEMENTS}" in p.message
               for p in problems)


def test_a_parallel_multi_instance_of_too_many_is_refused(engine):
    def multi(count: int) -> dict[str, bytes]:
        return process('<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>',
                       flow("f1", "start", "many"),
                       '<bpmn:task id="many"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
                       f'<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{count}</bpmn:loopCardinality>'
                       '</bpmn:multiInstanceLoopCharacteristics></bpmn:task>', flow("f2", "many", "end"),
                       '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>')

    validate_files(multi(MAX_PARALLEL_BRANCHES))
    [problem] = refused(engine, multi(10 ** 6))
    assert problem.element_id == "many" and "runs 1000000 instances in parallel" in problem.message
