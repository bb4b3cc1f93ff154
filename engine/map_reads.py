"""Reads behind the command centre: the map's devices and open cases, the heat of cases, the live feed, one
device's page, the device registry, dead letters and each team's backlog. SQLAlchemy Core, plain dicts out.

Every read is bounded so it stays fast beside 1,000,000 closed cases and the district's 9,165 devices:

- devices: where they are is sent once per registry version (9,165 short rows, cached by the page and the server);
  their state is sent as the ids of the few that are not online (open alarms from the ``alarm.status`` index);
- open cases: the ``cases.stage`` index finds the open stages, never the closed history; at most ``MAP_CASES``,
  as short rows without dates (overdue is worked out in the database);
- heat: cases opened in a period (at most ``HEAT_MAX_DAYS`` days), counted per cell of about 100 m in the database,
  served by the ``ix_cases_heat`` index (migration 0008) without reading the table;
- the feed: primary-key range scans after a cursor (alarms, cases, lead tasks), each limited.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, case, desc, func, select

from .models import TASK_READY
from .models import MAINTENANCE_PROCESS, OFFLINE_SCENARIO, Alarm, Alert, Case, DeadLetter, Device, HumanTask

_devices, _alarms, _alerts = Device.__table__, Alarm.__table__, Alert.__table__
_cases, _tasks, _dead = Case.__table__, HumanTask.__table__, DeadLetter.__table__

#: Stages of a case that is still open (what the map draws); "closed", "rejected", "cancelled" and "evaluate" are not.
OPEN_STAGES = ("discover", "register", "dispatch", "handle", "verify")
#: Most open cases drawn on the map at once, the newest (the district has a few hundred open on a busy day).
MAP_CASES = 2000
#: Longest period of the heat map, in days; longer requests are refused by the caller.
HEAT_MAX_DAYS = 366
#: Size of a heat cell in degrees (0.001 degree is about 110 m north-south, 95 m east-west at 31 degrees north).
HEAT_CELL = 0.001
#: Items of each kind in one answer of the live feed, and how far back its first answer looks (ids).
FEED_LIMIT, FEED_WINDOW = 20, 2000


def _bbox(query, table, bbox: tuple[float, float, float, float] | None):
    """Cut to south, west, north, east."""
    if bbox is None:
        return query
    south, west, north, east = bbox
    return query.where(table.c.lat >= south, table.c.lat <= north, table.c.lon >= west, table.c.lon <= east)


def device_state(status: str, open_alarms: int) -> str:
    """What the map colours: alarming (an open alarm other than its own offline one), offline, online or unknown."""
    if open_alarms:
        return "alarming"
    return status if status in ("online", "offline") else "unknown"


def device_positions(connection) -> dict:
    """The registry as the map draws it: ``rows`` of ``[id, lat, lon, scenario, device_type]`` ordered by id, and a
    ``version`` that changes whenever the registry does (the page keeps the rows until it changes)."""
    rows = connection.execute(select(_devices.c.id, _devices.c.lat, _devices.c.lon, _devices.c.scenario,
                                     _devices.c.device_type)
                              .where(_devices.c.lat.is_not(None), _devices.c.lon.is_not(None)).order_by(_devices.c.id))
    return {"version": registry_version(connection), "rows": [list(r) for r in rows]}


def registry_version(connection) -> str:
    count, latest = connection.execute(select(func.count(), func.max(_devices.c.registered_at))).one()
    return f"{count}-{latest.timestamp() if latest else 0}"


def device_states(connection) -> dict[str, list[str]]:
    """Ids of the devices that are not simply online: ``alarming`` (an open alarm other than the device's own offline
    alarm), ``offline`` and ``unknown`` (never seen). Every other device of the registry is online. In a running
    district these lists are short, so the map's state costs little however many devices there are."""
    alarming = sorted(set(connection.scalars(select(_alarms.c.device_id).where(
        _alarms.c.status == "open", _alarms.c.scenario != OFFLINE_SCENARIO))))
    states: dict[str, list[str]] = {"alarming": alarming, "offline": [], "unknown": []}
    for device_id, status in connection.execute(select(_devices.c.id, _devices.c.status)
                                                .where(_devices.c.status != "online").order_by(_devices.c.id)):
        states["offline" if status == "offline" else "unknown"].append(device_id)
    return states


#: The columns of one open case on the map, in the order of its row.
CASE_COLUMNS = ("instance_id", "lat", "lon", "stage", "scenario", "channel", "overdue", "urgent")


