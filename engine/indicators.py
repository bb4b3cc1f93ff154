"""The district's indicators (../shared/DOMAIN.md), computed in the database from the ``cases`` and ``human_task``
tables: three queries, whatever the number of cases (a month beside a million closed cases is counted by the server
from two indexes; no case row comes to Python). Each case carries the figures it contributes (engine/case_figures.py),
so a period is summed over plain columns: no JSON is read and no case's tasks are looked up.

- closure rate 結案率 = closed / (due to close - deferred); "due to close" are the cases of the period that were
  registered (they reached dispatch) or closed, nothing is deferred in this engine yet.
- on-time closure rate 按期結案率 = closed on time / due to close; on time = every completed task of the case
  was completed by its due time (the case's ``late`` figure).
- rework rate 返工率 = cases sent back at verification at least once / cases verified.
- average handling time = mean of (closed - opened) over the closed cases, in hours (``handling_s``). A case's
  closing time (``resolved_at``) is the time it reached ``closed`` (else ``evaluate``), else its end unless it was
  rejected or cancelled.
- cases per officer per day = distinct cases an officer completed a task in, per (officer, day) worked.
- volume by channel and by scenario per day; cases by stage and by scenario. Urgent cases are reported separately.
The period selects cases by ``opened_at`` in [start, end) and tasks by ``ended_at`` in [start, end). Days are the
district's (UTC+8), on both PostgreSQL and SQLite.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Date, and_, case, cast, func, literal_column, not_, or_, select, text

from .models import TASK_COMPLETED, TASK_READY
from .case_figures import CLOSED_STAGES, NEVER_CLOSED
from .clock import DISTRICT_TZ
from .models import Case, HumanTask

__all__ = ["CLOSED_STAGES", "NEVER_CLOSED", "NOT_REGISTERED", "LOCAL", "indicators", "team_indicators"]

_cases, _tasks = Case.__table__, HumanTask.__table__
NOT_REGISTERED = ("discover", "register", "rejected", "cancelled")
#: Days are counted in the district's own time zone, not UTC.
LOCAL = DISTRICT_TZ
_OFFSET_HOURS = int(DISTRICT_TZ.utcoffset(None).total_seconds() // 3600)
#: Memory for one sort or hash of the indicators' queries on PostgreSQL. A month's cases group into a few hundred
#: rows, but the planner, counting every (day, stage, channel, scenario) as possible, sorts them on disk under the
#: server's default 4 MB instead of hashing them in memory (about 40 ms more at 75,000 cases).
WORK_MEM = "32MB"


def _local_day(dialect: str, moment):
    """The district's calendar day of a moment (a date on PostgreSQL, its ISO text on SQLite)."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column(f"INTERVAL '{_OFFSET_HOURS} hours'"), moment), Date)
    return func.date(moment, f"+{_OFFSET_HOURS} hours")


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


_SUMS = ("cases", "due", "closed", "on_time", "verified", "reworked", "seconds")


