"""Every rule of the routing and automatic-registration tables, each hit by the input it exists for.

The tables are evaluated as deployed: parsed by the engine's deployment validation and run in its sandbox, the way
the closed loop's businessRuleTasks run them (first matching rule wins).
"""
from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.sandbox import SandboxScriptEngine
from engine.deploy.validation import validate_files
from tests.bpmn.conftest import BPMN_DIR
from tests.conftest import read_files

SEED = json.loads((BPMN_DIR.parent / "seed" / "teams.json").read_text(encoding="utf-8"))
PARSED = validate_files(read_files(BPMN_DIR))
ROUTING = PARSED.specs["closed_loop"].task_specs["triage"].dmnEngine
DISPATCH = PARSED.specs["closed_loop"].task_specs["route_case"].dmnEngine
AUTO = PARSED.specs["closed_loop"].task_specs["auto_register"].dmnEngine
SCRIPT_ENGINE = SandboxScriptEngine(1.0)


def decide(table, **data):
    """(id of the first matching rule, its outputs) for task data ``data``."""
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
    matched = table.decide(task)
    assert matched, f"no rule matches {data}"
    return matched[0].id, table.result(task)


def place(scenario, severity="medium", inside_compound=False, hour=10):
    return dict(scenario=scenario, severity=severity, inside_compound=inside_compound, hour=hour)


def route(team, urgent, limit, remind):
    return {"route": {"team": team, "urgent": urgent, "handle_limit": limit, "handle_remind": remind}}


ROUTING_CASES = [
    ("three_in_one", place("three_in_one", "critical", hour=3), route("fire_station", True, "PT15M", "PT10M")),
    ("group_renting", place("group_renting", inside_compound=True), route("housing_office", False, "P3D", "P2D")),
    ("hydrant_high", place("hydrant_pressure", "high", True), route("water_company", True, "PT4H", "PT3H")),
    ("hydrant", place("hydrant_pressure", "low", True), route("water_company", False, "P1D", "PT20H")),
    ("fire_lane_compound", place("fire_lane", inside_compound=True),
     route("property_company", True, "PT30M", "PT20M")),
    ("fire_lane_street", place("fire_lane", "high"), route("traffic_police", True, "PT30M", "PT20M")),
    ("door_open_night", place("door_open", inside_compound=True, hour=23), route("police", True, "PT30M", "PT20M")),
    ("door_open", place("door_open", inside_compound=True, hour=6),
     route("property_company", False, "PT2H", "PT1H30M")),
    ("street_trading_compound", place("street_trading", "high", True),
     route("property_company", False, "PT2H", "PT1H30M")),
    ("street_trading_high", place("street_trading", "critical"), route("urban_management", True, "PT1H", "PT45M")),
    ("street_trading", place("street_trading", hour=21), route("urban_management", False, "PT2H", "PT1H30M")),
    ("cleaning_night", place("cleaning_patrol", hour=5), route("sanitation", False, "PT4H", "PT3H")),
    ("cleaning", place("cleaning_patrol", hour=21), route("sanitation", False, "PT1H", "PT45M")),
    ("dumping_compound", place("illegal_dumping", "high", True), route("property_company", False, "PT4H", "PT3H")),
    ("dumping_high", place("illegal_dumping", "high"), route("urban_management", True, "PT2H", "PT1H30M")),
    ("dumping", place("illegal_dumping"), route("sanitation", False, "PT4H", "PT3H")),
    ("other_high", place("other", "high"), route("grid_patrol", True, "PT2H", "PT1H30M")),
    ("other", place("other", "low", hour=23), route("grid_patrol", False, "P1D", "PT20H")),
]


def sensor(scenario, severity="medium", alert_count=1, channel="sensor"):
    return dict(channel=channel, scenario=scenario, severity=severity, alert_count=alert_count)


def auto(register, rule):
    return {"auto_register": register, "auto_register_rule": rule}


