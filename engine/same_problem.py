"""One problem, one case, across channels: which open cases a new report may be the same problem as, and the record
of merging a report into one of them.

A report (patrol, video, hotline, resident) waits at registration; an open case of the same scenario within the
scenario's distance is a candidate. Merging (``Engine.merge_report``) completes the report's registration as a
duplicate of the open case, moves any Open311 request onto the open case (its client then follows the open case) and
writes ``report.merged`` into the open case's timeline, so one case holds every source of the problem.

How near counts as the same problem is per scenario, in metres (``Config.same_problem_metres``, from
``JINGZHI_SAME_PROBLEM_METRES`` such as ``fire_lane=30,illegal_dumping=80,default=100``), over the defaults below.
"""
from __future__ import annotations

import math

from sqlalchemy import insert, select, update

from . import clock
from .models import AuditEvent, Case, Open311Request

#: Metres within which a report is offered as the same problem as an open case: a fire lane or a door is one spot;
#: dumping and street trading spread along a kerb.
DEFAULT_METRES = {"fire_lane": 30, "door_open": 15, "hydrant_pressure": 20, "illegal_dumping": 80,
                  "street_trading": 80, "default": 50}
#: Channels whose cases are reports a person checks at registration (sensor alarms merge by device already).
REPORT_CHANNELS = ("patrol", "video", "hotline", "resident")
CLOSED_STAGES = ("closed", "rejected", "cancelled")
#: The closed loop's registration task: a report merged as a duplicate completes it.
REGISTER_TASK = "register"


def metres(setting: str | None = None) -> dict[str, float]:
    """The distances in force: the defaults, overridden by a setting such as ``fire_lane=30,default=100``."""
    found: dict[str, float] = dict(DEFAULT_METRES)
    for part in (setting or "").split(","):
        name, _, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            continue   # a malformed entry keeps its default rather than stopping intake
        if name.strip() and math.isfinite(number) and number >= 0:
            found[name.strip()] = number
    return found


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    rad = math.radians
    a = (math.sin(rad(lat2 - lat1) / 2) ** 2
         + math.cos(rad(lat1)) * math.cos(rad(lat2)) * math.sin(rad(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _open(query):
    return query.where(Case.closed_at.is_(None), Case.stage.not_in(CLOSED_STAGES))


def neighbours(connection, case: dict, limits: dict[str, float]) -> list[dict]:
    """Open cases of ``case``'s scenario within its distance, nearest first (the case itself excluded)."""
    if case.get("lat") is None or case.get("lon") is None:
        return []
    limit = limits.get(case["scenario"], limits["default"])
    box = limit / 111_000 * 2   # degrees; a generous box so the index does the rough cut
    query = _open(select(Case.__table__).where(
        Case.scenario == case["scenario"], Case.instance_id != case["instance_id"],
        Case.lat.between(case["lat"] - box, case["lat"] + box), Case.lon.between(case["lon"] - box, case["lon"] + box)))
    rows = [dict(r) for r in connection.execute(query.limit(200)).mappings()]
    for row in rows:
        row["distance_m"] = round(distance_m(case["lat"], case["lon"], row["lat"], row["lon"]))
    return sorted((r for r in rows if r["distance_m"] <= limit), key=lambda r: r["distance_m"])


def report(connection, instance_id: int) -> dict | None:
    """The case row of a report (a case of one of REPORT_CHANNELS), or None."""
    row = connection.execute(select(Case.__table__).where(Case.instance_id == instance_id)).mappings().first()
    return dict(row) if row and row["channel"] in REPORT_CHANNELS else None


def waiting(connection, limits: dict[str, float], limit: int = 200) -> list[dict]:
    """Reports still waiting for registration that have an open neighbour: [{case, neighbours}], oldest first."""
    reports = [dict(r) for r in connection.execute(select(Case.__table__).where(
        Case.channel.in_(REPORT_CHANNELS), Case.stage == "register").order_by(Case.opened_at).limit(limit)).mappings()]
    return [{"case": case, "neighbours": found} for case in reports if (found := neighbours(connection, case, limits))]


def record_merge(connection, report_case: dict, into: int, actor: str) -> dict:
    """After the report's registration is completed as a duplicate: move its Open311 requests onto ``into`` and write
    ``report.merged`` into ``into``'s timeline. Returns the event's detail."""
    requests = Open311Request.__table__
    instance_id = report_case["instance_id"]
    moved = list(connection.scalars(select(requests.c.id).where(requests.c.instance_id == instance_id)))
    if moved:
        connection.execute(update(requests).where(requests.c.instance_id == instance_id).values(instance_id=into))
    detail = {"from_case": instance_id, "channel": report_case["channel"], "open311_request_ids": moved,
              "address": report_case["address"], "scenario": report_case["scenario"]}
    connection.execute(insert(AuditEvent.__table__).values(instance_id=into, at=clock.now(), actor=actor,
                                                           kind="report.merged", detail=detail))
    return detail