def _rates(sums: dict) -> dict:
    closed, due, verified = sums["closed"], sums["due"], sums["verified"]
    return {"cases": sums["cases"], "due_to_close": due, "closed": closed, "closed_on_time": sums["on_time"],
            "closure_rate": _rate(closed, due), "on_time_closure_rate": _rate(sums["on_time"], due),
            "verified": verified, "reworked": sums["reworked"], "rework_rate": _rate(sums["reworked"], verified),
            "avg_handling_hours": round(sums["seconds"] / 3600 / closed, 2) if closed else None}


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def indicators(connection, start: datetime, end: datetime, now: datetime) -> dict:
    """The indicators of cases opened in [start, end) and tasks completed in [start, end)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":     # for this read's transaction only
        connection.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    in_period = and_(_cases.c.opened_at >= start, _cases.c.opened_at < end)
    is_closed = _cases.c.resolved_at.is_not(None)
    # One pass over the period's cases, grouped finely enough that every figure below is a sum of these groups.
    day = _local_day(dialect, _cases.c.opened_at)
    keys = (day, _cases.c.urgent, _cases.c.stage, _cases.c.channel, _cases.c.scenario)
    groups = connection.execute(select(
        *keys, func.count(),
        _count(or_(_cases.c.stage.not_in(NOT_REGISTERED), is_closed)),
        _count(is_closed),
        _count(and_(is_closed, not_(_cases.c.late))),
        _count(_cases.c.verified),
        _count(and_(_cases.c.verified, _cases.c.rework_count > 0)),
        func.sum(_cases.c.handling_s),
    ).where(in_period).group_by(*keys)).all()
    totals = {False: dict.fromkeys(_SUMS, 0), True: dict.fromkeys(_SUMS, 0)}
    by_stage: dict[str, int] = defaultdict(int)
    by_scenario: dict[str, int] = defaultdict(int)
    by_channel_day: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    by_scenario_day: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for on, urgent, stage, channel, scenario, *sums in groups:
        row = totals[bool(urgent)]
        for name, value in zip(_SUMS, sums):
            row[name] += value or 0
        count, on = sums[0], str(on)
        by_stage[stage or "-"] += count
        by_scenario[scenario or "-"] += count
        by_channel_day[on][channel or "-"] += count
        by_scenario_day[on][scenario or "-"] += count
    everything = {name: totals[False][name] + totals[True][name] for name in _SUMS}

    handled_day = _local_day(dialect, _tasks.c.ended_at)
    officer_days = connection.execute(select(
        _tasks.c.completed_by, func.count(_tasks.c.instance_id.distinct())
    ).where(_tasks.c.status == TASK_COMPLETED, _tasks.c.completed_by.is_not(None), _tasks.c.ended_at >= start,
            _tasks.c.ended_at < end).group_by(_tasks.c.completed_by, handled_day)).all()
    # The open cases with a deadline are few: ix_cases_open_sla holds just them (its condition, repeated here).
    overdue = connection.execute(select(
        _cases.c.instance_id, _cases.c.scenario, _cases.c.stage, _cases.c.address, _cases.c.sla_due_at,
    ).where(in_period, _cases.c.sla_due_at.is_not(None), _cases.c.sla_due_at < now, not_(is_closed),
            _cases.c.stage.not_in(NEVER_CLOSED)).order_by(_cases.c.sla_due_at, _cases.c.instance_id)).mappings()
    return {
        **_rates(everything),
        "urgent": _rates(totals[True]),
        "cases_per_officer_per_day": (round(sum(n for _, n in officer_days) / len(officer_days), 2)
                                      if officer_days else None),
        "officers": len({officer for officer, _ in officer_days}),
        "by_stage": dict(sorted(by_stage.items())),
        "by_scenario": dict(sorted(by_scenario.items())),
        "volume_by_channel": {on: dict(sorted(v.items())) for on, v in sorted(by_channel_day.items())},
        "volume_by_scenario": {on: dict(sorted(v.items())) for on, v in sorted(by_scenario_day.items())},
        "overdue": [dict(row) for row in overdue],
        "period": {"start": start.isoformat(), "end": end.isoformat()},
    }


def team_indicators(connection, start: datetime, end: datetime, now: datetime) -> dict[str, dict]:
    """Per inbox (a team, or ``<team>.lead``): tasks completed in [start, end) and how many by their due time, and
    the backlog at ``now``: ready tasks, and those of them past due (the simulator's what-if compares these)."""
    team = func.coalesce(_tasks.c.team, "-")
    teams: dict[str, dict] = defaultdict(lambda: {"completed": 0, "completed_on_time": 0, "backlog": 0,
                                                  "overdue": 0})
    for name, completed, on_time in connection.execute(select(
            team, func.count(), _count(or_(_tasks.c.due_at.is_(None), _tasks.c.ended_at <= _tasks.c.due_at))).where(
            _tasks.c.status == TASK_COMPLETED, _tasks.c.ended_at >= start, _tasks.c.ended_at < end).group_by(team)):
        teams[name].update(completed=int(completed), completed_on_time=int(on_time or 0))
    for name, backlog, overdue in connection.execute(select(
            team, func.count(), _count(and_(_tasks.c.due_at.is_not(None), _tasks.c.due_at < now))).where(
            _tasks.c.status == TASK_READY).group_by(team)):
        teams[name].update(backlog=int(backlog), overdue=int(overdue or 0))
    for row in teams.values():
        row["on_time_rate"] = _rate(row["completed_on_time"], row["completed"])
    return dict(sorted(teams.items()))
