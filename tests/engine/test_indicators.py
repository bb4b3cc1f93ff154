"""The district's indicators (engine/indicators.py), counted in the database on SQLite and PostgreSQL: the
definitions on stored rows, agreement with a plain-Python statement of the same definitions on random rows, and a
real walked case."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

from engine import case_figures, indicators
from engine.models import Case, Deployment, HumanTask, ProcessDefinition, ProcessInstance

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)       # 09:00 in Shanghai
PERIOD = (T0 - timedelta(days=10), T0 + timedelta(days=10))


def case(instance_id, stage, opened=T0, closed_after_h=None, rework=0, verified=True, urgent=False,
         scenario="fire_lane", channel="sensor", sla=None, closed_at_only=False):
    times = {"discover": opened.isoformat(), "register": opened.isoformat()}
    if stage not in ("register", "rejected"):
        times["dispatch"] = opened.isoformat()
        times["handle"] = opened.isoformat()
    if verified and stage in ("verify", "closed", "evaluate", "handle"):
        times["verify"] = (opened + timedelta(hours=1)).isoformat()
    closed_at = opened + timedelta(hours=closed_after_h) if closed_after_h is not None else None
    if closed_at and not closed_at_only:
        times["closed"] = closed_at.isoformat()
    return {"instance_id": instance_id, "stage": stage, "stage_times": times, "opened_at": opened,
            "closed_at": closed_at, "sla_due_at": sla, "rework_count": rework, "urgent": urgent,
            "scenario": scenario, "channel": channel, "address": "x"}


def task(instance_id, completed_by, ended_at, due_at=None, team=None, status="completed"):
    return {"instance_id": instance_id, "completed_by": completed_by, "ended_at": ended_at, "due_at": due_at,
            "team": team, "status": status}


def late_cases(tasks) -> set[int]:
    return {t["instance_id"] for t in tasks if t["status"] == "completed" and t["due_at"] and t["ended_at"] > t["due_at"]}


def stored(engine, cases, tasks=()):
    """Write the rows as the engine's tables hold them (an instance per case, tasks completed), each case with the
    figures every step keeps on it (engine/case_figures.py)."""
    with engine.store.begin() as connection:
        connection.execute(Deployment.__table__.insert(), [{"id": 1, "content_hash": "x", "files": {},
                                                            "deployed_by": "test", "deployed_at": T0}])
        connection.execute(ProcessDefinition.__table__.insert(), [{"id": 1, "process_id": "closed_loop",
                                                                   "version": 1, "deployment_id": 1,
                                                                   "deployed_at": T0}])
        ids = sorted({c["instance_id"] for c in cases} | {t["instance_id"] for t in tasks})
        connection.execute(ProcessInstance.__table__.insert(), [
            {"id": i, "definition_id": 1, "status": "running", "state": "{}", "serializer_version": "1",
             "row_version": 1, "created_at": T0, "updated_at": T0} for i in ids])
        late = late_cases(tasks)
        if cases:
            connection.execute(Case.__table__.insert(), [
                dict(c, process_id="closed_loop", **case_figures.figures(c, c["instance_id"] in late)) for c in cases])
        if tasks:
            connection.execute(HumanTask.__table__.insert(), [
                dict(t, task_uuid=f"t-{n}", bpmn_id="handle", process_id="closed_loop", created_at=T0)
                for n, t in enumerate(tasks)])


def counted(engine, now=T0, period=PERIOD):
    return engine.indicators.district(*period, now)


def test_rates_follow_the_rulebook_definitions(engine):
    rows = [case(1, "closed", closed_after_h=2), case(2, "closed", closed_after_h=4, rework=1),
            case(3, "handle", verified=False, sla=T0 + timedelta(hours=1)), case(4, "rejected", verified=False),
            case(5, "register", verified=False, urgent=True)]
    stored(engine, rows, [task(2, "a", T0 + timedelta(hours=3), due_at=T0 + timedelta(hours=1))])   # 2 was late
    result = counted(engine, now=T0 + timedelta(hours=5))
    assert (result["cases"], result["due_to_close"], result["closed"], result["closed_on_time"]) == (5, 3, 2, 1)
    assert result["closure_rate"] == 66.67 and result["on_time_closure_rate"] == 33.33
    assert (result["verified"], result["reworked"], result["rework_rate"]) == (2, 1, 50.0)
    assert result["avg_handling_hours"] == 3.0
    assert result["by_stage"] == {"closed": 2, "handle": 1, "register": 1, "rejected": 1}
    assert [c["instance_id"] for c in result["overdue"]] == [3]
    assert result["urgent"]["cases"] == 1 and result["urgent"]["closure_rate"] is None


def test_a_case_closed_without_a_closed_stage_time_counts_from_its_closed_at_unless_rejected(engine):
    rows = [case(1, "evaluate", closed_after_h=6, closed_at_only=True),
            case(2, "rejected", closed_after_h=1, closed_at_only=True, verified=False)]
    stored(engine, rows)
    result = counted(engine)
    assert (result["cases"], result["due_to_close"], result["closed"]) == (2, 1, 1)
    assert result["avg_handling_hours"] == 6.0


def test_cases_per_officer_per_day_counts_distinct_cases_per_officer_and_local_day(engine):
    day1, day2 = T0, T0 + timedelta(days=1)
    tasks = [task(1, "a", day1), task(1, "a", day1),                       # two tasks of one case: one case
             task(2, "a", day1), task(3, "b", day1), task(4, "a", day2)]
    stored(engine, [], tasks)
    result = counted(engine)
    assert result["cases_per_officer_per_day"] == round(4 / 3, 2) and result["officers"] == 2


def test_volume_is_counted_per_local_day_by_channel_and_scenario(engine):
    late_evening_utc = datetime(2026, 1, 5, 17, 0, tzinfo=timezone.utc)     # 01:00 on the 6th in Shanghai
    stored(engine, [case(1, "handle", opened=T0), case(2, "handle", opened=late_evening_utc, channel="hotline",
                                                         scenario="door_open")])
    result = counted(engine)
    assert result["volume_by_channel"] == {"2026-01-05": {"sensor": 1}, "2026-01-06": {"hotline": 1}}
    assert result["volume_by_scenario"]["2026-01-06"] == {"door_open": 1}


def test_team_indicators_count_each_inbox_on_time_and_its_backlog(engine):
    hour = timedelta(hours=1)
    stored(engine, [], [task(1, "a", T0, due_at=T0 + hour, team="police"),            # on time
                        task(2, "a", T0 + 2 * hour, due_at=T0 + hour, team="police"),  # late
                        task(3, "b", T0, team="sanitation"),                           # no deadline: on time
                        task(4, None, None, due_at=T0 - hour, team="police", status="ready"),      # overdue
                        task(5, None, None, due_at=T0 + hour, team="police.lead", status="ready")])
    teams = engine.indicators.teams(*PERIOD, T0)
    assert teams == {
        "police": {"completed": 2, "completed_on_time": 1, "backlog": 1, "overdue": 1, "on_time_rate": 50.0},
        "police.lead": {"completed": 0, "completed_on_time": 0, "backlog": 1, "overdue": 0, "on_time_rate": None},
        "sanitation": {"completed": 1, "completed_on_time": 1, "backlog": 0, "overdue": 0, "on_time_rate": 100.0}}


def reference(cases, tasks, start, end, now) -> dict:
    """The same definitions as plain Python over every row (how the indicators were computed before they moved into
    SQL): the database's answer must equal it on any rows."""
    def closed_at(c):
        for stage in indicators.CLOSED_STAGES:
            if stage in c["stage_times"]:
                return datetime.fromisoformat(c["stage_times"][stage])
        return c["closed_at"] if c["closed_at"] and c["stage"] not in indicators.NEVER_CLOSED else None

    chosen = [c for c in cases if start <= c["opened_at"] < end]
    late = {t["instance_id"] for t in tasks if t["due_at"] and t["ended_at"] > t["due_at"]}

    def rates(group):
        due = [c for c in group if c["stage"] not in indicators.NOT_REGISTERED or closed_at(c)]
        closed = [(c, closed_at(c)) for c in due if closed_at(c)]
        verified = [c for c in group if "verify" in c["stage_times"]]
        hours = [(at - c["opened_at"]).total_seconds() / 3600 for c, at in closed]
        return {"cases": len(group), "due_to_close": len(due), "closed": len(closed),
                "closed_on_time": len([c for c, _ in closed if c["instance_id"] not in late]),
                "verified": len(verified), "reworked": len([c for c in verified if c["rework_count"] > 0]),
                "avg_handling_hours": round(sum(hours) / len(hours), 2) if hours else None}

    days = defaultdict(set)
    for t in tasks:
        if start <= t["ended_at"] < end:
            days[(t["completed_by"], t["ended_at"].astimezone(indicators.LOCAL).date())].add(t["instance_id"])
    volume, scenarios = defaultdict(Counter), defaultdict(Counter)
    for c in chosen:
        volume[c["opened_at"].astimezone(indicators.LOCAL).date().isoformat()][c["channel"]] += 1
        scenarios[c["opened_at"].astimezone(indicators.LOCAL).date().isoformat()][c["scenario"]] += 1
    return {**rates(chosen), "urgent": rates([c for c in chosen if c["urgent"]]),
            "by_stage": dict(sorted(Counter(c["stage"] for c in chosen).items())),
            "by_scenario": dict(sorted(Counter(c["scenario"] for c in chosen).items())),
            "volume_by_channel": {d: dict(v) for d, v in sorted(volume.items())},
            "volume_by_scenario": {d: dict(v) for d, v in sorted(scenarios.items())},
            "cases_per_officer_per_day": round(sum(map(len, days.values())) / len(days), 2) if days else None,
            "officers": len({officer for officer, _ in days}),
            "overdue": sorted(c["instance_id"] for c in chosen if c["sla_due_at"] and c["sla_due_at"] < now
                              and not closed_at(c) and c["stage"] not in indicators.NEVER_CLOSED)}


