"""The district's indicators (../shared/DOMAIN.md), computed in the database from the ``cases`` and ``human_task``
tables: a handful of aggregate queries, whatever the number of cases (a month beside a million closed cases is
counted by the server; no case row comes to Python).

- closure rate 結案率 = closed / (due to close - deferred); "due to close" are the cases of the period that were
  registered (they reached dispatch) or closed, nothing is deferred in this engine yet.
- on-time closure rate 按期結案率 = closed on time / due to close; on time = every completed task of the case
  was completed by its due time.
- rework rate 返工率 = cases sent back at verification at least once / cases verified.
- average handling time = mean of (closed - opened) over the closed cases, in hours. A case's closing time is the
  time it reached ``closed`` (else ``evaluate``) in ``stage_times``, else its ``closed_at`` unless it was rejected or
  cancelled.
- cases per officer per day = distinct cases an officer completed a task in, per (officer, day) worked.
- volume by channel and by scenario per day; cases by stage and by scenario. Urgent cases are reported separately.
The period selects cases by ``opened_at`` in [start, end) and tasks by ``ended_at`` in [start, end). Days are the
district's (UTC+8), on both PostgreSQL and SQLite.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Float, and_, case, cast, exists, func, literal_column, not_, or_, select
from sqlalchemy.types import DateTime

from .clock import DISTRICT_TZ
from .models import Case, HumanTask

_cases, _tasks = Case.__table__, HumanTask.__table__
CLOSED_STAGES = ("closed", "evaluate")
NOT_REGISTERED = ("discover", "register", "rejected", "cancelled")
NEVER_CLOSED = ("rejected", "cancelled")
#: Days are counted in the district's own time zone, not UTC.
LOCAL = DISTRICT_TZ
_OFFSET_HOURS = int(DISTRICT_TZ.utcoffset(None).total_seconds() // 3600)


class _Dialect:
    """The three expressions that differ between PostgreSQL and SQLite: a stage time read from ``stage_times``
    (an ISO text), a moment in hours since an epoch (to subtract two), and the district's calendar day of a moment."""

    def __init__(self, name: str):
        self.postgres = name == "postgresql"

    def stage_time(self, stage: str):
        text = _cases.c.stage_times[stage].as_string()
        return cast(text, DateTime(timezone=True)) if self.postgres else text

    def hours(self, moment):
        if self.postgres:
            return func.extract("epoch", moment) / 3600.0
        return func.julianday(moment) * 24.0

    def local_day(self, moment):
        if self.postgres:
            local = func.timezone(literal_column(f"INTERVAL '{_OFFSET_HOURS} hours'"), moment)
            return func.to_char(local, "YYYY-MM-DD")
        return func.date(moment, f"+{_OFFSET_HOURS} hours")


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _rates(row) -> dict:
    cases, due, closed, on_time, verified, reworked, hours = (int(row.cases or 0), int(row.due or 0),
                                                              int(row.closed or 0), int(row.on_time or 0),
                                                              int(row.verified or 0), int(row.reworked or 0),
                                                              row.hours)
    return {"cases": cases, "due_to_close": due, "closed": closed, "closed_on_time": on_time,
            "closure_rate": _rate(closed, due), "on_time_closure_rate": _rate(on_time, due),
            "verified": verified, "reworked": reworked, "rework_rate": _rate(reworked, verified),
            "avg_handling_hours": round(float(hours) / closed, 2) if closed and hours is not None else None}


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def indicators(connection, start: datetime, end: datetime, now: datetime) -> dict:
    """The indicators of cases opened in [start, end) and tasks completed in [start, end)."""
    sql = _Dialect(connection.dialect.name)
    in_period = and_(_cases.c.opened_at >= start, _cases.c.opened_at < end)
    closed_at = func.coalesce(sql.stage_time("closed"), sql.stage_time("evaluate"), case(
        (and_(_cases.c.closed_at.is_not(None), _cases.c.stage.not_in(NEVER_CLOSED)), _cases.c.closed_at)))
    is_closed = closed_at.is_not(None)
    late = exists().where(_tasks.c.instance_id == _cases.c.instance_id, _tasks.c.status == "completed",
                          _tasks.c.due_at.is_not(None), _tasks.c.ended_at > _tasks.c.due_at)
    verified = _cases.c.stage_times["verify"].as_string().is_not(None)
    groups = connection.execute(select(
        _cases.c.urgent, func.count().label("cases"),
        _count(or_(_cases.c.stage.not_in(NOT_REGISTERED), is_closed)).label("due"),
        _count(is_closed).label("closed"),
        _count(and_(is_closed, not_(late))).label("on_time"),
        _count(verified).label("verified"),
        _count(and_(verified, _cases.c.rework_count > 0)).label("reworked"),
        func.sum(case((is_closed, cast(sql.hours(closed_at) - sql.hours(_cases.c.opened_at), Float)))).label("hours"),
    ).where(in_period).group_by(_cases.c.urgent)).all()
    urgent = next((g for g in groups if g.urgent), None)
    totals = {name: sum((getattr(g, name) or 0) for g in groups)
              for name in ("cases", "due", "closed", "on_time", "verified", "reworked")}
    hours = [g.hours for g in groups if g.hours is not None]
    totals["hours"] = sum(hours) if hours else None

    def counts(column) -> dict:
        label = func.coalesce(column, "-")
        return dict(sorted(connection.execute(select(label, func.count()).where(in_period).group_by(label)).all()))

    def volume(column) -> dict:
        day, label = sql.local_day(_cases.c.opened_at), func.coalesce(column, "-")
        by_day: dict[str, dict] = defaultdict(dict)
        for on, what, n in connection.execute(select(day, label, func.count()).where(in_period).group_by(day, label)):
            by_day[str(on)][what] = n
        return dict(sorted(by_day.items()))

    handled_day = sql.local_day(_tasks.c.ended_at)
    handled = select(_tasks.c.completed_by, handled_day.label("day"), _tasks.c.instance_id).where(
        _tasks.c.status == "completed", _tasks.c.completed_by.is_not(None), _tasks.c.ended_at >= start,
        _tasks.c.ended_at < end).distinct().subquery()
    officer_days = connection.execute(select(handled.c.completed_by, func.count()).group_by(
        handled.c.completed_by, handled.c.day)).all()
    overdue = connection.execute(select(
        _cases.c.instance_id, _cases.c.scenario, _cases.c.stage, _cases.c.address, _cases.c.sla_due_at,
    ).where(in_period, _cases.c.sla_due_at.is_not(None), _cases.c.sla_due_at < now, not_(is_closed),
            _cases.c.stage.not_in(NEVER_CLOSED)).order_by(_cases.c.sla_due_at, _cases.c.instance_id)).mappings()
    return {
        **_rates(_Totals(**totals)),
        "urgent": _rates(urgent or _Totals()),
        "cases_per_officer_per_day": (round(sum(n for _, n in officer_days) / len(officer_days), 2)
                                      if officer_days else None),
        "officers": len({officer for officer, _ in officer_days}),
        "by_stage": counts(_cases.c.stage),
        "by_scenario": counts(_cases.c.scenario),
        "volume_by_channel": volume(_cases.c.channel),
        "volume_by_scenario": volume(_cases.c.scenario),
        "overdue": [dict(row) for row in overdue],
        "period": {"start": start.isoformat(), "end": end.isoformat()},
    }


class _Totals:
    """Both groups' sums, in the shape of one group's row."""

    def __init__(self, cases=0, due=0, closed=0, on_time=0, verified=0, reworked=0, hours=None):
        self.cases, self.due, self.closed, self.on_time = cases, due, closed, on_time
        self.verified, self.reworked, self.hours = verified, reworked, hours
