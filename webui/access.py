"""Who may see and work what. Pure functions of the user (a dict from engine.people) and plain rows.

- A ready task belongs to its team's inbox: members of the team (leads: also the team's ".lead" inbox) see it,
  its holder sees it, admins see everything. Anyone else gets "not found", so task ids reveal nothing.
- A case is visible to the district roles (dispatcher, admin) and to whoever had a part in it (a task of one of
  their teams, or one they held or completed).
- A lead reassigns within the team: the new holder must be a member of the task's team.
"""
from __future__ import annotations

from engine import DISTRICT_ROLES, LEAD_SUFFIX
from engine.exceptions import NotFound

DASHBOARD_ROLES = ("team_lead", "dispatcher", "admin")
REPORT_ROLES = ("dispatcher", "admin")
ALERT_ROLES = ("dispatcher", "admin")
DESIGNER_ROLES = ("designer", "admin")
#: Teams whose members report from patrol (巡查) on the phone; dispatchers and admins may too.
PATROL_TEAMS = ("grid_patrol",)


def may_report_patrol(user: dict | None) -> bool:
    return bool(user) and (bool(set(user["roles"]) & set(REPORT_ROLES)) or bool(set(user["teams"]) & set(PATROL_TEAMS)))


def is_district(user: dict) -> bool:
    return bool(set(user["roles"]) & DISTRICT_ROLES)


def can_see_task(user: dict, task: dict) -> bool:
    if "admin" in user["roles"]:
        return True
    if task["status"] == "ready":
        return task["team"] in user["inbox_teams"] or task["assignee"] == user["username"]
    return task["completed_by"] == user["username"] or task["team"] in user["inbox_teams"]


def visible_task(user: dict, task: dict) -> dict:
    if not can_see_task(user, task):
        raise NotFound(f"task {task['id']} does not exist")
    return task


def is_lead_of(user: dict, team: str | None) -> bool:
    """Whether ``user`` leads the team that owns ``team``'s inbox (a team or its lead inbox)."""
    if not team or "team_lead" not in user["roles"]:
        return False
    return team.removesuffix(LEAD_SUFFIX) in user["teams"]


def team_of(inbox: str | None) -> str:
    return (inbox or "").removesuffix(LEAD_SUFFIX)