def map_cases(connection, now: datetime, bbox=None, scenario: str | None = None, channel: str | None = None,
              limit: int = MAP_CASES) -> list[list]:
    """Open cases with a place, newest first, as rows of ``CASE_COLUMNS`` (overdue: past the case's deadline)."""
    overdue = case((_cases.c.sla_due_at < now, 1), else_=0)
    query = (select(_cases.c.instance_id, _cases.c.lat, _cases.c.lon, _cases.c.stage, _cases.c.scenario,
                    _cases.c.channel, overdue, _cases.c.urgent)
             .where(_cases.c.stage.in_(OPEN_STAGES), _cases.c.lat.is_not(None), _cases.c.lon.is_not(None)))
    if scenario:
        query = query.where(_cases.c.scenario == scenario)
    if channel:
        query = query.where(_cases.c.channel == channel)
    query = _bbox(query, _cases, bbox).order_by(_cases.c.opened_at.desc(), _cases.c.id.desc()).limit(limit)
    return [[r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7])] for r in connection.execute(query)]


def map_state(connection, now: datetime, bbox=None, scenario: str | None = None, channel: str | None = None) -> dict:
    """What moves on the map, in one read: the registry's version, the devices not online, the open cases."""
    cases = map_cases(connection, now, bbox, scenario, channel)
    return {"registry": registry_version(connection), "states": device_states(connection),
            "case_columns": CASE_COLUMNS, "cases": cases, "truncated": len(cases) >= MAP_CASES}


def heat(connection, start: datetime, end: datetime, scenario: str | None = None, bbox=None) -> list[list]:
    """Cases opened in [start, end) per cell: ``[lat, lon, count]`` (the cell's centre), most first."""
    cell_lat = func.floor(_cases.c.lat / HEAT_CELL)
    cell_lon = func.floor(_cases.c.lon / HEAT_CELL)
    query = (select(cell_lat.label("y"), cell_lon.label("x"), func.count().label("n"))
             .where(_cases.c.opened_at >= start, _cases.c.opened_at < end, _cases.c.lat.is_not(None),
                    _cases.c.lon.is_not(None)))
    if scenario:
        query = query.where(_cases.c.scenario == scenario)
    query = _bbox(query, _cases, bbox).group_by(cell_lat, cell_lon).order_by(desc("n")).limit(20_000)
    half = HEAT_CELL / 2
    return [[round(float(y) * HEAT_CELL + half, 6), round(float(x) * HEAT_CELL + half, 6), n]
            for y, x, n in connection.execute(query)]


def feed_cursor(connection) -> dict:
    """Where a new feed starts: a little before the newest alarm, case and task."""
    return {kind: max(0, (connection.scalar(select(func.max(table.c.id))) or 0) - FEED_WINDOW)
            for kind, table in (("alarm", _alarms), ("case", _cases), ("task", _tasks))}


def feed(connection, cursor: dict, limit: int = FEED_LIMIT) -> dict:
    """New alarms, new cases and escalations (tasks for a team lead's inbox) after ``cursor`` ({kind: last id}),
    oldest first, and the cursor to ask with next time."""
    items: list[dict] = []
    after = {kind: int(cursor.get(kind) or 0) for kind in ("alarm", "case", "task")}
    for row in connection.execute(
            select(_alarms.c.id, _alarms.c.device_id, _alarms.c.scenario, _alarms.c.severity, _alarms.c.first_seen_at,
                   _alarms.c.instance_id).where(_alarms.c.id > after["alarm"]).order_by(_alarms.c.id).limit(limit)
    ).mappings():
        items.append({"kind": "alarm", "id": row["id"], "at": row["first_seen_at"], "device_id": row["device_id"],
                      "scenario": row["scenario"], "severity": row["severity"], "instance_id": row["instance_id"]})
        after["alarm"] = row["id"]
    for row in connection.execute(
            select(_cases.c.id, _cases.c.instance_id, _cases.c.scenario, _cases.c.channel, _cases.c.address,
                   _cases.c.opened_at, _cases.c.device_id)
            .where(_cases.c.id > after["case"]).order_by(_cases.c.id).limit(limit)).mappings():
        items.append({"kind": "case", "id": row["id"], "at": row["opened_at"], "instance_id": row["instance_id"],
                      "scenario": row["scenario"], "channel": row["channel"], "address": row["address"],
                      "device_id": row["device_id"]})
        after["case"] = row["id"]
    # escalations are the tasks routed to a lead's inbox; the id range keeps the scan short, the LIKE filters it
    last_task = connection.scalar(select(func.max(_tasks.c.id)).where(_tasks.c.id > after["task"]))
    if last_task:
        window_end = min(last_task, after["task"] + FEED_WINDOW)
        for row in connection.execute(
                select(_tasks.c.id, _tasks.c.instance_id, _tasks.c.label, _tasks.c.team, _tasks.c.created_at)
                .where(_tasks.c.id > after["task"], _tasks.c.id <= window_end, _tasks.c.team.like("%.lead"))
                .order_by(_tasks.c.id).limit(limit)).mappings():
            items.append({"kind": "escalation", "id": row["id"], "at": row["created_at"],
                          "instance_id": row["instance_id"], "label": row["label"], "team": row["team"]})
        after["task"] = window_end
    items.sort(key=lambda item: item["at"])
    return {"items": items, "cursor": after}


