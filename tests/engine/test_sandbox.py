"""Diagram Python is untrusted: escapes are refused at deploy or at run time, runaways and huge values are
stopped, nothing of a failed start is stored, and the sandbox is back in place after every load.

sandbox.bpmn runs script task ``run``, then gateway ``check``, waits at user task ``approve`` and runs script
task ``after``; each test swaps its own Python in for one of them.
"""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine import Config, Engine
from engine.exceptions import DeploymentRejected, InstanceFailed, ScriptRefused
from engine.models import Deployment, ProcessInstance
from engine.sandbox import (SandboxEnvironment, capped_range, check_source, guarded_lshift, guarded_mul,
                            guarded_pow)
from tests.conftest import DIAGRAMS

TEMPLATE = (DIAGRAMS / "sandbox.bpmn").read_text()
#: What each element runs in the template, and the line its element starts on.
ORIGINAL = {"run": "result = 1", "check": "result == 1", "after": "after = result + 1"}
ELEMENT_LINE = {bpmn_id: TEMPLATE[:TEMPLATE.index(f'id="{bpmn_id}"')].count("\n") + 1 for bpmn_id in ORIGINAL}
#: Escapes that work against SpiffWorkflow's default script engine.
IMPORT_OS, OPEN_PASSWD, SUBCLASSES = "__import__('os')", "open('/etc/passwd')", "().__class__.__base__.__subclasses__()"


def sandbox_files(**python: str) -> dict[str, bytes]:
    """sandbox.bpmn with element id -> Python swapped in (e.g. ``run="x = 1"``)."""
    text = TEMPLATE
    for bpmn_id, source in python.items():
        assert text.count(f">{ORIGINAL[bpmn_id]}<") == 1
        text = text.replace(f">{ORIGINAL[bpmn_id]}<", f">{escape(source)}<")
    return {"sandbox.bpmn": text.encode()}


def count(engine, model) -> int:
    with engine.store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def start_fails(engine, **python: str) -> InstanceFailed:
    """Deploy (which must succeed), start, and return the InstanceFailed; no instance may be stored."""
    engine.deploy(sandbox_files(**python), deployed_by="test")
    with pytest.raises(InstanceFailed) as failed:
        engine.start("sandbox")
    assert count(engine, ProcessInstance) == 0
    return failed.value


# -- escapes ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bpmn_id", ["run", "check"], ids=["script", "condition"])
@pytest.mark.parametrize("source, names", [(IMPORT_OS, ["__import__"]),
                                           (SUBCLASSES, ["__class__", "__base__", "__subclasses__"])],
                         ids=["import", "subclasses"])
def test_underscore_names_are_refused_at_deploy(engine, bpmn_id, source, names):
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy(sandbox_files(**{bpmn_id: source}), deployed_by="test")
    problems = rejected.value.problems
    assert {(p.file, p.element_id, p.line) for p in problems} == {("sandbox.bpmn", bpmn_id, ELEMENT_LINE[bpmn_id])}
    assert sorted(name for name in names for p in problems if f'"{name}"' in p.message) == sorted(names)
    assert all('because it starts with "_"' in p.message for p in problems)
    assert count(engine, Deployment) == 0


@pytest.mark.parametrize("bpmn_id", ["run", "check"], ids=["script", "condition"])
def test_open_compiles_but_fails_at_run_time_and_nothing_is_stored(engine, bpmn_id):
    source = f"content = {OPEN_PASSWD}.read()" if bpmn_id == "run" else f"{OPEN_PASSWD}.read() != ''"
    assert check_source(source, "exec" if bpmn_id == "run" else "eval") == []
    failed = start_fails(engine, **{bpmn_id: source})
    assert failed.details["element_id"] == bpmn_id
    assert failed.details["error"] == "NameError" and failed.details["message"] == "name 'open' is not defined"
    assert failed.message.startswith(f"NameError in {bpmn_id}: name 'open' is not defined")
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    assert secret not in failed.message


@pytest.mark.parametrize("bpmn_id", ["run", "check"], ids=["script", "condition"])
def test_underscore_attributes_named_at_run_time_are_refused(engine, bpmn_id):
    source = "cls = getattr((), '__class__')" if bpmn_id == "run" else "getattr((), '__class__') is None"
    failed = start_fails(engine, **{bpmn_id: source})
    assert failed.details["element_id"] == bpmn_id and failed.details["error"] == "AttributeError"
    assert '"__class__" is an invalid attribute name' in failed.message