def random_rows(seed: int = 20261202) -> tuple[list[dict], list[dict]]:
    """300 cases opened around T0 at every stage, some closed, some only by their end, with up to three tasks."""
    chance = random.Random(seed)
    stages = ["register", "rejected", "dispatch", "handle", "verify", "evaluate", "closed", "cancelled"]
    cases, tasks = [], []
    for n in range(1, 301):
        opened = T0 + timedelta(minutes=chance.randrange(-20 * 24 * 60, 20 * 24 * 60))
        stage = chance.choice(stages)
        closes = stage in ("evaluate", "closed") or (stage in ("rejected", "cancelled") and chance.random() < 0.5)
        cases.append(case(n, stage, opened=opened, rework=chance.choice([0, 0, 1, 2]),
                          closed_after_h=chance.uniform(0.1, 90) if closes else None,
                          closed_at_only=closes and chance.random() < 0.3, verified=chance.random() < 0.6,
                          urgent=chance.random() < 0.2, channel=chance.choice(["sensor", "hotline", "patrol"]),
                          scenario=chance.choice(["fire_lane", "door_open", "illegal_dumping"]),
                          sla=opened + timedelta(hours=chance.uniform(1, 72)) if chance.random() < 0.7 else None))
        for _ in range(chance.randrange(4)):
            ended = opened + timedelta(hours=chance.uniform(0, 100))
            tasks.append(task(n, chance.choice(["a", "b", "c", "d"]), ended,
                              due_at=opened + timedelta(hours=chance.uniform(1, 100))))
    return cases, tasks


