"""One problem, one case, across channels: a hotline or resident report near an open case of the same scenario is
put to the dispatcher as "same problem?", and one click merges it into the open case.

``/open311/same`` lists the reports waiting for registration that have such a neighbour; ``/open311/same/<case>``
shows one report beside its neighbours, each with a merge button. Merging completes the report's registration as a
duplicate of the open case (so the report's case ends "not registered: duplicate"), moves the Open311 request onto
the open case (the client now follows the open case's status), and writes ``report.merged`` into the open case's
timeline, so a sensor alarm and a hotline call about the same fire lane end as one case with both sources in it.

How near counts as the same problem is per scenario, in metres: ``JINGZHI_SAME_PROBLEM_METRES`` such as
``fire_lane=30,illegal_dumping=80,default=100`` (the defaults below otherwise).
"""
from __future__ import annotations

import math
import os

from flask import Blueprint, flash, g, redirect, render_template, url_for
from sqlalchemy import insert, select, update

from engine import clock
from engine.exceptions import Conflict, NotFound
from engine.models import AuditEvent, Case, Open311Request
from webui import access
from webui.security import engine, requires

bp = Blueprint("open311_same", __name__, url_prefix="/open311")
#: Metres within which a report is offered as the same problem as an open case: a fire lane or a door is one spot;
#: dumping and street trading spread along a kerb.
DEFAULT_METRES = {"fire_lane": 30, "door_open": 15, "hydrant_pressure": 20, "illegal_dumping": 80,
                  "street_trading": 80, "default": 50}
OPEN_STAGES_EXCLUDED = ("closed", "rejected", "cancelled")
REPORT_CHANNELS = ("hotline", "resident")


def metres() -> dict[str, float]:
    """The distances in force: the defaults, overridden by JINGZHI_SAME_PROBLEM_METRES."""
    found = dict(DEFAULT_METRES)
    for part in (os.environ.get("JINGZHI_SAME_PROBLEM_METRES") or "").split(","):
        name, _, value = part.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            continue   # a malformed entry keeps its default rather than stopping intake
    return found


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    rad = math.radians
    a = (math.sin(rad(lat2 - lat1) / 2) ** 2
         + math.cos(rad(lat1)) * math.cos(rad(lat2)) * math.sin(rad(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _open(query):
    return query.where(Case.closed_at.is_(None), Case.stage.not_in(OPEN_STAGES_EXCLUDED))


def neighbours(case: dict) -> list[dict]:
    """Open cases of ``case``'s scenario within its distance, nearest first (the case itself excluded)."""
    if case.get("lat") is None or case.get("lon") is None:
        return []
    limit = metres().get(case["scenario"], metres()["default"])
    box = limit / 111_000 * 2   # degrees; a generous box so the index does the rough cut
    query = _open(select(Case.__table__).where(
        Case.scenario == case["scenario"], Case.instance_id != case["instance_id"],
        Case.lat.between(case["lat"] - box, case["lat"] + box), Case.lon.between(case["lon"] - box, case["lon"] + box)))
    rows = engine().query(lambda connection: [dict(r) for r in connection.execute(query.limit(200)).mappings()])
    for row in rows:
        row["distance_m"] = round(distance_m(case["lat"], case["lon"], row["lat"], row["lon"]))
    return sorted((r for r in rows if r["distance_m"] <= limit), key=lambda r: r["distance_m"])


def _report(instance_id: int) -> dict:
    def read(connection):
        return connection.execute(select(Case.__table__).where(Case.instance_id == instance_id)).mappings().first()
    case = engine().query(read)
    if case is None or case["channel"] not in REPORT_CHANNELS:
        raise NotFound(f"case {instance_id} is not a hotline or resident report")
    return dict(case)


def _register_task(instance_id: int) -> dict | None:
    return next((t for t in engine().ready_tasks(instance_id=instance_id) if t["bpmn_id"] == "register"), None)




@bp.get("/same")
@requires(*access.REPORT_ROLES)
def waiting():
    """Reports still waiting for registration that have an open neighbour of the same scenario."""
    def read(connection):
        return [dict(r) for r in connection.execute(select(Case.__table__).where(
            Case.channel.in_(REPORT_CHANNELS), Case.stage == "register").order_by(Case.opened_at).limit(200)
        ).mappings()]
    items = [{"case": case, "neighbours": found} for case in engine().query(read) if (found := neighbours(case))]
    return render_template("open311_same.html", items=items)


@bp.get("/same/<int:instance_id>")
@requires(*access.REPORT_ROLES)
def one(instance_id: int):
    case = _report(instance_id)
    return render_template("open311_same.html", items=[{"case": case, "neighbours": neighbours(case)}])


@bp.post("/same/<int:instance_id>/merge/<int:into>")
@requires(*access.REPORT_ROLES)
def merge(instance_id: int, into: int):
    case = _report(instance_id)
    if into not in {n["instance_id"] for n in neighbours(case)}:
        raise Conflict(f"case {into} is not an open case of the same scenario near #{instance_id}", {"into": into})
    register = _register_task(instance_id)
    if register is None:
        raise Conflict(f"case {instance_id} is no longer waiting for registration")
    engine().complete_task(register["id"], {"decision": "duplicate", "duplicate_of": str(into),
                                            "reason": f"同一问题，已并入案件 #{into}"}, actor=g.user["username"])
    requests = Open311Request.__table__
    with engine().store.begin() as connection:
        moved = list(connection.scalars(select(requests.c.id).where(requests.c.instance_id == instance_id)))
        connection.execute(update(requests).where(requests.c.instance_id == instance_id).values(instance_id=into))
        connection.execute(insert(AuditEvent.__table__).values(
            instance_id=into, at=clock.now(), actor=g.user["username"], kind="report.merged",
            detail={"from_case": instance_id, "channel": case["channel"], "open311_request_ids": moved,
                    "address": case["address"]}))
    flash(f"#{instance_id} → #{into}", "ok")
    return redirect(url_for("cases.case", instance_id=into))