@pytest.mark.parametrize("source, module", [("import os", "os"), ("from os import path", "os"),
                                            ("import subprocess", "subprocess"), ("import json.decoder", "json.decoder")])
def test_imports_outside_the_allowed_modules_are_refused_at_deploy(engine, source, module):
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy(sandbox_files(run=source), deployed_by="test")
    [problem] = rejected.value.problems
    assert (problem.element_id, problem.line) == ("run", ELEMENT_LINE["run"])
    assert f"import of '{module}' is not allowed (allowed: datetime, decimal, json, math)" in problem.message
    assert count(engine, Deployment) == 0


@pytest.mark.parametrize("module", ["os", "json.decoder"])
def test_imports_are_refused_at_run_time_too(module):
    """Deployment is not the only gate: the sandbox's own import refuses whatever reaches it."""
    with pytest.raises(ScriptRefused, match=f"import of '{module}' is not allowed"):
        SandboxEnvironment(0.5).execute(f"import {module}", {})


# -- time and size ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bpmn_id, source", [
    ("run", "while True: pass"),
    ("run", "def spin():\n    for i in range(10 ** 7):\n        for j in range(10 ** 7):\n            pass\nspin()"),
    ("check", "any(i < 0 for i in range(10 ** 7) for j in range(10 ** 7))"),
], ids=["while", "for-in-function", "condition"])
def test_a_runaway_is_stopped_by_the_time_limit(engine, bpmn_id, source):
    started = time.monotonic()
    failed = start_fails(engine, **{bpmn_id: source})
    assert time.monotonic() - started < 5
    assert failed.details["element_id"] == bpmn_id and failed.details["error"] == "refused by the sandbox"
    assert failed.details["message"] == "script stopped: it ran longer than its 0.5 s time limit"


@pytest.mark.parametrize("bpmn_id, source, message", [
    ("run", "x = 10 ** 10 ** 8", "result of 10 ** 100000000 would be too large"),
    ("run", "x = 'a' * 10**10", "repeated sequence would be too long"),
    ("run", "x = [0]\nx *= 10 ** 9", "repeated sequence would be too long"),
    ("run", "x = 1 << 10 ** 9", "shifted value would be too large"),
    ("run", "x = list(range(10 ** 9))", "range of 1000000000 items is too long"),
    ("check", "len('a' * 10**10) > 0", "repeated sequence would be too long"),
], ids=["pow", "repeat", "inplace-repeat", "shift", "range", "condition"])
def test_huge_values_are_refused(engine, bpmn_id, source, message):
    started = time.monotonic()
    failed = start_fails(engine, **{bpmn_id: source})
    assert time.monotonic() - started < 2
    assert failed.details["element_id"] == bpmn_id
    assert (failed.details["error"], failed.details["message"]) == ("refused by the sandbox", message)


# -- ordinary scripts ---------------------------------------------------------------------------------------------

NORMAL = """\
import math
import datetime
total = 0
for i in range(5):
    total += i
squares = [n * n for n in range(4)]
counts = {"a": 1}
counts["b"] = counts["a"] + 1
first, second = squares[1:3]
root = math.sqrt(16)
due = (datetime.date(2024, 5, 1) + datetime.timedelta(days=30)).isoformat()
label = "-".join(str(n) for n in squares)
result = 1"""


def test_ordinary_scripts_run_and_leave_only_their_data(engine):
    engine.deploy(sandbox_files(run=NORMAL), deployed_by="test")
    instance_id = engine.start("sandbox", {"reports": 2})
    assert [t["bpmn_id"] for t in engine.ready_tasks()] == ["approve"]  # the condition held
    assert engine.get(instance_id).data == {
        "reports": 2, "total": 10, "i": 4, "squares": [0, 1, 4, 9], "counts": {"a": 1, "b": 2}, "first": 1,
        "second": 4, "root": 4.0, "due": "2024-05-31", "label": "0-1-4-9", "result": 1}


# -- the sandbox after a reload -----------------------------------------------------------------------------------