def agrees_with_the_reference(engine, cases, tasks) -> None:
    now = T0 + timedelta(days=3)
    result = counted(engine, now=now)
    expected = reference(cases, tasks, *PERIOD, now)
    for key in ("cases", "due_to_close", "closed", "closed_on_time", "verified", "reworked", "avg_handling_hours",
                "by_stage", "by_scenario", "volume_by_channel", "volume_by_scenario", "cases_per_officer_per_day",
                "officers"):
        assert result[key] == expected[key], key
    assert {k: result["urgent"][k] for k in expected["urgent"]} == expected["urgent"]
    assert sorted(c["instance_id"] for c in result["overdue"]) == expected["overdue"]
    assert 0 < result["closed"] < result["cases"] and result["overdue"]      # the random rows exercise every part


def test_the_database_agrees_with_the_plain_definitions_on_random_rows(engine):
    cases, tasks = random_rows()
    stored(engine, cases, tasks)
    agrees_with_the_reference(engine, cases, tasks)


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
    result = engine.indicators.district(start, end, manual_clock.now())
    assert (result["cases"], result["closed"], result["closed_on_time"]) == (1, 1, 0)
    assert result["avg_handling_hours"] == 0.75 and result["cases_per_officer_per_day"] == 1.0
    assert result["officers"] == 2
