"""The district's indicators (../shared/DOMAIN.md), computed from the ``cases`` and ``human_task`` tables.

``indicators(connection, start, end, now)`` reads the rows of the period and hands them to ``compute``, a pure
function of plain rows, so the definitions are tested without a database:

- closure rate 結案率 = closed / (due to close - deferred); "due to close" are the cases of the period that were
  registered (they reached dispatch), nothing is deferred in this engine yet.
- on-time closure rate 按期結案率 = closed on time / due to close; on time = every completed task of the case
  was completed by its due time.
- rework rate 返工率 = cases sent back at verification at least once / cases verified.
- average handling time = mean of (closed - opened) over the closed cases, in hours.
- cases per officer per day = distinct cases an officer completed a task in, per (officer, day) worked.
- volume by channel and by scenario per day; cases by stage and by scenario. Urgent cases are reported separately.
The period selects cases by ``opened_at`` in [start, end) and tasks by ``ended_at`` in [start, end).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import exists, select

from .clock import DISTRICT_TZ
from .models import Case, HumanTask

_cases, _tasks = Case.__table__, HumanTask.__table__
CLOSED_STAGES = ("closed", "evaluate")
NOT_REGISTERED = ("discover", "register", "rejected", "cancelled")
#: Days are counted in the district's own time zone, not UTC.
LOCAL = DISTRICT_TZ


def _closed_at(case: dict) -> datetime | None:
    times = case.get("stage_times") or {}
    for stage in CLOSED_STAGES:
        if stage in times:
            return datetime.fromisoformat(times[stage])
    if case.get("closed_at") and case.get("stage") not in ("rejected", "cancelled"):
        return case["closed_at"]
    return None


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def compute(cases: list[dict], late_instances: set[int], task_rows: list[dict], now: datetime) -> dict:
    """Indicators from plain rows: ``cases`` (cases table rows), ``late_instances`` (instances with a task completed
    after its due time), ``task_rows`` (completed tasks: instance_id, completed_by, ended_at)."""
    by_stage, by_scenario = Counter(), Counter()
    volume_channel: dict[str, Counter] = defaultdict(Counter)
    volume_scenario: dict[str, Counter] = defaultdict(Counter)
    groups = {"all": [], "urgent": []}
    for case in cases:
        by_stage[case["stage"]] += 1
        by_scenario[case.get("scenario") or "-"] += 1
        day = case["opened_at"].astimezone(LOCAL).date().isoformat()
        volume_channel[day][case.get("channel") or "-"] += 1
        volume_scenario[day][case.get("scenario") or "-"] += 1
        groups["all"].append(case)
        if case.get("urgent"):
            groups["urgent"].append(case)

    def rates(group: list[dict]) -> dict:
        due = [c for c in group if c["stage"] not in NOT_REGISTERED or _closed_at(c)]
        closed = [(c, _closed_at(c)) for c in due if _closed_at(c)]
        on_time = [c for c, _ in closed if c["instance_id"] not in late_instances]
        verified = [c for c in group if "verify" in (c.get("stage_times") or {})]
        reworked = [c for c in verified if (c.get("rework_count") or 0) > 0]
        hours = [(at - c["opened_at"]).total_seconds() / 3600 for c, at in closed]
        return {"cases": len(group), "due_to_close": len(due), "closed": len(closed), "closed_on_time": len(on_time),
                "closure_rate": _rate(len(closed), len(due)), "on_time_closure_rate": _rate(len(on_time), len(due)),
                "verified": len(verified), "reworked": len(reworked),
                "rework_rate": _rate(len(reworked), len(verified)),
                "avg_handling_hours": round(sum(hours) / len(hours), 2) if hours else None}

    officer_days: dict[tuple, set] = defaultdict(set)
    for task in task_rows:
        if task.get("completed_by") and task.get("ended_at"):
            officer_days[(task["completed_by"], task["ended_at"].astimezone(LOCAL).date())].add(task["instance_id"])
    handled = sum(len(v) for v in officer_days.values())
    overdue = sorted((c for c in cases if c.get("sla_due_at") and c["sla_due_at"] < now and not _closed_at(c)
                      and c["stage"] not in ("rejected", "cancelled")), key=lambda c: c["sla_due_at"])
    return {
        **rates(groups["all"]),
        "urgent": rates(groups["urgent"]),
        "cases_per_officer_per_day": round(handled / len(officer_days), 2) if officer_days else None,
        "officers": len({officer for officer, _ in officer_days}),
        "by_stage": dict(sorted(by_stage.items())),
        "by_scenario": dict(sorted(by_scenario.items())),
        "volume_by_channel": {day: dict(c) for day, c in sorted(volume_channel.items())},
        "volume_by_scenario": {day: dict(c) for day, c in sorted(volume_scenario.items())},
        "overdue": [{"instance_id": c["instance_id"], "scenario": c.get("scenario"), "stage": c["stage"],
                     "address": c.get("address"), "sla_due_at": c["sla_due_at"]} for c in overdue],
    }


def indicators(connection, start: datetime, end: datetime, now: datetime) -> dict:
    """The indicators of cases opened in [start, end) and tasks completed in [start, end)."""
    in_period = (_cases.c.opened_at >= start) & (_cases.c.opened_at < end)
    columns = [_cases.c[n] for n in ("instance_id", "scenario", "channel", "stage", "stage_times", "opened_at",
                                      "closed_at", "sla_due_at", "rework_count", "urgent", "address")]
    cases = [dict(r) for r in connection.execute(select(*columns).where(in_period)).mappings()]
    late = set(connection.scalars(select(_cases.c.instance_id).where(in_period, exists().where(
        _tasks.c.instance_id == _cases.c.instance_id, _tasks.c.status == "completed", _tasks.c.due_at.is_not(None),
        _tasks.c.ended_at > _tasks.c.due_at))))
    tasks = [dict(r) for r in connection.execute(
        select(_tasks.c.instance_id, _tasks.c.completed_by, _tasks.c.ended_at).where(
            _tasks.c.status == "completed", _tasks.c.ended_at >= start, _tasks.c.ended_at < end)).mappings()]
    result = compute(cases, late, tasks, now)
    result["period"] = {"start": start.isoformat(), "end": end.isoformat()}
    return result


def team_indicators(connection, start: datetime, end: datetime, now: datetime) -> dict[str, dict]:
    """Per inbox (a team, or ``<team>.lead``): tasks completed in [start, end) and how many by their due time, and
    the backlog at ``now``: ready tasks, and those of them past due (the simulator's what-if compares these)."""
    teams: dict[str, dict] = defaultdict(lambda: {"completed": 0, "completed_on_time": 0, "backlog": 0,
                                                  "overdue": 0})
    done = connection.execute(select(_tasks.c.team, _tasks.c.due_at, _tasks.c.ended_at).where(
        _tasks.c.status == "completed", _tasks.c.ended_at >= start, _tasks.c.ended_at < end))
    for team, due, ended in done:
        row = teams[team or "-"]
        row["completed"] += 1
        row["completed_on_time"] += int(due is None or ended <= due)
    waiting = connection.execute(select(_tasks.c.team, _tasks.c.due_at).where(_tasks.c.status == "ready"))
    for team, due in waiting:
        row = teams[team or "-"]
        row["backlog"] += 1
        row["overdue"] += int(due is not None and due < now)
    for row in teams.values():
        row["on_time_rate"] = _rate(row["completed_on_time"], row["completed"])
    return dict(sorted(teams.items()))