def test_the_sandbox_is_attached_again_after_every_load(engine, database_url):
    engine.deploy(sandbox_files(after=f"content = {OPEN_PASSWD}.read()"), deployed_by="test")
    instance_id = engine.start("sandbox")
    [approve] = engine.ready_tasks()
    assert approve["bpmn_id"] == "approve"
    with engine.store.session() as session:
        saved = session.get(ProcessInstance, instance_id).row_version

    # The same engine loads the state from the database for the step; a fresh one also re-parses the definition.
    fresh = Engine(Config(database_url=database_url, script_time_limit_s=0.5))
    try:
        for attempt in (engine, fresh):
            with pytest.raises(InstanceFailed) as failed:
                attempt.complete_task(approve["id"], {"approved": True}, actor="approver")
            assert failed.value.details["element_id"] == "after"
            assert failed.value.details["message"] == "name 'open' is not defined"
            assert attempt.ready_tasks() == [approve]  # still ready, unassigned: the step was not saved
            view = attempt.get(instance_id, with_elements=True)
            assert view.status == "running" and view.active_elements == ["approve"]
            assert "approved" not in view.data and "content" not in view.data
            with attempt.store.session() as session:
                assert session.get(ProcessInstance, instance_id).row_version == saved
            assert [e["kind"] for e in attempt.history(instance_id)].count("task.completed") == 0
    finally:
        fresh.store.dispose()


# -- the sandbox itself -------------------------------------------------------------------------------------------

def test_operator_guards_refuse_huge_results_and_pass_small_ones():
    assert guarded_pow(2, 10) == 1024 and guarded_pow(2, -1) == 0.5 and guarded_pow(3, 4, 5) == 1
    assert guarded_pow(10 ** 100, 10) == 10 ** 1000
    assert guarded_mul("ab", 3) == "ababab" and guarded_mul(3, [0]) == [0, 0, 0] and guarded_mul(6, 7) == 42
    assert guarded_lshift(1, 10) == 1024
    assert list(capped_range(3)) == [0, 1, 2]
    for call in (lambda: guarded_pow(10, 10 ** 8), lambda: guarded_mul("a", 10 ** 10),
                 lambda: guarded_mul(10 ** 10, [0]), lambda: guarded_mul(10 ** 60000, 10 ** 60000),
                 lambda: guarded_lshift(1, 10 ** 9), lambda: capped_range(10 ** 9)):
        with pytest.raises(ScriptRefused):
            call()


def test_environment_keeps_plain_data_and_refuses_at_run_time():
    env = SandboxEnvironment(time_limit_s=0.2)
    context = {"n": 3}
    env.execute("import math\nimport json\nroot = math.sqrt(n * 3)\nitems = [i for i in range(n)]\n"
                "text = json.dumps(items)\ndef double(x):\n    return 2 * x\ntwice = double(n)", context)
    assert context == {"n": 3, "root": 3.0, "items": [0, 1, 2], "text": "[0, 1, 2]", "twice": 6}
    assert env.evaluate("n > 2 and len(items) == 3", context) is True
    with pytest.raises(NameError):
        env.evaluate(OPEN_PASSWD, {})
    with pytest.raises(ScriptRefused, match="0.2 s time limit"):
        env.execute("while True:\n    pass", {})
    with pytest.raises(ScriptRefused, match="would be too long"):
        env.execute("x = 'a'\nx *= 10 ** 10", {})
    for source in (IMPORT_OS, SUBCLASSES, "_secret = 1", "x._y"):
        assert check_source(source, "exec"), source


# -- work inside one C call: the sandbox worker's CPU, memory and wall-clock limits ------------------------------

