"""A case walked through every kind of step the engine persists, reloaded from the database after each one."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.exceptions import FormInvalid, MessageNotCorrelated, NotAllowed, TaskNotReady


def only_ready(engine, bpmn_id: str) -> dict:
    ready = engine.ready_tasks()
    assert [t["bpmn_id"] for t in ready] == [bpmn_id]
    return ready[0]


@pytest.fixture
def inspection(deploy):
    return deploy("inspection.bpmn", "register.schema.json")


def test_full_walk_with_lanes_gateway_sla_timer_message_and_rework(engine, inspection, manual_clock):
    started_at = manual_clock.now()
    instance_id = engine.start("inspection", {"device_id": "FL-0001", "scenario": "fire_lane"}, "FL-0001/1")

    register = only_ready(engine, "register")
    assert register["team"] == "command_centre"               # from the lane
    assert register["due_at"] == started_at + timedelta(minutes=10)  # from the dueIn property
    assert engine.get(instance_id).case["stage"] == "register"

    engine.complete_task(register["id"], {"valid": True}, actor="dispatcher1")
    handle = only_ready(engine, "handle")
    assert handle["team"] == "field_team"
    view = engine.get(instance_id)
    assert view.case["stage"] == "handle"
    assert view.next_timer_at == started_at + timedelta(minutes=90)  # the non-interrupting reminder

    # Nothing is due before the reminder: the ticker finds nothing and a tick fires nothing.
    manual_clock.advance(minutes=89)
    assert engine.due_instances() == []
    manual_clock.advance(minutes=2)
    assert engine.due_instances() == [instance_id]
    assert engine.tick(instance_id) == ["handle_reminder"]
    view = engine.get(instance_id)
    assert view.data["reminders"] == 1
    assert view.next_timer_at is None
    assert only_ready(engine, "handle")["id"] == handle["id"]       # non-interrupting: the task is still there

    engine.complete_task(handle["id"], {"measures": "car towed"}, actor="officer7")
    assert engine.ready_tasks() == []
    assert engine.get(instance_id).case["stage"] == "verify"
    with pytest.raises(MessageNotCorrelated):
        engine.send_message("sensor_clear", {"device_id": "FL-9999"})
    assert engine.send_message("sensor_clear", {"device_id": "FL-0001"}, {"value": 0}) == [instance_id]

    verify = only_ready(engine, "verify")
    assert engine.get(instance_id).data["clear"]["value"] == 0
    with pytest.raises(NotAllowed):                              # four eyes: not the handler
        engine.complete_task(verify["id"], {"passed": True}, actor="officer7")
    assert engine.separation_refusal(verify["id"], "officer7") is not None      # known before the form
    assert engine.separation_refusal(verify["id"], "inspector2") is None
    with pytest.raises(NotAllowed):                              # and the handler cannot claim it
        engine.claim(verify["id"], "officer7")
    engine.complete_task(verify["id"], {"passed": False}, actor="inspector2")

    rework = only_ready(engine, "handle")                          # the loop back
    assert rework["id"] != handle["id"]
    view = engine.get(instance_id)
    assert view.case["rework_count"] == 1
    assert view.case["stage"] == "handle"
    engine.complete_task(rework["id"], {}, actor="officer7")
    engine.send_message("sensor_clear", {"device_id": "FL-0001"})
    engine.complete_task(only_ready(engine, "verify")["id"], {"passed": True}, actor="inspector2")

    view = engine.get(instance_id, with_elements=True)
    assert view.status == "completed"
    assert view.case["stage"] == "closed"
    assert set(view.case["stage_times"]) == {"discover", "register", "handle", "verify", "closed"}
    assert view.case["closed_at"] == manual_clock.now()
    assert view.completed_elements.count("verify") == 2
    kinds = [event["kind"] for event in engine.history(instance_id)]
    assert kinds[0] == "instance.started" and kinds[-1] == "instance.completed"
    assert kinds.count("task.completed") == 5 and kinds.count("message.received") == 2
    assert "timer.fired" in kinds
    completed = {t["bpmn_id"]: t["completed_by"] for t in view.tasks if t["bpmn_id"] in ("register", "verify")}
    assert completed == {"register": "dispatcher1", "verify": "inspector2"}


def test_not_registered_ends_with_its_reason(engine, inspection):
    instance_id = engine.start("inspection", {"device_id": "FL-0002"})
    engine.complete_task(only_ready(engine, "register")["id"], {"valid": False, "reason": "duplicate"})
    view = engine.get(instance_id)
    assert view.status == "completed"
    assert view.case["stage"] == "rejected"
    assert view.data["reason"] == "duplicate"


def test_task_data_failing_its_schema_is_refused_and_nothing_changes(engine, inspection):
    instance_id = engine.start("inspection", {"device_id": "FL-0003"})
    register = only_ready(engine, "register")
    before = engine.get(instance_id)
    with pytest.raises(FormInvalid) as refused:
        engine.complete_task(register["id"], {"valid": "yes", "reason": "x" * 600})
    assert set(refused.value.details) == {"valid", "reason"}
    with pytest.raises(FormInvalid) as missing:
        engine.complete_task(register["id"], {})
    assert missing.value.details == {"valid": "'valid' is a required property"}
    after = engine.get(instance_id)
    assert after.tasks == before.tasks and after.data == before.data
    assert [e["kind"] for e in engine.history(instance_id)].count("task.completed") == 0


def test_completing_a_task_twice_or_one_not_ready_is_refused(engine, inspection):
    instance_id = engine.start("inspection", {"device_id": "FL-0004"})
    register = only_ready(engine, "register")
    engine.complete_task(register["id"], {"valid": True})
    with pytest.raises(TaskNotReady):
        engine.complete_task(register["id"], {"valid": True})
    engine.cancel(instance_id, reason="test")
    handle = [t for t in engine.get(instance_id).tasks if t["bpmn_id"] == "handle"][0]
    assert handle["status"] == "cancelled"
    with pytest.raises(TaskNotReady):
        engine.complete_task(handle["id"], {})
    assert engine.get(instance_id).case["stage"] == "cancelled"


def test_running_instances_stay_on_their_version(engine, deploy, inspection):
    old = engine.start("inspection", {"device_id": "FL-0005"})
    same = deploy("inspection.bpmn", "register.schema.json")
    assert same.created is False and same.versions == {"inspection": 1}
    from tests.conftest import DIAGRAMS
    changed = (DIAGRAMS / "inspection.bpmn").read_bytes().replace(b"PT10M", b"PT5M")
    second = deploy("register.schema.json", inspection__bpmn=changed)
    assert second.created and second.versions == {"inspection": 2}
    new = engine.start("inspection", {"device_id": "FL-0006"})
    assert engine.get(old).version == 1 and engine.get(new).version == 2
    due = {t["instance_id"]: t["due_at"] - t["created_at"] for t in engine.ready_tasks()}
    assert due == {old: timedelta(minutes=10), new: timedelta(minutes=5)}
    engine.complete_task(only_ready_of(engine, old)["id"], {"valid": True})
    assert engine.get(old).version == 1


def only_ready_of(engine, instance_id):
    [task] = engine.ready_tasks(instance_id=instance_id)
    return task
