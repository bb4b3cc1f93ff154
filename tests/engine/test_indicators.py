"""The district's indicators (engine/indicators.py): definitions on plain rows, then on a real walked case."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine import indicators

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)       # 09:00 in Shanghai


def case(instance_id, stage, opened=T0, closed_after_h=None, rework=0, verified=True, urgent=False,
         scenario="fire_lane", channel="sensor", sla=None):
    times = {"discover": opened.isoformat(), "register": opened.isoformat()}
    if stage not in ("register", "rejected"):
        times["dispatch"] = opened.isoformat()
        times["handle"] = opened.isoformat()
    if verified and stage in ("verify", "closed", "evaluate", "handle"):
        times["verify"] = (opened + timedelta(hours=1)).isoformat()
    closed_at = opened + timedelta(hours=closed_after_h) if closed_after_h is not None else None
    if closed_at:
        times["closed"] = closed_at.isoformat()
    return {"instance_id": instance_id, "stage": stage, "stage_times": times, "opened_at": opened,
            "closed_at": closed_at, "sla_due_at": sla, "rework_count": rework, "urgent": urgent,
            "scenario": scenario, "channel": channel, "address": "x"}


def test_rates_follow_the_rulebook_definitions():
    rows = [case(1, "closed", closed_after_h=2), case(2, "closed", closed_after_h=4, rework=1),
            case(3, "handle", verified=False, sla=T0 + timedelta(hours=1)), case(4, "rejected", verified=False),
            case(5, "register", verified=False, urgent=True)]
    result = indicators.compute(rows, late_instances={2}, task_rows=[], now=T0 + timedelta(hours=5))
    assert (result["cases"], result["due_to_close"], result["closed"], result["closed_on_time"]) == (5, 3, 2, 1)
    assert result["closure_rate"] == 66.67 and result["on_time_closure_rate"] == 33.33
    assert (result["verified"], result["reworked"], result["rework_rate"]) == (2, 1, 50.0)
    assert result["avg_handling_hours"] == 3.0
    assert result["by_stage"] == {"closed": 2, "handle": 1, "register": 1, "rejected": 1}
    assert [c["instance_id"] for c in result["overdue"]] == [3]
    assert result["urgent"]["cases"] == 1 and result["urgent"]["closure_rate"] is None


def test_cases_per_officer_per_day_counts_distinct_cases_per_officer_and_local_day():
    day1, day2 = T0, T0 + timedelta(days=1)
    tasks = [{"instance_id": 1, "completed_by": "a", "ended_at": day1},
             {"instance_id": 1, "completed_by": "a", "ended_at": day1},   # two tasks of one case: one case
             {"instance_id": 2, "completed_by": "a", "ended_at": day1},
             {"instance_id": 3, "completed_by": "b", "ended_at": day1},
             {"instance_id": 4, "completed_by": "a", "ended_at": day2}]
    result = indicators.compute([], set(), tasks, T0)
    assert result["cases_per_officer_per_day"] == round(4 / 3, 2) and result["officers"] == 2


def test_volume_is_counted_per_local_day_by_channel_and_scenario():
    late_evening_utc = datetime(2026, 1, 5, 17, 0, tzinfo=timezone.utc)     # 01:00 on the 6th in Shanghai
    rows = [case(1, "handle", opened=T0), case(2, "handle", opened=late_evening_utc, channel="hotline",
                                              scenario="door_open")]
    result = indicators.compute(rows, set(), [], T0)
    assert result["volume_by_channel"] == {"2026-01-05": {"sensor": 1}, "2026-01-06": {"hotline": 1}}
    assert result["volume_by_scenario"]["2026-01-06"] == {"door_open": 1}


def test_indicators_read_from_the_database(engine, manual_clock):
    from tests.conftest import read_files
    from tests.webui.conftest import ROOT, fire_lane_alert

    engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")
    instance_id = engine.start("closed_loop", fire_lane_alert(alert_count=2))
    [move] = engine.ready_tasks(instance_id=instance_id)
    manual_clock.advance(minutes=45)                                      # 15 minutes late
    engine.complete_task(move["id"], {"plate_number": "沪A12345", "owner_contacted": True, "vehicle_moved": True,
                                      "photos_before": ["evidence/1/x.jpg"]}, actor="guard")
    [verify] = engine.ready_tasks(instance_id=instance_id)
    engine.complete_task(verify["id"], {"passed": True}, actor="inspector")
    start, end = manual_clock.now() - timedelta(days=1), manual_clock.now() + timedelta(days=1)
    result = engine.query(indicators.indicators, start, end, manual_clock.now())
    assert (result["cases"], result["closed"], result["closed_on_time"]) == (1, 1, 0)
    assert result["avg_handling_hours"] == 0.75 and result["cases_per_officer_per_day"] == 1.0
    assert result["officers"] == 2
