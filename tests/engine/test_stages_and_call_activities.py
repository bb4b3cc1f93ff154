"""Stages entered by elements that pass within one step, and instances inside a call activity across reloads."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.models import ProcessInstance
from engine.serialization import load_state


def test_stages_of_instant_elements_are_recorded_in_order_with_the_moment_they_were_passed(
        engine, deploy, manual_clock):
    deploy("stages.bpmn")
    opened = manual_clock.now()
    instance_id = engine.start("stages", {})
    view = engine.get(instance_id)
    assert view.case["stage"] == "handle"
    assert view.case["stage_times"] == {s: opened.isoformat() for s in ("discover", "register", "dispatch", "handle")}
    assert list(view.case["stage_times"]) == ["discover", "register", "dispatch", "handle"]

    manual_clock.advance(minutes=5)
    [act] = engine.ready_tasks()
    engine.complete_task(act["id"], {"measures": "cleared"})
    manual_clock.advance(minutes=7)
    [verify] = engine.ready_tasks()
    engine.complete_task(verify["id"], {})
    view = engine.get(instance_id)
    assert (view.status, view.case["stage"]) == ("completed", "closed")
    times = view.case["stage_times"]
    assert times["verify"] == (opened + timedelta(minutes=5)).isoformat()
    assert times["closed"] == times["evaluate"] == (opened + timedelta(minutes=12)).isoformat()
    assert list(times)[-2:] == ["closed", "evaluate"]


def test_an_instance_inside_a_call_activity_reloads_with_the_sandbox_and_the_called_lane(engine, deploy):
    deploy("stages.bpmn")
    instance_id = engine.start("stages", {})
    [act] = engine.ready_tasks()
    assert (act["bpmn_id"], act["process_id"], act["team"]) == ("act", "stages_handle", "field_team")

    with engine.store.session() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id))
        definition = engine.definitions.load(session, row.definition_id)
    workflow = load_state(row.state, row.serializer_version, definition.spec, definition.subprocess_specs,
                          engine.script_engine)
    assert workflow.subprocesses and all(sub.script_engine is engine.script_engine
                                         for sub in workflow.subprocesses.values())

    engine.complete_task(act["id"], {"measures": "cleared"})      # loads the state with its call activity
    assert engine.get(instance_id).data["acted"] == "CLEARED"     # the called process's script ran after it
    assert [t["bpmn_id"] for t in engine.ready_tasks()] == ["verify"]
