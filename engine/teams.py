"""Teams managed by admins in the web app: create, rename, retire (and restore).

The roster is data: seed/teams.json fills an empty table (``people.seed_teams``), and from then on admins keep it.
A team is never deleted, because tasks, memberships and the audit name it: it is *retired*. A retired team

- is offered as no choice (user forms, the designer's team list) and takes no new members (``people._check``);
- cannot be named by a deployment (``roster.unknown_teams`` refuses it as retired);
- cannot be retired while the newest version of a deployed process still routes to it (deploy one that does not
  first), so no new case sends it work. A case still running on an older version may: its task is created in the
  retired team's inbox, where the team's members still see it, and the case's timeline says so
  (``task.team_retired``, written by ``persistence``); the teams page counts each team's open tasks.
"""
from __future__ import annotations

import re

from lxml import etree
from sqlalchemy import func, insert, select, update

from .models import TASK_READY
from .exceptions import Conflict, FormInvalid, Message, NotFound
from .models import Deployment, HumanTask, Membership, ProcessDefinition, Team
from .deploy.roster import team_code, team_names

_teams, _members, _tasks = Team.__table__, Membership.__table__, HumanTask.__table__
_definitions, _deployments = ProcessDefinition.__table__, Deployment.__table__
#: A team code names lanes and inboxes: lower-case letters, digits and underscores, starting with a letter.
CODE = re.compile(r"[a-z][a-z0-9_]{1,59}")
KINDS = ("in_house", "partner", "other")
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _names(name_zh: str, name_en: str, kind: str, problems: dict | None = None) -> dict:
    """The names and kind as stored; FormInvalid naming every field that is wrong (``problems`` found already)."""
    name_zh, name_en = (name_zh or "").strip(), (name_en or "").strip()
    problems = dict(problems or {})
    if not 0 < len(name_zh) <= 200:
        problems["name_zh"] = "1 to 200 characters"
    if not 0 < len(name_en) <= 200:
        problems["name_en"] = "1 to 200 characters"
    if kind not in KINDS:
        problems["kind"] = f"one of {', '.join(KINDS)}"
    if problems:
        raise FormInvalid(Message("a team needs a code, a Chinese and an English name (1 to 200 characters) and a "
                                  "kind"), problems)
    return {"name_zh": name_zh, "name_en": name_en, "kind": kind}


def create_team(store, code: str, name_zh: str, name_en: str, kind: str = "other") -> dict:
    code = (code or "").strip()
    wrong_code = {} if CODE.fullmatch(code) else {"code": "2 to 60 of a-z, 0-9, _, starting with a letter"}
    values = _names(name_zh, name_en, kind, wrong_code)
    with store.begin() as connection:
        if connection.scalar(select(_teams.c.code).where(_teams.c.code == code)) is not None:
            raise Conflict(Message("team {code} exists already", code=code), {"code": Message("exists already")})
        connection.execute(insert(_teams).values(code=code, retired=False, **values))
    return team(store, code)


def rename_team(store, code: str, name_zh: str, name_en: str, kind: str) -> dict:
    values = _names(name_zh, name_en, kind)
    with store.begin() as connection:
        if connection.execute(update(_teams).where(_teams.c.code == code).values(**values)).rowcount != 1:
            raise NotFound(Message("team {code} does not exist", code=code))
    return team(store, code)


def retire_team(store, code: str) -> dict:
    """Retire ``code``; refused (Conflict naming the processes) while the newest version of a process routes to it."""
    with store.begin() as connection:
        _lock(connection, code)
        routing = routes_to(connection, code)
        if routing:
            raise Conflict(Message("team {code} is still routed to by the newest version of {processes}: deploy a "
                                   "version that routes elsewhere first", code=code, processes=", ".join(routing)),
                           {"processes": routing})
        connection.execute(update(_teams).where(_teams.c.code == code).values(retired=True))
    return team(store, code)


def restore_team(store, code: str) -> dict:
    with store.begin() as connection:
        _lock(connection, code)
        connection.execute(update(_teams).where(_teams.c.code == code).values(retired=False))
    return team(store, code)


def _lock(connection, code: str) -> None:
    found = connection.scalar(select(_teams.c.code).where(_teams.c.code == code).with_for_update())
    if found is None:
        raise NotFound(Message("team {code} does not exist", code=code))


def team(store, code: str) -> dict:
    with store.read() as connection:
        row = connection.execute(select(_teams).where(_teams.c.code == code)).mappings().one_or_none()
        if row is None:
            raise NotFound(Message("team {code} does not exist", code=code))
        return dict(row)


def overview(connection) -> list[dict]:
    """Every team, active ones first, with its members, its open (ready) tasks (its lead inbox's too) and the
    processes whose newest version routes to it (``routed_by``: it cannot be retired while there are any)."""
    members = dict(connection.execute(select(_members.c.team_code, func.count()).group_by(_members.c.team_code)).all())
    open_tasks: dict[str, int] = {}
    for name, count in connection.execute(select(_tasks.c.team, func.count()).where(_tasks.c.status == TASK_READY)
                                          .group_by(_tasks.c.team)).all():
        if name:
            open_tasks[team_code(name)] = open_tasks.get(team_code(name), 0) + count
    routed = routing(connection)
    rows = connection.execute(select(_teams).order_by(_teams.c.retired, _teams.c.code)).mappings()
    return [{**row, "members": members.get(row["code"], 0), "open_tasks": open_tasks.get(row["code"], 0),
             "routed_by": routed.get(row["code"], [])} for row in rows]


def routes_to(connection, code: str) -> list[str]:
    """The processes whose newest deployed version names team ``code`` (a lane, a team property or a routing
    table's output, its lead inbox too)."""
    return routing(connection).get(code, [])


def routing(connection) -> dict[str, list[str]]:
    """Team code -> the processes whose newest deployed version names it, each deployment parsed once."""
    newest = select(_definitions.c.process_id, func.max(_definitions.c.version).label("version")) \
        .group_by(_definitions.c.process_id).subquery()
    rows = connection.execute(select(_definitions.c.process_id, _deployments.c.id, _deployments.c.files)
                              .join(newest, (newest.c.process_id == _definitions.c.process_id)
                                    & (newest.c.version == _definitions.c.version))
                              .join(_deployments, _deployments.c.id == _definitions.c.deployment_id)).all()
    named: dict[int, set[str]] = {}
    found: dict[str, list[str]] = {}
    for process_id, deployment_id, files in sorted(rows, key=lambda row: row[0]):
        if deployment_id not in named:
            named[deployment_id] = {team_code(name) for name, *_ in team_names(_roots(files))}
        for code in named[deployment_id]:
            found.setdefault(code, []).append(process_id)
    return found


def _roots(files: dict[str, str]) -> dict:
    roots = {}
    for name, text in files.items():
        if name.endswith((".bpmn", ".dmn")):
            try:
                roots[name] = etree.fromstring(text.encode("utf-8"), _SAFE_XML)
            except etree.XMLSyntaxError:   # stored only after it parsed: cannot happen, and names no team if it did
                continue
    return roots
