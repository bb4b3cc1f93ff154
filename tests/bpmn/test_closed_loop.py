"""The closed loop (bpmn/closed_loop.bpmn) walked through the engine: registration by rule or by the dispatcher,
not registered, dispatch by the routing table, four-eyes and sensor verification, rework, the SLA reminders and
escalations on the controlled clock, the call-back and the stage timestamps."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.exceptions import FormInvalid, InstanceFailed, MessageNotCorrelated, NotAllowed
from tests.bpmn.conftest import alert, local, report


def test_a_reliable_sensor_alert_registers_itself_and_the_sensor_clearing_verifies_it(engine, start, manual_clock):
    opened = manual_clock.now()
    case = start(alert("fire_lane", opened, inside_compound=True, alert_count=2, device_id="FL-0007"), "FL-0007/1")
    move = case.task("move_vehicle", "property_company")
    assert move["due_at"] == opened + timedelta(minutes=30)
    view = case.view()
    assert (view.case["stage"], view.case["urgent"], view.case["device_id"]) == ("handle", True, "FL-0007")
    assert (view.data["registered_by"], view.data["auto_register_rule"]) == ("sensor", "vehicle_stays")
    assert case.stage_times() == {stage: opened for stage in ("discover", "register", "dispatch", "handle")}

    manual_clock.advance(minutes=12)
    case.complete("move_vehicle", "property_company", actor="guard-3")
    case.task("verify", "grid_patrol")
    assert case.case["stage"] == "verify"
    manual_clock.advance(minutes=3)
    with pytest.raises(MessageNotCorrelated):
        engine.send_message("sensor_clear", {"device_id": "FL-0008"})
    assert engine.send_message("sensor_clear", {"device_id": "FL-0007"}, {"value": 0}) == [case.id]

    view = case.view()
    assert (view.status, view.case["stage"], view.case["outcome"]) == ("completed", "closed", "vehicle_moved")
    assert view.data["clear"]["value"] == 0
    assert view.data["evaluation"] == {"handling_result": "vehicle_moved", "rework_count": 0,
                                       "auto_registered": True, "auto_verified": True}
    times = case.stage_times()
    assert times["verify"] == opened + timedelta(minutes=12)
    assert times["closed"] == times["evaluate"] == opened + timedelta(minutes=15)
    assert [t["status"] for t in view.tasks if t["bpmn_id"] == "verify"] == ["cancelled"]
    assert engine.ready_tasks() == []


def test_the_dispatcher_registers_a_hotline_report_and_the_reporter_is_called_back(engine, start, manual_clock):
    opened = manual_clock.now()
    case = start(report("street_trading", opened))
    register = case.task("register", "command_centre")
    assert register["due_at"] == opened + timedelta(minutes=30)       # not urgent: 30 minutes
    assert case.case["stage"] == "register"

    manual_clock.advance(minutes=6)
    case.complete("register", "command_centre", actor="dispatcher-1")
    persuade = case.task("persuade", "urban_management")
    assert persuade["due_at"] == opened + timedelta(minutes=6, hours=2)
    manual_clock.advance(minutes=50)
    case.complete("persuade", "urban_management", actor="officer-7")
    verify = case.task("verify", "grid_patrol")
    with pytest.raises(NotAllowed):                                   # four eyes: not the handler
        engine.complete_task(verify["id"], {"passed": True}, actor="officer-7")
    manual_clock.advance(minutes=10)
    case.complete("verify", "grid_patrol", actor="inspector-2")
    assert case.case["stage"] == "evaluate"
    manual_clock.advance(hours=3)
    case.complete("callback", "command_centre", satisfaction="basically_satisfied")

    view = case.view()
    assert (view.status, view.case["stage"], view.case["outcome"]) == ("completed", "closed", "persuaded")
    assert view.data["satisfaction"] == "basically_satisfied"
    assert view.data["evaluation"]["auto_registered"] is False
    assert case.stage_times() == {
        "discover": opened, "register": opened, "dispatch": opened + timedelta(minutes=6),
        "handle": opened + timedelta(minutes=6), "verify": opened + timedelta(minutes=56),
        "closed": opened + timedelta(minutes=66), "evaluate": opened + timedelta(minutes=66)}
    done = {t["bpmn_id"]: t["completed_by"] for t in view.tasks}
    assert done == {"register": "dispatcher-1", "persuade": "officer-7", "verify": "inspector-2",
                    "callback": "command_centre-1"}


@pytest.mark.parametrize("decision, extra", [("duplicate", {"duplicate_of": "FL-0007/1"}), ("false_alarm", {}),
                                             ("out_of_scope", {})])
def test_a_report_not_registered_ends_with_its_reason(start, manual_clock, decision, extra):
    case = start(alert("door_open", manual_clock.now(), inside_compound=True))   # one alert: not reliable yet
    register = case.task("register", "command_centre")
    with pytest.raises(FormInvalid) as refused:
        case.engine.complete_task(register["id"], {"decision": decision, **extra})
    assert "reason" in refused.value.details
    manual_clock.advance(minutes=4)
    case.complete("register", "command_centre", decision=decision, reason="住户已自行关门", **extra)
    view = case.view()
    assert (view.status, view.case["stage"], view.case["outcome"]) == ("completed", "rejected", decision)
    assert view.data["reason"] == "住户已自行关门"
    assert set(case.stage_times()) == {"discover", "register", "rejected"}
    assert case.stage_times()["rejected"] == manual_clock.now()


@pytest.mark.parametrize("severity, urgent, remind, limit", [("high", True, 8, 10), ("medium", False, 25, 30)])
def test_registration_is_reminded_before_its_limit_and_escalated_to_the_command_centre_lead_at_it(
        engine, start, manual_clock, severity, urgent, remind, limit):
    opened = manual_clock.now()
    case = start(report("illegal_dumping", opened, channel="video", severity=severity))
    assert case.case["urgent"] is urgent
    assert case.task("register", "command_centre")["due_at"] == opened + timedelta(minutes=limit)
    manual_clock.advance(minutes=remind - 1)
    assert engine.due_instances() == []
    manual_clock.advance(minutes=1, seconds=1)                          # timers fire once their moment has passed
    assert case.tick() == ["register_remind"]
    assert case.ready() == [("register", "command_centre")]           # non-interrupting: still the dispatcher's
    manual_clock.advance(minutes=limit - remind)
    assert case.tick() == ["register_overdue"]
    assert case.ready() == [("register", "command_centre"), ("register_escalate", "command_centre.lead")]
    escalation = case.task("register_escalate", "command_centre.lead")
    assert escalation["due_at"] == manual_clock.now() + timedelta(minutes=30)
    assert engine.due_instances() == []

    case.complete("register", "command_centre", actor="dispatcher-1")
    if urgent:
        case.complete("register_escalate", "command_centre.lead", actor="duty-chief")
    team = "urban_management" if urgent else "sanitation"
    case.complete("survey", team, responsible_party_found=False, responsible_party=None)
    case.complete("clean_up", "sanitation")
    case.verify_and_close()
    statuses = {t["bpmn_id"]: t["status"] for t in case.view().tasks}
    assert statuses["register_escalate"] == ("completed" if urgent else "cancelled")   # the case closed under it
    history = [e for e in engine.history(case.id) if e["kind"] == "timer.fired"]
    assert [e["detail"]["bpmn_id"] for e in history] == ["register_remind", "register_overdue"]


def test_handling_is_escalated_to_the_routed_teams_lead(engine, start, manual_clock):
    opened = manual_clock.now()
    case = start(alert("fire_lane", opened, alert_count=3))                     # on the street
    case.task("move_vehicle", "traffic_police")
    manual_clock.advance(minutes=20, seconds=1)
    assert case.tick() == ["move_vehicle_remind"]
    manual_clock.advance(minutes=10)
    assert case.tick() == ["move_vehicle_overdue"]
    assert case.ready() == [("move_vehicle", "traffic_police"), ("move_vehicle_escalate", "traffic_police.lead")]
    case.complete("move_vehicle_escalate", "traffic_police.lead", action="reinforced", notes="加派警力")
    case.complete("move_vehicle", "traffic_police", vehicle_moved=False)
    case.complete("tow_vehicle", "traffic_police")
    assert case.case["stage"] == "verify"


def test_failed_verification_sends_the_case_back_to_handling_as_rework(engine, start, manual_clock):
    opened = manual_clock.now()
    case = start(report("manhole_cover", opened, channel="patrol", severity="high"))
    case.complete("register", "command_centre")
    manual_clock.advance(minutes=10)
    first = case.complete("handle_on_site", "grid_patrol", actor="patrol-2")
    manual_clock.advance(minutes=30)
    with pytest.raises(FormInvalid):                                   # a failure needs its reason
        engine.complete_task(case.task("verify")["id"], {"passed": False}, actor="inspector-9")
    case.complete("verify", "grid_patrol", actor="inspector-9", passed=False, failure_reason="井盖未固定")

    again = case.task("handle_on_site", "grid_patrol")
    assert again["id"] != first["id"]
    assert again["due_at"] == manual_clock.now() + timedelta(hours=2)  # the routed limit starts over
    view = case.view()
    assert (view.case["stage"], view.case["rework_count"]) == ("handle", 1)
    case.complete("handle_on_site", "grid_patrol", actor="patrol-2")
    case.verify_and_close()
    view = engine.get(case.id, with_elements=True)
    assert view.case["rework_count"] == 1 and view.data["evaluation"]["rework_count"] == 1
    assert view.completed_elements.count("verify") == 2 and view.completed_elements.count("rework") == 1
    assert case.stage_times()["verify"] == opened + timedelta(minutes=10)  # each stage keeps its first entry


def test_verification_is_escalated_to_the_patrol_lead_and_a_late_sensor_clear_still_verifies(
        engine, start, manual_clock):
    case = start(alert("fire_lane", manual_clock.now(), inside_compound=True, alert_count=2))
    case.complete("move_vehicle", "property_company")
    assert case.task("verify", "grid_patrol")["due_at"] == manual_clock.now() + timedelta(hours=1)
    manual_clock.advance(minutes=45, seconds=1)
    assert case.tick() == ["verify_remind"]
    manual_clock.advance(minutes=15)
    assert case.tick() == ["verify_overdue"]
    assert case.ready() == [("verify", "grid_patrol"), ("verify_escalate", "grid_patrol.lead")]
    assert engine.send_message("sensor_clear", {"device_id": "FIR-0001"}) == [case.id]
    view = case.view()
    assert view.status == "completed" and view.data["verified_by"] == "sensor"
    assert {t["bpmn_id"]: t["status"] for t in view.tasks}["verify_escalate"] == "cancelled"


def test_a_sensor_clear_before_verification_finds_no_case_waiting(engine, start, manual_clock):
    case = start(alert("fire_lane", manual_clock.now(), inside_compound=True, alert_count=2))
    with pytest.raises(MessageNotCorrelated):
        engine.send_message("sensor_clear", {"device_id": "FIR-0001"})
    assert case.case["stage"] == "handle"


def test_the_dispatchers_correction_of_scenario_and_severity_routes_the_case(start, manual_clock):
    manual_clock.set(local(23, 30))                                    # night in Shanghai
    case = start(report("other", manual_clock.now(), channel="resident", severity="low"))
    assert case.case["urgent"] is False
    assert case.task("register", "command_centre")["due_at"] == manual_clock.now() + timedelta(minutes=30)
    case.complete("register", "command_centre", scenario="door_open", severity="medium")
    case.task("check_door", "police")                                   # door left open at night: the police
    view = case.view()
    assert (view.case["scenario"], view.case["urgent"], view.data["dispatched_to"]) == ("door_open", True, "police")


def test_a_start_without_its_required_data_is_refused_and_stores_nothing(engine, deployed):
    with pytest.raises(InstanceFailed) as refused:
        engine.start("closed_loop", {"scenario": "fire_lane", "channel": "sensor", "severity": "low"})
    assert "reported_at" in refused.value.message
    assert engine.ready_tasks() == [] and engine.due_instances() == []
