"""Fixtures for walking the district's diagrams (bpmn/) through the engine: a deployment, start data, a case helper.

Every walk reloads the instance from the database at each step: the engine here keeps no hot workflows
(``hot_instances=0``), so each verb deserializes what the last one saved, the save-and-restore check SpiffWorkflow's
own tests rely on. The rest of the suite keeps the cache on. Walks run on SQLite and on PostgreSQL, and move time only
with the manual clock.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine import Config, Engine

from tests.conftest import read_files

BPMN_DIR = Path(__file__).resolve().parent.parent.parent / "bpmn"
SHANGHAI = timezone(timedelta(hours=8))

@pytest.fixture
def engine(database_url, manual_clock):
    """The suite's engine with the hot-instance cache off: every step of a walk loads the workflow it saved."""
    instance = Engine(Config(database_url=database_url, script_time_limit_s=0.5, hot_instances=0))
    yield instance
    instance.store.dispose()


#: Valid data for each form, by task id: what an officer submits when things go as planned.
FORMS = {
    "register": {"decision": "registered", "notes": "核实属实"},
    "verify": {"passed": True, "photos": ["media/verify-1.jpg"], "notes": "现场已恢复"},
    "escalation": {"action": "urged", "notes": "已电话督促"},
    "callback": {"reached": True, "satisfaction": "satisfied"},
    "persuade": {"shop_name": "广中路 88号 水果店", "photos_before": ["media/st-before.jpg"],
                 "measures": ["verbal_persuasion", "goods_moved_inside"], "complied": True,
                 "repeat_within_30_days": False, "photos_after": ["media/st-after.jpg"]},
    "collect_evidence": {"party_name": "张某", "statement": "承认在店外摆放货物", "photos": ["media/ev-1.jpg"]},
    "penalty_decision": {"decision_no": "虹城管罚〔2026〕001号", "penalty": "fine", "fine_amount": 200,
                         "legal_basis": "《上海市市容环境卫生管理条例》第二十二条"},
    "enforce_penalty": {"measures": "罚款已缴纳，货物已收回店内", "executed": True, "photos_after": ["media/en-1.jpg"]},
    "plan_inspection": {"planned_at": "2026-01-06T10:00:00+08:00", "room": "8号楼 602室", "landlord_contacted": True},
    "inspect_housing": {"rooms": 6, "partitions_added": True, "area_m2": 78.5, "photos": ["media/gr-1.jpg"],
                        "findings": "客厅被隔成3间"},
    "inspect_police": {"occupants": 14, "registered_residents": 3, "police_findings": "11人未登记居住"},
    "inspect_property": {"access_cards": 15, "complaints": 4, "property_findings": "门禁卡异常多"},
    "assess": {"group_renting": True, "violations": ["partitioned_rooms", "over_occupancy"]},
    "issue_notice": {"notice_no": "房整〔2026〕017号", "rectification_days": 7, "requirements": "拆除隔断，居住人数降至规定以内",
                     "served_to": "房东 李某"},
    "reinspect": {"rectified": True, "recurred": False, "photos": ["media/re-1.jpg"]},
    "enforce": {"measures": "强制拆除隔断", "executed": True, "photos_after": ["media/en-2.jpg"]},
    "rush_to_scene": {"fire_found": False, "people_evacuated": 3, "hazards": ["living_quarters", "electric_heater"],
                      "photos_before": ["media/3in1-1.jpg"]},
    "remove_hazard": {"measures": ["power_cut", "heater_removed"], "hazard_removed": True,
                      "photos_after": ["media/3in1-2.jpg"]},
    "rectification_order": {"order_no": "安整〔2026〕005号", "rectification_days": 3, "requirements": "住人区与经营区分离"},
    "relocate": {"residents_relocated": 3, "new_address": "广中路 300弄 临时安置点", "measures": "协助搬离",
                 "photos_after": ["media/3in1-3.jpg"]},
    "move_vehicle": {"plate_number": "沪A12345", "owner_contacted": True, "vehicle_moved": True,
                     "photos_before": ["media/fl-1.jpg"], "photos_after": ["media/fl-2.jpg"]},
    "tow_vehicle": {"ticket_no": "3101090012", "towed": True, "photos_after": ["media/fl-3.jpg"]},
    "check_hydrant": {"pressure_mpa": 0.05, "cause": "valve_closed", "photos": ["media/hy-1.jpg"]},
    "repair_pump": {"measures": "更换加压泵轴承", "parts_replaced": ["bearing"], "repaired": True,
                    "pressure_after_mpa": 0.35, "photos_after": ["media/hy-2.jpg"]},
    "repair_mains": {"measures": "更换漏水管段", "repaired": True, "pressure_after_mpa": 0.3,
                     "photos_after": ["media/hy-3.jpg"]},
    "check_door": {"cause": "propped_open", "door_closed": True, "suspected_group_renting": False,
                   "photos": ["media/do-1.jpg"]},
    "repair_door": {"measures": "更换闭门器", "repaired": True, "photos_after": ["media/do-2.jpg"]},
    "security_check": {"findings": "门锁被撬，无人员受伤", "loss_reported": False},
    "makeup_patrol": {"cleaner_id": "HK-0731", "reason_missed": "sick_leave", "area_cleaned": True,
                      "photos_after": ["media/cp-1.jpg"]},
    "record_performance": {"deduction_points": 2, "corrective_action": "调整排班"},
    "survey": {"kind": "stacking", "waste_type": "construction", "volume_m3": 1.5, "responsible_party_found": True,
               "responsible_party": "广中路 120号 装修队", "photos_before": ["media/du-1.jpg"]},
    "order_removal": {"order_no": "虹城管责〔2026〕033号", "deadline_hours": 24, "fine_amount": 0},
    "clean_up": {"volume_m3": 1.5, "vehicles_used": 1, "photos_after": ["media/du-2.jpg"]},
    "handle_on_site": {"measures": "更换井盖", "photos_after": ["media/ge-1.jpg"], "resolved": True},
}