AUTO_CASES = [
    ("not_sensor", sensor("three_in_one", "critical", 5, channel="hotline"), auto(False, "not_sensor")),
    ("smoke_high", sensor("three_in_one", "high"), auto(True, "smoke_or_heat_alarm_high")),
    ("heat_repeated", sensor("three_in_one", "low", 2), auto(True, "heat_alarm_repeated")),
    ("pressure", sensor("hydrant_pressure", "low"), auto(True, "pressure_reading")),
    ("vehicle_stays", sensor("fire_lane", alert_count=2), auto(True, "vehicle_stays")),
    ("patrol_missed", sensor("cleaning_patrol"), auto(True, "patrol_point_missed")),
    ("door_repeated", sensor("door_open", alert_count=3), auto(True, "door_open_repeatedly")),
    ("fence_repeated", sensor("street_trading", alert_count=4), auto(True, "fence_alarm_repeated")),
    ("dispatcher_checks", sensor("fire_lane", alert_count=1), auto(False, "dispatcher_checks")),
]


@pytest.mark.parametrize("rule, data, expected", ROUTING_CASES, ids=[c[0] for c in ROUTING_CASES])
def test_routing_rule(rule, data, expected):
    assert decide(ROUTING, **data) == (f"routing_{rule}", expected)


@pytest.mark.parametrize("rule, data, expected", AUTO_CASES, ids=[c[0] for c in AUTO_CASES])
def test_auto_registration_rule(rule, data, expected):
    assert decide(AUTO, **data) == (f"auto_registration_{rule}", expected)


def test_every_rule_of_both_tables_is_tested():
    assert {f"routing_{c[0]}" for c in ROUTING_CASES} == {rule.id for rule in ROUTING.decision_table.rules}
    assert {f"auto_registration_{c[0]}" for c in AUTO_CASES} == {rule.id for rule in AUTO.decision_table.rules}


def test_triage_and_dispatch_run_the_same_routing_table():
    assert [r.id for r in DISPATCH.decision_table.rules] == [r.id for r in ROUTING.decision_table.rules]


def test_the_night_is_22_to_6_shanghai_time():
    assert decide(ROUTING, **place("door_open", hour=21))[1]["route"]["team"] == "property_company"
    assert decide(ROUTING, **place("door_open", hour=22))[1]["route"]["team"] == "police"
    assert decide(ROUTING, **place("door_open", hour=5))[1]["route"]["team"] == "police"


def seconds(duration: str) -> float:
    parts = TimerEventDefinition.parse_iso_duration(duration)
    return TimerEventDefinition.get_timedelta_from_start(parts, datetime(2026, 1, 5)).total_seconds()


@pytest.mark.parametrize("rule", ROUTING.decision_table.rules, ids=lambda r: r.id)
def test_each_route_reminds_before_its_limit_and_names_a_team_of_the_seed(rule):
    outputs = {entry.output.name: entry.text for entry in rule.outputEntries}
    limit, remind = json.loads(outputs["route.handle_limit"]), json.loads(outputs["route.handle_remind"])
    assert 0 < seconds(remind) < seconds(limit)
    assert json.loads(outputs["route.team"]) in {team["code"] for team in SEED["teams"]}


def test_every_scenario_of_the_seed_has_routes_and_a_playbook_the_closed_loop_calls():
    tested = {data["scenario"] for _, data, _ in ROUTING_CASES}
    handle = PARSED.subprocess_specs["closed_loop"]["handle"]
    called = {spec.spec for spec in handle.task_specs.values() if hasattr(spec, "spec") and
              isinstance(spec.spec, str)}
    for scenario in SEED["scenarios"]:
        assert scenario["code"] in tested
        assert scenario["playbook"] in called
        assert scenario["playbook"] in PARSED.specs
    assert SEED["fallback_playbook"] in called


def test_comments_inside_a_table_are_only_comments():
    """SpiffWorkflow's DMN parser read a comment inside a table as a rule and crashed, reported at the business
    rule task; the engine drops comments before it parses, so a commented table decides as before."""
    files = read_files(BPMN_DIR)
    text = files["routing.dmn"].decode("utf-8")
    at = text.index("<rule ")
    files["routing.dmn"] = (text[:at] + "<!-- 夜间规则由指挥中心复核 night rules reviewed -->\n" + text[at:]).encode()
    table = validate_files(files).specs["closed_loop"].task_specs["triage"].dmnEngine
    for name, data, expected in ROUTING_CASES:
        assert decide(table, **data)[1] == expected, name