def devices_statement(device_type: str | None = None, compound: str | None = None,
                      state: str | None = None) -> Select:
    """The registry (ordered by id), filtered by type, compound and status, with open alarm counts: a statement the
    web app pages (rows as dicts)."""
    alarms = (select(_alarms.c.device_id, func.count().label("open_alarms")).where(_alarms.c.status == "open")
              .group_by(_alarms.c.device_id).subquery())
    query = select(_devices, func.coalesce(alarms.c.open_alarms, 0).label("open_alarms")).outerjoin(
        alarms, alarms.c.device_id == _devices.c.id)
    for column, value in (("device_type", device_type), ("compound", compound), ("status", state)):
        if value:
            query = query.where(_devices.c[column] == value)
    return query.order_by(_devices.c.id)


def device_choices(connection) -> dict:
    """The device types and compounds present, for the registry's filter menus."""
    return {"device_type": list(connection.scalars(select(_devices.c.device_type).distinct()
                                                    .order_by(_devices.c.device_type))),
            "compound": list(connection.scalars(select(_devices.c.compound).distinct()
                                                 .where(_devices.c.compound.is_not(None)).order_by(_devices.c.compound)))}


def device(connection, device_id: str, limit: int = 100) -> dict | None:
    """One device: its row, open alarms, newest alerts, and its cases (maintenance ones marked), newest first."""
    row = connection.execute(select(_devices).where(_devices.c.id == device_id)).mappings().one_or_none()
    if row is None:
        return None
    alarms = [dict(r) for r in connection.execute(
        select(_alarms).where(_alarms.c.device_id == device_id).order_by(_alarms.c.id.desc()).limit(limit)).mappings()]
    alerts = [dict(r) for r in connection.execute(
        select(_alerts.c.id, _alerts.c.msg_id, _alerts.c.scenario, _alerts.c.event, _alerts.c.reported_at,
               _alerts.c.received_at, _alerts.c.source, _alerts.c.instance_id)
        .where(_alerts.c.device_id == device_id).order_by(_alerts.c.id.desc()).limit(limit)).mappings()]
    cases = [{**dict(r), "maintenance": r["process_id"] == MAINTENANCE_PROCESS} for r in connection.execute(
        select(_cases.c.instance_id, _cases.c.process_id, _cases.c.scenario, _cases.c.stage, _cases.c.opened_at,
               _cases.c.closed_at, _cases.c.sla_due_at, _cases.c.outcome)
        .where(_cases.c.device_id == device_id).order_by(_cases.c.opened_at.desc()).limit(limit)).mappings()]
    open_alarms = [a for a in alarms if a["status"] == "open"]
    state = device_state(row["status"], sum(1 for a in open_alarms if a["scenario"] != OFFLINE_SCENARIO))
    return {"device": dict(row), "state": state, "open_alarms": open_alarms, "alarms": alarms, "alerts": alerts,
            "cases": cases}


def dead_letters_statement(reason: str | None = None) -> Select:
    """Refused input, newest first: a statement the web app pages (rows as dicts)."""
    query = select(_dead).order_by(_dead.c.received_at.desc(), _dead.c.id.desc())
    return query.where(_dead.c.reason == reason) if reason else query


def dead_letter_reasons(connection) -> dict[str, int]:
    """How many refused messages there are per reason, for the list's filter."""
    return dict(connection.execute(select(_dead.c.reason, func.count()).group_by(_dead.c.reason)
                                   .order_by(_dead.c.reason)).all())


def team_backlog(connection, now: datetime) -> dict[str, dict]:
    """Ready tasks per team inbox, and how many are past due (the inbox index: status, team, due_at)."""
    overdue = func.sum(case((_tasks.c.due_at < now, 1), else_=0))
    rows = connection.execute(select(_tasks.c.team, func.count(), overdue).where(_tasks.c.status == TASK_READY)
                              .group_by(_tasks.c.team).order_by(_tasks.c.team))
    return {team or "-": {"backlog": n, "overdue": int(late or 0)} for team, n, late in rows}


def heat_period_ok(start: datetime, end: datetime) -> bool:
    return timedelta(0) < end - start <= timedelta(days=HEAT_MAX_DAYS)

