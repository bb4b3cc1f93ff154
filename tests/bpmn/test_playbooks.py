"""Each scenario playbook walked end to end inside the closed loop, branch by branch: whose inbox holds each task,
the deadlines each task carries, what the case ends with and when it entered each stage."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.bpmn.conftest import alert, local, report

MINUTE = timedelta(minutes=1)


def stages(case) -> list[str]:
    return list(case.stage_times())


# -- street trading ----------------------------------------------------------------------------------------------
def test_street_trading_persuaded_with_photos_before_and_after(start, manual_clock):
    opened = manual_clock.now()
    case = start(alert("street_trading", opened, device_id="EF-0031", alert_count=2))   # fence alarm, repeated
    persuade = case.task("persuade", "urban_management")
    assert persuade["due_at"] == opened + timedelta(hours=2) and persuade["form_schema"] == "persuasion.schema.json"
    manual_clock.advance(minutes=45)
    case.complete("persuade", "urban_management", actor="officer-7")
    manual_clock.advance(minutes=15)
    case.verify_and_close()
    view = case.view()
    assert view.case["outcome"] == "persuaded"
    assert view.data["photos_before"] and view.data["photos_after"]
    assert stages(case) == ["discover", "register", "dispatch", "handle", "verify", "closed", "evaluate"]
    assert case.stage_times()["verify"] - case.stage_times()["handle"] == 45 * MINUTE


@pytest.mark.parametrize("changes", [{"repeat_within_30_days": True}, {"complied": False}],
                         ids=["repeat_within_30_days", "refused"])
def test_street_trading_repeat_or_refusal_goes_to_enforcement_with_a_penalty_decision(start, manual_clock, changes):
    case = start(alert("street_trading", manual_clock.now(), alert_count=3))
    case.complete("persuade", "urban_management", **changes)
    evidence = case.task("collect_evidence", "urban_management")
    assert evidence["due_at"] == manual_clock.now() + timedelta(days=1)
    case.complete("collect_evidence", "urban_management")
    decision = case.task("penalty_decision", "urban_management.lead")
    assert decision["due_at"] == manual_clock.now() + timedelta(days=3)
    case.complete("penalty_decision", "urban_management.lead", actor="squad-leader")
    case.complete("enforce_penalty", "urban_management")
    case.verify_and_close()
    view = case.view()
    assert view.case["outcome"] == "penalised"
    assert (view.data["penalty"], view.data["fine_amount"]) == ("fine", 200)


def test_street_trading_inside_a_compound_is_the_property_companys(start, manual_clock):
    case = start(report("street_trading", manual_clock.now(), channel="resident", inside_compound=True))
    case.complete("register", "command_centre")
    case.task("persuade", "property_company")
    assert case.case["urgent"] is False


# -- group renting -------------------------------------------------------------------------------------------------
def start_group_renting(start, manual_clock, channel="hotline"):
    case = start(report("group_renting", manual_clock.now(), channel=channel, inside_compound=True,
                        compound="何家宅小区"))
    case.complete("register", "command_centre")
    plan = case.task("plan_inspection", "housing_office")
    assert plan["due_at"] == manual_clock.now() + timedelta(days=3)
    case.complete("plan_inspection", "housing_office")
    assert case.ready() == [("inspect_housing", "housing_office"), ("inspect_police", "police"),
                            ("inspect_property", "property_company")]              # the joint inspection
    for task, team in case.ready():
        case.complete(task, team)
    case.task("assess", "housing_office")
    return case


def test_group_renting_rectified_after_the_notice_period(start, manual_clock):
    case = start_group_renting(start, manual_clock)
    case.complete("assess", "housing_office")
    case.complete("issue_notice", "housing_office", rectification_days=7)
    assert case.ready() == []                                           # waiting for the period to pass
    assert case.view().next_timer_at == manual_clock.now() + timedelta(days=7)
    manual_clock.advance(days=7, seconds=1)
    assert case.tick() == ["wait_rectification"]
    case.complete("reinspect", "housing_office")
    case.verify_and_close()
    view = case.view()
    assert view.case["outcome"] == "rectified"
    assert (view.data["occupants"], view.data["rooms"], view.data["access_cards"]) == (14, 6, 15)
    assert case.stage_times()["verify"] - case.stage_times()["handle"] == timedelta(days=7, seconds=1)


def test_group_renting_not_rectified_goes_to_enforcement(start, manual_clock):
    case = start_group_renting(start, manual_clock)
    case.complete("assess", "housing_office")
    case.complete("issue_notice", "housing_office", rectification_days=3)
    manual_clock.advance(days=3, seconds=1)
    case.tick()
    case.complete("reinspect", "housing_office", rectified=False)
    case.complete("enforce", "urban_management")
    case.verify_and_close()
    assert case.case["outcome"] == "enforced"


def test_group_renting_not_confirmed_ends_the_handling(start, manual_clock):
    case = start_group_renting(start, manual_clock, channel="resident")
    case.complete("assess", "housing_office", group_renting=False, violations=None)
    case.task("verify", "grid_patrol")
    case.verify_and_close()
    assert case.case["outcome"] == "not_group_renting"


# -- three-in-one premises -----------------------------------------------------------------------------------------
def test_three_in_one_alarm_brings_the_fire_station_within_15_minutes_and_escalates_at_them(start, manual_clock):
    manual_clock.set(local(2, 40))
    opened = manual_clock.now()
    case = start(alert("three_in_one", opened, severity="critical", device_id="SM-0415"))
    rush = case.task("rush_to_scene", "fire_station")
    assert rush["due_at"] == opened + timedelta(minutes=15)
    assert case.case["urgent"] is True and case.view().data["auto_register_rule"] == "smoke_or_heat_alarm_high"
    manual_clock.advance(minutes=10, seconds=1)
    assert case.tick() == ["rush_to_scene_remind"]
    manual_clock.advance(minutes=5)
    assert case.tick() == ["rush_to_scene_overdue"]
    case.task("rush_to_scene_escalate", "fire_station.lead")
    manual_clock.advance(minutes=2)
    case.complete("rush_to_scene", "fire_station")
    case.complete("remove_hazard", "fire_station")
    order = case.task("rectification_order", "safety_office")
    assert order["due_at"] == manual_clock.now() + timedelta(days=1)
    case.complete("rectification_order", "safety_office")
    manual_clock.advance(days=3, seconds=1)
    assert case.tick() == ["wait_rectification"]
    case.complete("reinspect", "safety_office")
    case.verify_and_close()
    view = case.view()
    assert view.case["outcome"] == "rectified"
    assert {t["bpmn_id"]: t["status"] for t in view.tasks}["rush_to_scene_escalate"] == "cancelled"


def test_three_in_one_recurring_leads_to_relocation(start, manual_clock):
    case = start(alert("three_in_one", manual_clock.now(), severity="low", alert_count=2))
    case.complete("rush_to_scene", "fire_station")
    case.complete("remove_hazard", "fire_station")
    case.complete("rectification_order", "safety_office", rectification_days=1)
    manual_clock.advance(days=1, seconds=1)
    case.tick()
    case.complete("reinspect", "safety_office", recurred=True)
    relocate = case.task("relocate", "urban_management")
    assert relocate["due_at"] == manual_clock.now() + timedelta(days=3)
    case.complete("relocate", "urban_management")
    case.verify_and_close()
    assert case.case["outcome"] == "relocated"


# -- fire lane ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("inside, team", [(True, "property_company"), (False, "traffic_police")])
def test_fire_lane_vehicle_moved_by_the_routed_team(start, manual_clock, inside, team):
    case = start(alert("fire_lane", manual_clock.now(), inside_compound=inside, alert_count=2))
    case.complete("move_vehicle", team)
    case.verify_and_close()
    assert case.case["outcome"] == "vehicle_moved"


def test_fire_lane_vehicle_that_stays_is_ticketed_and_towed_by_the_traffic_police(start, manual_clock):
    case = start(alert("fire_lane", manual_clock.now(), inside_compound=True, alert_count=2))
    case.complete("move_vehicle", "property_company", vehicle_moved=False)
    tow = case.task("tow_vehicle", "traffic_police")
    assert tow["due_at"] == manual_clock.now() + timedelta(hours=1)
    case.complete("tow_vehicle", "traffic_police")
    case.verify_and_close()
    assert case.case["outcome"] == "towed"


# -- hydrant pressure -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cause, repair, team, outcome", [
    ("valve_closed", None, None, "fixed_on_site"), ("sensor_fault", None, None, "fixed_on_site"),
    ("pump_fault", "repair_pump", "property_company", "repaired"),
    ("pipe_leak", "repair_mains", "water_company", "repaired"),
    ("mains_low_pressure", "repair_mains", "water_company", "repaired")])
def test_hydrant_low_pressure_by_cause(start, manual_clock, cause, repair, team, outcome):
    case = start(alert("hydrant_pressure", manual_clock.now(), device_id="HP-0912", inside_compound=True))
    check = case.task("check_hydrant", "water_company")
    assert check["due_at"] == manual_clock.now() + timedelta(days=1)
    case.complete("check_hydrant", "water_company", cause=cause)
    if repair:
        case.complete(repair, team)
    case.verify_and_close()
    assert case.case["outcome"] == outcome


def test_hydrant_pressure_far_below_threshold_is_urgent(start, manual_clock):
    case = start(alert("hydrant_pressure", manual_clock.now(), severity="high"))
    assert case.task("check_hydrant", "water_company")["due_at"] == manual_clock.now() + timedelta(hours=4)
    assert case.case["urgent"] is True


# -- door left open -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cause, follow_up, team, outcome", [
    ("propped_open", None, None, "door_closed"), ("other", None, None, "door_closed"),
    ("closer_broken", "repair_door", "property_company", "repaired"),
    ("lock_fault", "repair_door", "property_company", "repaired"),
    ("forced_entry", "security_check", "police", "security_checked")])
def test_door_left_open_by_cause(start, manual_clock, cause, follow_up, team, outcome):
    case = start(alert("door_open", manual_clock.now(), inside_compound=True, alert_count=3))
    case.complete("check_door", "property_company", cause=cause)
    if follow_up:
        case.complete(follow_up, team)
    case.verify_and_close()
    assert case.case["outcome"] == outcome


def test_door_left_open_at_night_goes_to_the_police(start, manual_clock):
    manual_clock.set(local(1, 15))
    case = start(alert("door_open", manual_clock.now(), inside_compound=True, alert_count=3))
    assert case.task("check_door", "police")["due_at"] == manual_clock.now() + timedelta(minutes=30)


# -- missed street-cleaning patrol point ---------------------------------------------------------------------------
def test_missed_patrol_point_is_made_up_and_recorded_by_the_sanitation_lead(start, manual_clock):
    case = start(alert("cleaning_patrol", manual_clock.now(), device_id="PA-0007"))
    assert case.task("makeup_patrol", "sanitation")["due_at"] == manual_clock.now() + timedelta(hours=1)
    case.complete("makeup_patrol", "sanitation", actor="cleaner-0731")
    case.complete("record_performance", "sanitation.lead", actor="sanitation-chief")
    case.verify_and_close()
    view = case.view()
    assert (view.case["outcome"], view.data["deduction_points"]) == ("patrol_made_up", 2)


# -- illegal dumping / stacking on the road ------------------------------------------------------------------------
def test_dumping_with_a_known_party_is_ordered_removed_by_urban_management(start, manual_clock):
    case = start(report("illegal_dumping", manual_clock.now(), channel="video"))
    case.complete("register", "command_centre")
    case.complete("survey", "sanitation")
    case.complete("order_removal", "urban_management")
    case.verify_and_close()
    assert case.case["outcome"] == "removal_ordered"


def test_dumping_inside_a_compound_without_a_party_is_cleaned_up(start, manual_clock):
    case = start(report("illegal_dumping", manual_clock.now(), channel="resident", inside_compound=True))
    case.complete("register", "command_centre")
    case.complete("survey", "property_company", responsible_party_found=False, responsible_party=None)
    assert case.task("clean_up", "sanitation")["due_at"] == manual_clock.now() + timedelta(hours=4)
    case.complete("clean_up", "sanitation")
    case.verify_and_close()
    assert case.case["outcome"] == "cleaned_up"