def form(task_id: str, **changes) -> dict:
    data = dict(FORMS["escalation" if task_id.endswith("_escalate") else task_id])
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def alert(scenario: str, at: datetime, **overrides) -> dict:
    """Start data as the sensor ingester sends it (every key of a sensor alert)."""
    data = {"device_id": f"{scenario[:3].upper()}-0001", "scenario": scenario, "channel": "sensor",
            "severity": "medium", "address": "水电路191弄 何家宅小区", "compound": "何家宅小区", "inside_compound": False,
            "lat": 31.2701, "lon": 121.4812, "alert_count": 1, "reported_at": at.isoformat()}
    data.update(overrides)
    return data


def report(scenario: str, at: datetime, channel: str = "hotline", **overrides) -> dict:
    """Start data of a hotline, resident or patrol report: no device, no alert count, no place flag."""
    data = {"scenario": scenario, "channel": channel, "severity": "medium", "address": "广中路 88号",
            "reported_at": at.isoformat()}
    data.update(overrides)
    return data


def local(hour: int, minute: int = 0) -> datetime:
    """A moment of the manual clock's day (2026-01-05) given in Shanghai time, as UTC (the engine's clock is UTC)."""
    return datetime(2026, 1, 5, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


class Case:
    """One case walked through the engine, with assertions on who holds which task."""

    def __init__(self, engine, instance_id: int, clock):
        self.engine, self.id, self.clock = engine, instance_id, clock

    def ready(self) -> list[tuple[str, str]]:
        return sorted((t["bpmn_id"], t["team"]) for t in self.engine.ready_tasks(instance_id=self.id))

    def task(self, bpmn_id: str, team: str | None = None) -> dict:
        tasks = [t for t in self.engine.ready_tasks(instance_id=self.id) if t["bpmn_id"] == bpmn_id]
        assert len(tasks) == 1, f"expected {bpmn_id} ready, have {self.ready()}"
        if team is not None:
            assert tasks[0]["team"] == team, f"{bpmn_id} is in {tasks[0]['team']}'s inbox, not {team}'s"
            assert tasks[0]["id"] in {t["id"] for t in self.engine.ready_tasks(teams=[team])}
        return tasks[0]

    def complete(self, bpmn_id: str, team: str | None = None, actor: str | None = None, **changes) -> dict:
        task = self.task(bpmn_id, team)
        self.engine.complete_task(task["id"], form(bpmn_id, **changes), actor=actor or f"{team or 'someone'}-1")
        return task

    def tick(self) -> list[str]:
        assert self.id in self.engine.due_instances()
        return self.engine.tick(self.id)

    def view(self):
        return self.engine.get(self.id)

    @property
    def case(self) -> dict:
        return self.view().case

    def stage_times(self) -> dict[str, datetime]:
        return {stage: datetime.fromisoformat(at) for stage, at in self.case["stage_times"].items()}

    def verify_and_close(self, verifier: str = "inspector-9") -> None:
        self.complete("verify", "grid_patrol", actor=verifier)
        if self.view().status == "running":
            self.complete("callback", "command_centre")
        assert self.view().status == "completed", self.ready()


@pytest.fixture
def bpmn_files() -> dict[str, bytes]:
    return read_files(BPMN_DIR)


@pytest.fixture
def deployed(engine, bpmn_files):
    return engine.deploy(bpmn_files, deployed_by="test")


@pytest.fixture
def start(engine, deployed, manual_clock):
    """start(data) -> Case: a closed-loop case opened now."""
    def _start(data: dict, business_key: str | None = None) -> Case:
        return Case(engine, engine.start("closed_loop", data, business_key), manual_clock)
    return _start