@pytest.mark.parametrize("bpmn_id, source, message", [
    ("run", "import math\nx = math.factorial(10 ** 7)", "script exceeded its time limit of 0.5 s"),
    ("run", "x = sum(map(lambda i: sum(range(10 ** 7)), range(10 ** 7)))",
     "script exceeded its time limit of 0.5 s"),
    ("check", "sum(map(sum, map(lambda i: range(10 ** 7), range(10 ** 7)))) > 0",
     "script exceeded its time limit of 0.5 s"),
    # sums of lists inside C calls: a 10**7-element list summed 100 times (seconds of work even on a quiet machine)
    ("check", "sum(map(sum, [[10 ** 5] * 10 ** 7] * 100)) > 0", "script exceeded its time limit of 0.5 s"),
    ("run", "x = '%10000000000s' % 1", "script exceeded its memory limit of 256 MB"),
    ("run", "x = 'x'.ljust(10 ** 10)", "script exceeded its memory limit of 256 MB"),
    ("run", "x = '%010000000000d' % 1", "script exceeded its memory limit of 256 MB"),
    ("check", "len(f'{1:10000000000}') > 0", "script exceeded its memory limit of 256 MB"),
    ("run", "x = [[0] * 10 ** 7] * 10 ** 7\ny = str(x)", "script exceeded its"),
    ("run", "x = 'ab' * (5 * 10 ** 6)\nz = [x] * 10 ** 6\nw = ''.join(z)",
     "script exceeded its memory limit of 256 MB"),
], ids=["factorial", "nested-map", "nested-map-condition", "sum-of-lists", "percent-width", "ljust",
        "format-width", "fstring-width", "list-of-lists-str", "join"])
def test_work_inside_one_c_call_is_bounded(engine, bpmn_id, source, message):
    failed = start_fails(engine, **{bpmn_id: source})
    assert failed.details["element_id"] == bpmn_id
    assert failed.details["error"] == "refused by the sandbox"
    assert failed.details["message"].startswith(message), failed.details["message"]


def test_the_sandbox_goes_on_after_its_worker_was_killed(engine):
    env = SandboxEnvironment(0.5)
    with pytest.raises(ScriptRefused, match="time limit"):
        env.execute("import math\nx = math.factorial(10 ** 7)", {})
    with pytest.raises(ScriptRefused, match="memory limit"):
        env.execute("x = 'x'.ljust(10 ** 10)", {})
    context = {"n": 4}
    env.execute("import math\nitems = [math.sqrt(i) for i in range(n)]", context)
    assert context == {"n": 4, "items": [0.0, 1.0, math.sqrt(2), math.sqrt(3)]}


def test_only_plain_data_crosses_and_comes_back_as_it_was(engine):
    import datetime
    import decimal
    env = SandboxEnvironment(2)
    when = datetime.datetime(2024, 5, 1, 8, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    context = {"when": when, "pair": (1, "a"), "tags": {"x"}, "amount": decimal.Decimal("1.50"), "by_id": {3: "c"},
               "big": 10 ** 20000}
    env.execute("import datetime\nlater = when + datetime.timedelta(days=1)\nn = [i for i in range(2)]", context)
    assert context == {"when": when, "pair": (1, "a"), "tags": {"x"}, "amount": decimal.Decimal("1.50"),
                       "by_id": {3: "c"}, "big": 10 ** 20000, "later": when + datetime.timedelta(days=1),
                       "n": [0, 1]}
    with pytest.raises(ScriptRefused, match="m holds a map, which is not plain data"):
        env.execute("m = map(str, [1])\nn = [i for i in range(2)]", {})


def test_a_runaway_does_not_hold_up_other_steps(database_url, manual_clock):
    """While one start spins in C for its whole time limit, another start with an ordinary script goes through."""
    slow = Engine(Config(database_url=database_url, script_time_limit_s=20))
    try:
        # A loop in C over constant memory: it can end only at the time limit, never earlier at the memory limit
        # (a factorial of 10 ** 8 outgrows the memory limit first on a fast machine).
        slow.deploy(sandbox_files(run="x = sum(map(lambda i: sum(range(10 ** 7)), range(10 ** 7)))"),
                    deployed_by="test")
        failures = []

        def runaway():
            try:
                slow.start("sandbox")
            except InstanceFailed as failed:
                failures.append(failed)

        thread = threading.Thread(target=runaway)
        thread.start()
        try:
            for _ in range(3):
                slow.deploy(sandbox_files(run=NORMAL.replace("total = 0", f"total = {_}")), deployed_by="test")
                instance_id = slow.start("sandbox", {"reports": 2})
                assert slow.get(instance_id).data["root"] == 4.0
            assert thread.is_alive()  # the runaway is still spinning: the other starts did not wait for it
        finally:
            thread.join(timeout=60)
        assert "script exceeded its time limit of 20 s" in failures[0].message
    finally:
        slow.store.dispose()
