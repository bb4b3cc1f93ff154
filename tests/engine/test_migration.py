"""Moving running instances to a new version of their process: safe changes move them and take effect when reached;
changes to what an instance has reached are refused with the reason, and the instance stays exactly as it was."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import Engine
from engine.exceptions import NotAllowed, NotFound
from engine.models import ProcessInstance
from tests.conftest import DIAGRAMS

INSPECTION = ("inspection.bpmn", "register.schema.json")


def edited(name: str, *replacements: tuple[str, str]) -> bytes:
    """A diagram of tests/engine/diagrams with each (old, new) text replaced; each old text must occur once."""
    text = (DIAGRAMS / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} is not unique in {name}"
        text = text.replace(old, new)
    return text.encode("utf-8")


def deploy_inspection_v2(deploy, *replacements: tuple[str, str]) -> None:
    assert deploy("register.schema.json", inspection__bpmn=edited("inspection.bpmn", *replacements)) \
        .versions == {"inspection": 2}


HANDLE_DUE = ('<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>',
              '<spiffworkflow:property name="dueIn" value="&quot;PT3H&quot;"/>')
REMINDER = ('<bpmn:timeDuration>"PT1H30M"</bpmn:timeDuration>', '<bpmn:timeDuration>"PT45M"</bpmn:timeDuration>')
REGISTER_DUE = ('<spiffworkflow:property name="dueIn" value="&quot;PT10M&quot;"/>',
                '<spiffworkflow:property name="dueIn" value="&quot;PT20M&quot;"/>')
VERIFY_LABEL = ('name="Verify the result"', 'name="Check the result on site"')


def ready(engine, instance_id: int, bpmn_id: str) -> dict:
    tasks = engine.ready_tasks(instance_id=instance_id)
    assert [t["bpmn_id"] for t in tasks] == [bpmn_id]
    return tasks[0]


def stored(engine, instance_id: int) -> tuple:
    with engine.store.read() as connection:
        row = connection.execute(select(ProcessInstance.definition_id, ProcessInstance.row_version,
                                        ProcessInstance.state, ProcessInstance.next_timer_at)
                                 .where(ProcessInstance.id == instance_id)).one()
    return tuple(row)


def finish(engine, instance_id: int) -> None:
    """Walk an inspection from ``handle`` to its end."""
    engine.complete_task(ready(engine, instance_id, "handle")["id"], {}, actor="officer7")
    engine.send_message("sensor_clear", {"device_id": engine.get(instance_id).data["device_id"]})
    engine.complete_task(ready(engine, instance_id, "verify")["id"], {"passed": True}, actor="inspector2")
    assert engine.get(instance_id).status == "completed"


def test_a_changed_later_deadline_and_timer_move_with_the_instance_and_apply_when_reached(
        engine, deploy, manual_clock):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0001"})
    register = ready(engine, instance_id, "register")
    deploy_inspection_v2(deploy, HANDLE_DUE, REMINDER)

    outcome = engine.migrate(instance_id, actor="designer1")
    assert (outcome.migrated, outcome.from_version, outcome.to_version, outcome.reason) == (True, 1, 2, None)
    assert engine.get(instance_id).version == 2
    assert ready(engine, instance_id, "register") == register          # the same inbox row, due time unchanged
    [event] = [e for e in engine.history(instance_id) if e["kind"] == "instance.migrated"]
    assert (event["actor"], event["detail"]) == ("designer1", {"process_id": "inspection", "from_version": 1,
                                                               "to_version": 2})

    manual_clock.advance(minutes=5)
    engine.complete_task(register["id"], {"valid": True}, actor="dispatcher1")
    handle = ready(engine, instance_id, "handle")
    assert handle["due_at"] == manual_clock.now() + timedelta(hours=3)                # v2's deadline
    assert engine.get(instance_id).next_timer_at == manual_clock.now() + timedelta(minutes=45)  # v2's reminder
    finish(engine, instance_id)
    assert engine.get(instance_id).version == 2


def test_another_process_that_cached_the_old_workflow_loads_the_moved_one(engine, deploy, manual_clock):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0002"})   # this engine keeps v1's workflow hot
    deploy_inspection_v2(deploy, HANDLE_DUE)
    other = Engine(engine.config)                                          # e.g. a worker next to the web app
    try:
        assert other.migrate(instance_id).migrated
    finally:
        other.store.dispose()
    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})
    assert ready(engine, instance_id, "handle")["due_at"] == manual_clock.now() + timedelta(hours=3)


def test_a_change_to_the_task_the_instance_waits_at_is_refused_and_nothing_is_written(
        engine, deploy, manual_clock):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0003"})
    before = stored(engine, instance_id)
    deploy_inspection_v2(deploy, REGISTER_DUE, HANDLE_DUE)

    outcome = engine.migrate(instance_id)
    assert not outcome.migrated and (outcome.from_version, outcome.to_version) == (1, 2)
    [blocker] = outcome.blockers
    assert (blocker.element_id, blocker.state, blocker.process_id) == ("register", "READY", "inspection")
    assert blocker.change == "changed: extensions"
    assert "register 'Register the report' (READY, in inspection) changed: extensions" in outcome.reason
    assert stored(engine, instance_id) == before
    assert "instance.migrated" not in [e["kind"] for e in engine.history(instance_id)]

    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})
    assert ready(engine, instance_id, "handle")["due_at"] == manual_clock.now() + timedelta(hours=2)  # still v1
    finish(engine, instance_id)
    assert engine.get(instance_id).version == 1


def test_a_change_to_a_task_the_instance_passed_is_refused(engine, deploy):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0004"})
    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})
    deploy_inspection_v2(deploy, ("reminders = 0</bpmn:script>", "reminders = 5</bpmn:script>"))

    outcome = engine.migrate(instance_id)
    assert not outcome.migrated
    assert [(b.element_id, b.state, b.change) for b in outcome.blockers] == [("init", "COMPLETED",
                                                                              "changed: script")]
    finish(engine, instance_id)
    assert engine.get(instance_id).data["reminders"] == 0


def test_removing_the_event_an_instance_waits_for_is_refused_and_it_still_receives_it(engine, deploy):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0005"})
    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})
    engine.complete_task(ready(engine, instance_id, "handle")["id"], {})
    text = edited("inspection.bpmn", ('<bpmn:sequenceFlow id="f_handled" sourceRef="handle" targetRef="wait_clear"/>',
                                      '<bpmn:sequenceFlow id="f_handled" sourceRef="handle" targetRef="verify"/>'),
                  ('<bpmn:sequenceFlow id="f_cleared" sourceRef="wait_clear" targetRef="verify"/>', ""))
    start, end = text.index(b'<bpmn:intermediateCatchEvent id="wait_clear"'), \
        text.index(b"</bpmn:intermediateCatchEvent>") + len(b"</bpmn:intermediateCatchEvent>")
    assert deploy("register.schema.json", inspection__bpmn=text[:start] + text[end:]).versions == {"inspection": 2}

    outcome = engine.migrate(instance_id)
    assert not outcome.migrated
    assert ("wait_clear", "WAITING", "removed") in [(b.element_id, b.state, b.change) for b in outcome.blockers]
    assert engine.send_message("sensor_clear", {"device_id": "FL-0005"}) == [instance_id]
    engine.complete_task(ready(engine, instance_id, "verify")["id"], {"passed": True}, actor="inspector2")
    assert (engine.get(instance_id).status, engine.get(instance_id).version) == ("completed", 1)


def test_a_new_task_right_after_the_waiting_one_is_safe_and_is_done_next(engine, deploy):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0006"})
    deploy_inspection_v2(deploy, (
        '<bpmn:sequenceFlow id="f_register" sourceRef="register" targetRef="gw_valid"/>',
        '<bpmn:sequenceFlow id="f_register" sourceRef="register" targetRef="review"/>'
        '<bpmn:userTask id="review" name="Review the registration"/>'
        '<bpmn:sequenceFlow id="f_review" sourceRef="review" targetRef="gw_valid"/>'))

    assert engine.migrate(instance_id).migrated
    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})
    engine.complete_task(ready(engine, instance_id, "review")["id"], {})
    finish(engine, instance_id)


def test_a_running_timer_keeps_its_due_time_when_the_instance_moves(engine, deploy, manual_clock):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0007"})
    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})
    reminder_due = manual_clock.now() + timedelta(minutes=90)
    handle = ready(engine, instance_id, "handle")
    manual_clock.advance(minutes=30)
    deploy_inspection_v2(deploy, VERIFY_LABEL)
    before = engine.get(instance_id)

    assert engine.migrate(instance_id).migrated
    after = engine.get(instance_id)
    assert after.next_timer_at == reminder_due                        # not restarted by the move
    assert (after.case, after.data, after.tasks) == (before.case, before.data, before.tasks)
    assert ready(engine, instance_id, "handle") == handle
    manual_clock.advance(minutes=61)
    assert engine.due_instances() == [instance_id]
    assert engine.tick(instance_id) == ["handle_reminder"]
    finish(engine, instance_id)
    labels = [t["label"] for t in engine.get(instance_id).tasks if t["bpmn_id"] == "verify"]
    assert labels == ["Check the result on site"]                     # the later task came from v2


def test_a_move_that_fails_half_way_writes_nothing_and_the_instance_goes_on_as_before(
        engine, deploy, manual_clock, monkeypatch):
    import engine.migration as migration

    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0015"})
    before = stored(engine, instance_id)
    deploy_inspection_v2(deploy, HANDLE_DUE)

    def broken(*args):
        raise ValueError("simulated")
    monkeypatch.setattr(migration, "load_state", broken)        # fails after the workflow was moved in memory
    outcome = engine.migrate(instance_id)
    assert not outcome.migrated and "does not load on v2: simulated" in outcome.reason
    assert stored(engine, instance_id) == before
    monkeypatch.undo()
    engine.complete_task(ready(engine, instance_id, "register")["id"], {"valid": True})   # not the moved workflow
    assert ready(engine, instance_id, "handle")["due_at"] == manual_clock.now() + timedelta(hours=2)
    assert engine.get(instance_id).version == 1


def test_a_claimed_task_keeps_its_holder(engine, deploy):
    deploy(*INSPECTION)
    instance_id = engine.start("inspection", {"device_id": "FL-0008"})
    register = ready(engine, instance_id, "register")
    engine.claim(register["id"], "dispatcher1")
    deploy_inspection_v2(deploy, HANDLE_DUE)

    assert engine.migrate(instance_id).migrated
    moved = ready(engine, instance_id, "register")
    assert (moved["id"], moved["assignee"]) == (register["id"], "dispatcher1")
    with pytest.raises(NotAllowed):
        engine.complete_task(register["id"], {"valid": True}, actor="dispatcher2")
    engine.complete_task(register["id"], {"valid": True}, actor="dispatcher1")
    finish(engine, instance_id)


def test_completed_and_cancelled_instances_are_refused(engine, deploy):
    deploy(*INSPECTION)
    done = engine.start("inspection", {"device_id": "FL-0009"})
    engine.complete_task(ready(engine, done, "register")["id"], {"valid": False})
    cancelled = engine.start("inspection", {"device_id": "FL-0010"})
    engine.cancel(cancelled, reason="duplicate")
    deploy_inspection_v2(deploy, HANDLE_DUE)

    for instance_id, status in ((done, "completed"), (cancelled, "cancelled")):
        outcome = engine.migrate(instance_id)
        assert not outcome.migrated and status in outcome.reason and outcome.from_version == 1
        assert engine.get(instance_id).version == 1
    with pytest.raises(NotFound):
        engine.migrate(999_999)
    with pytest.raises(NotFound):
        engine.migrate(done, to_version=7)


def test_a_version_is_migrated_instance_by_instance(engine, deploy):
    deploy(*INSPECTION)
    at_register = engine.start("inspection", {"device_id": "FL-0011"})
    at_handle = engine.start("inspection", {"device_id": "FL-0012"})
    engine.complete_task(ready(engine, at_handle, "register")["id"], {"valid": True})
    done = engine.start("inspection", {"device_id": "FL-0013"})
    engine.complete_task(ready(engine, done, "register")["id"], {"valid": False})
    deploy_inspection_v2(deploy, HANDLE_DUE)                             # handle: future for one, reached by the other
    newer = engine.start("inspection", {"device_id": "FL-0014"})

    outcomes = engine.migrate_version("inspection", 1, 2, actor="designer1")
    assert [(o.instance_id, o.migrated) for o in outcomes] == [(at_register, True), (at_handle, False)]
    assert [(b.element_id, b.state) for b in outcomes[1].blockers] == [("handle", "READY")]
    assert outcomes[1].to_dict()["blockers"][0]["change"] == "changed: extensions"
    [entry] = engine.designs.processes()
    assert {v["version"]: v["running"] for v in entry["versions"]} == {2: 2, 1: 1}   # v1 is still in use
    assert [engine.get(i).version for i in (at_register, at_handle, done, newer)] == [2, 1, 1, 2]
    assert [o.migrated for o in engine.migrate_version("inspection", 1, actor="designer1")] == [False]
    assert engine.migrate(at_register).reason == "the instance is on v2 already"


def test_inside_a_call_activity_a_later_change_moves_and_a_change_to_the_waiting_task_is_refused(engine, deploy):
    deploy("stages.bpmn")
    moved = engine.start("stages", {})
    stays = engine.start("stages", {})
    assert deploy(stages__bpmn=edited("stages.bpmn", ("acted = measures.upper()", "acted = measures.lower()"))) \
        .versions == {"stages": 2, "stages_handle": 2}
    assert deploy(stages__bpmn=edited("stages.bpmn", ("acted = measures.upper()", "acted = measures.lower()"),
                                      ('name="Act on site"', 'name="Act on site, with photos"'))) \
        .versions == {"stages": 3, "stages_handle": 3}

    assert engine.migrate(moved, to_version=2).migrated
    engine.complete_task(ready(engine, moved, "act")["id"], {"measures": "Cleared"})
    assert engine.get(moved).data["acted"] == "cleared"                     # v2's script in the called process

    outcome = engine.migrate(stays)                                          # to v3: the task it waits at changed
    assert not outcome.migrated
    assert [(b.process_id, b.element_id, b.state) for b in outcome.blockers] == [("stages_handle", "act", "READY")]
    engine.complete_task(ready(engine, stays, "act")["id"], {"measures": "Cleared"})
    assert (engine.get(stays).data["acted"], engine.get(stays).version) == ("CLEARED", 1)


def test_parallel_branches_move_with_one_branch_done_and_join_after_the_move(engine, deploy):
    deploy("parallel.bpmn")
    instance_id = engine.start("parallel", {})
    notes, photo = sorted(engine.ready_tasks(instance_id=instance_id), key=lambda t: t["bpmn_id"])
    engine.complete_task(notes["id"], {"notes": "blocked by a van"})         # the join now waits for photo
    assert deploy(parallel__bpmn=edited("parallel.bpmn", ('name="Review"', 'name="Review both"'))) \
        .versions == {"parallel": 2}

    assert engine.migrate(instance_id).migrated
    engine.complete_task(ready(engine, instance_id, "photo")["id"], {"photo": "x.jpg"})
    review = ready(engine, instance_id, "review")
    assert review["label"] == "Review both"
    engine.complete_task(review["id"], {})
    view = engine.get(instance_id)
    assert (view.status, view.data["notes"], view.data["photo"]) == ("completed", "blocked by a van", "x.jpg")


def test_the_decision_is_pure_and_refuses_when_an_entered_called_process_is_gone():
    """``assess`` needs no database: a workflow and the target's specs. Here the called process was renamed, so the
    one the instance is inside of has no counterpart in the target version."""
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.migration import assess
    from engine.sandbox import SandboxScriptEngine
    from engine.deploy.validation import validate_files

    old = validate_files({"stages.bpmn": (DIAGRAMS / "stages.bpmn").read_bytes()})
    new = validate_files({"stages.bpmn": edited("stages.bpmn", ('calledElement="stages_handle"',
                                                                'calledElement="stages_act"'),
                                                ('<bpmn:process id="stages_handle"', '<bpmn:process id="stages_act"'))})
    workflow = BpmnWorkflow(old.specs["stages"], old.subprocess_specs["stages"], script_engine=SandboxScriptEngine(1))
    workflow.do_engine_steps()
    assessment = assess(workflow, new.specs["stages"], new.subprocess_specs["stages"])
    assert not assessment.safe
    assert assessment.problems == ["subprocess stages_handle was entered by the instance and is not part of the "
                                   "target version"]
    assert [(b.element_id, b.state) for b in assessment.blockers] == [("handle", "STARTED")]
    assert assess(workflow, old.specs["stages"], old.subprocess_specs["stages"]).safe
