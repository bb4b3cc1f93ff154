"""The closed loop's variants run through every scenario's playbook: not registered, the handling deadline reminded
and escalated to the routed team's lead, rework after a failed verification, and verification by a sensor clear."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.bpmn.conftest import alert, report

TICK = "tick"

#: scenario -> (start data changes, routed limit and reminder, happy path of (task, team) or (TICK, time to wait))
PLAYBOOKS = {
    "street_trading": ({"alert_count": 2}, (timedelta(hours=2), timedelta(minutes=90)),
                       [("persuade", "urban_management")]),
    "group_renting": ({"inside_compound": True}, (timedelta(days=3), timedelta(days=2)),
                      [("plan_inspection", "housing_office"), ("inspect_housing", "housing_office"),
                       ("inspect_police", "police"), ("inspect_property", "property_company"),
                       ("assess", "housing_office"), ("issue_notice", "housing_office"),
                       (TICK, timedelta(days=7, seconds=1)), ("reinspect", "housing_office")]),
    "three_in_one": ({"severity": "high"}, (timedelta(minutes=15), timedelta(minutes=10)),
                     [("rush_to_scene", "fire_station"), ("remove_hazard", "fire_station"),
                      ("rectification_order", "safety_office"), (TICK, timedelta(days=3, seconds=1)),
                      ("reinspect", "safety_office")]),
    "fire_lane": ({"alert_count": 2, "inside_compound": True}, (timedelta(minutes=30), timedelta(minutes=20)),
                  [("move_vehicle", "property_company")]),
    "hydrant_pressure": ({"inside_compound": True}, (timedelta(days=1), timedelta(hours=20)),
                         [("check_hydrant", "water_company")]),
    "door_open": ({"alert_count": 3, "inside_compound": True}, (timedelta(hours=2), timedelta(minutes=90)),
                  [("check_door", "property_company")]),
    "cleaning_patrol": ({}, (timedelta(hours=1), timedelta(minutes=45)),
                        [("makeup_patrol", "sanitation"), ("record_performance", "sanitation.lead")]),
    "illegal_dumping": ({}, (timedelta(hours=4), timedelta(hours=3)),
                        [("survey", "sanitation"), ("order_removal", "urban_management")]),
    "manhole_cover": ({"alert_count": 5}, (timedelta(days=1), timedelta(hours=20)),
                      [("handle_on_site", "grid_patrol")]),
}
SCENARIOS = sorted(PLAYBOOKS)


def open_case(start, manual_clock, scenario):
    changes, _, _ = PLAYBOOKS[scenario]
    case = start(alert(scenario, manual_clock.now(), device_id=f"D-{scenario}", **changes))
    if ("register", "command_centre") in case.ready():       # alerts the table does not trust yet
        case.complete("register", "command_centre", actor="dispatcher-1")
    return case


def handle(case, manual_clock, scenario, actor="handler-1"):
    for task, team in PLAYBOOKS[scenario][2]:
        if task == TICK:
            manual_clock.advance(seconds=team.total_seconds())
            case.tick()
        else:
            case.complete(task, team, actor=actor)
    case.task("verify", "grid_patrol")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_report_found_to_be_a_false_alarm_is_not_registered(start, manual_clock, scenario):
    case = start(report(scenario, manual_clock.now(), channel="resident"))
    case.complete("register", "command_centre", decision="false_alarm", reason="现场核实无此情况")
    view = case.view()
    assert (view.status, view.case["stage"], view.case["outcome"]) == ("completed", "rejected", "false_alarm")
    assert view.case["scenario"] == scenario


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_handling_deadline_reminds_and_escalates_to_the_routed_teams_lead(start, manual_clock, scenario):
    case = open_case(start, manual_clock, scenario)
    (primary, team), (limit, remind) = PLAYBOOKS[scenario][2][0], PLAYBOOKS[scenario][1]
    dispatched = manual_clock.now()
    assert case.task(primary, team)["due_at"] == dispatched + limit
    manual_clock.set(dispatched + remind + timedelta(seconds=1))
    assert case.tick() == [f"{primary}_remind"]
    manual_clock.set(dispatched + limit + timedelta(seconds=1))
    assert case.tick() == [f"{primary}_overdue"]
    escalation = case.task(f"{primary}_escalate", f"{team}.lead")
    assert escalation["due_at"] == manual_clock.now() + timedelta(hours=1)
    case.complete(f"{primary}_escalate", f"{team}.lead", actor="lead-1")
    handle(case, manual_clock, scenario)
    case.verify_and_close()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_failed_verification_reruns_the_playbook_as_rework(start, manual_clock, scenario):
    case = open_case(start, manual_clock, scenario)
    handle(case, manual_clock, scenario)
    case.complete("verify", "grid_patrol", actor="inspector-9", passed=False, failure_reason="问题仍存在")
    assert case.case["rework_count"] == 1
    first, team = PLAYBOOKS[scenario][2][0]
    case.task(first, team)
    handle(case, manual_clock, scenario)
    case.verify_and_close()
    assert case.view().data["evaluation"]["rework_count"] == 1


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_sensor_reporting_clear_verifies_the_case(engine, start, manual_clock, scenario):
    case = open_case(start, manual_clock, scenario)
    handle(case, manual_clock, scenario)
    manual_clock.advance(minutes=20)
    assert engine.send_message("sensor_clear", {"device_id": f"D-{scenario}"}) == [case.id]
    view = case.view()
    assert (view.status, view.case["stage"]) == ("completed", "closed")
    assert view.data["evaluation"]["auto_verified"] is True
    assert case.stage_times()["closed"] == manual_clock.now()
