"""Reads behind the officers' pages: the inbox with its case facts, case lists, and who may look at a case.

SQLAlchemy Core, plain dicts out. The inbox is two index range scans (my teams' unclaimed tasks; my claimed ones),
each limited, merged by due time: it stays fast when a team has thousands of open tasks and the database millions of
closed cases. The officers' inbox page reads the same rows as one statement the web app pages
(:func:`inbox_statement`): a page is one page of the whole inbox, not of either half.
"""
from __future__ import annotations

from sqlalchemy import Select, exists, false, func, or_, select

from .models import TASK_READY
from .models import Alarm, Alert, Case, HumanTask

_tasks, _cases = HumanTask.__table__, Case.__table__
CASE_FACTS = ("scenario", "stage", "compound", "address", "device_id", "severity", "urgent", "channel")
INBOX_FILTERS = ("scenario", "stage", "compound")
_INBOX_SELECT = select(_tasks.c.id, _tasks.c.instance_id, _tasks.c.bpmn_id, _tasks.c.label, _tasks.c.team,
                       _tasks.c.assignee, _tasks.c.due_at, _tasks.c.created_at, _tasks.c.form_schema,
                       *(_cases.c[name] for name in CASE_FACTS), _cases.c.id.label("case_id")
                       ).select_from(_tasks.outerjoin(_cases, _cases.c.instance_id == _tasks.c.instance_id))


def _filtered(query, filters: dict | None):
    for name in INBOX_FILTERS:
        value = (filters or {}).get(name)
        if value:
            query = query.where(_cases.c[name] == value)
    return query


def inbox(connection, teams: list[str], username: str, scope: str = "all", filters: dict | None = None,
          limit: int = 200) -> list[dict]:
    """Ready tasks of ``teams`` nobody holds (scope team), those ``username`` holds (scope mine), or both (all),
    soonest due first, each with its case's facts."""
    rows: list[dict] = []
    if scope in ("all", "team") and teams:
        query = _INBOX_SELECT.where(_tasks.c.status == TASK_READY, _tasks.c.team.in_(list(teams)),
                                    _tasks.c.assignee.is_(None))
        rows += connection.execute(_filtered(query, filters).order_by(_tasks.c.due_at, _tasks.c.id).limit(limit)
                                   ).mappings()
    if scope in ("all", "mine"):
        query = _INBOX_SELECT.where(_tasks.c.status == TASK_READY, _tasks.c.assignee == username)
        rows += connection.execute(_filtered(query, filters).order_by(_tasks.c.due_at, _tasks.c.id).limit(limit)
                                   ).mappings()
    far = (1, 0)
    rows = sorted((dict(r) for r in rows), key=lambda r: ((0, r["due_at"].timestamp()) if r["due_at"] else far,
                                                          r["id"]))
    return rows[:limit]


def inbox_statement(teams: list[str], username: str, scope: str = "all", filters: dict | None = None) -> Select:
    """The rows of :func:`inbox`, all of them, as one statement in the same order (soonest due first, undated last),
    for the web app to page. One condition with OR instead of two limited scans: the database sorts the ready tasks
    of the user's teams (the inbox index finds them) and reads only the page."""
    theirs = _tasks.c.team.in_(list(teams)) & _tasks.c.assignee.is_(None) if teams else false()
    mine = _tasks.c.assignee == username
    whose = {"team": theirs, "mine": mine}.get(scope, or_(theirs, mine))
    query = _filtered(_INBOX_SELECT.where(_tasks.c.status == TASK_READY, whose), filters)
    return query.order_by(_tasks.c.due_at.asc().nulls_last(), _tasks.c.id)


def filter_choices(connection, teams: list[str]) -> dict[str, list[str]]:
    """Values present in the team's open tasks, for the inbox's filter menus."""
    choices = {}
    for name in INBOX_FILTERS:
        query = (select(_cases.c[name]).distinct()
                 .join(_tasks, _tasks.c.instance_id == _cases.c.instance_id)
                 .where(_tasks.c.status == TASK_READY, _tasks.c.team.in_(list(teams)), _cases.c[name].is_not(None))
                 .order_by(_cases.c[name]).limit(200))
        choices[name] = list(connection.scalars(query))
    return choices


def _involving(instance_id, teams: list[str] | None, username: str | None):
    """A task of the case belonging to one of ``teams``, or held or completed by ``username``, exists."""
    return exists().where(_tasks.c.instance_id == instance_id, or_(
        _tasks.c.team.in_(list(teams or ["-"])), _tasks.c.assignee == username, _tasks.c.completed_by == username))


def involved(connection, instance_id: int, teams: list[str], username: str) -> bool:
    """Whether one of ``teams`` had a task in this case, or ``username`` held or completed one."""
    return bool(connection.scalar(select(_involving(instance_id, teams, username))))


def case_by_instance(connection, instance_id: int) -> dict | None:
    row = connection.execute(select(_cases).where(_cases.c.instance_id == instance_id)).mappings().one_or_none()
    return dict(row) if row else None


def alarm_count(connection, instance_id: int) -> int | None:
    """Alarms counted on the case so far (the first and every repeat), or None for a case no sensor raised. The start
    data's ``alert_count`` is only the count when the case opened."""
    alarms = Alarm.__table__
    return connection.scalar(select(func.sum(alarms.c.count)).where(alarms.c.instance_id == instance_id))


def attached_alerts(connection, instance_id: int, limit: int = 50) -> list[dict]:
    """Sensor messages linked to the case (alarms, repeats, the clear), oldest first."""
    alerts = Alert.__table__
    return [dict(r) for r in connection.execute(select(alerts).where(alerts.c.instance_id == instance_id)
                                                .order_by(alerts.c.id).limit(limit)).mappings()]
