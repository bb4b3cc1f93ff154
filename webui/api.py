"""The JSON API under /api/v1 (documented in openapi.py, served at /api/v1/openapi.json).

People use it with their session (and the X-CSRF-Token header on writes); machines with a bearer token
(`jingzhi token create`). Same permissions as the pages; errors are {"error": {"code", "message", "details"}}.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from engine import clock
from engine.exceptions import FormInvalid, SearchRefused
from . import access, evidence, inputs, openapi, schema_form
from .audit import rows as audit_rows, search_page as audit_page
from .cases import MAIN_PROCESS, case_scope, report_data, visible_case
from .dashboard import compute
from .database import page_of
from .inbox import inbox_filters
from .security import engine, jobs, requires

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 500


def _json_body() -> dict:
    return inputs.json_object()


def _limit() -> int:
    """``?limit=``: a whole number from 1 to MAX_LIMIT (a page size outside it is a mistake, not a wish)."""
    raw = request.args.get("limit", "100").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= MAX_LIMIT):
        raise FormInvalid(f"limit is a whole number from 1 to {MAX_LIMIT}", {"limit": raw[:40]})
    return int(raw)


def _task(task_id: int) -> dict:
    return access.visible_task(g.user, engine().task(task_id))


@bp.get("/healthz")
def healthz():
    engine().ping()
    return {"status": "ok", "time": clock.now().isoformat()}


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.DOCUMENT)


@bp.get("/tasks")
@requires()
def tasks():
    scope = request.args.get("scope", "all")
    if scope not in ("team", "mine", "all"):
        raise FormInvalid("scope is team, mine or all", {"scope": scope})
    rows = engine().worklist.inbox(g.user["inbox_teams"], g.user["username"], scope,
                                   inbox_filters(request.args), _limit())
    return {"tasks": rows, "count": len(rows)}


@bp.get("/tasks/<int:task_id>")
@requires()
def task(task_id: int):
    return {"task": _task(task_id)}


@bp.post("/tasks/<int:task_id>/claim")
@requires()
def claim(task_id: int):
    _task(task_id)
    engine().claim(task_id, g.user["username"])
    return {"task": engine().task(task_id)}


@bp.post("/tasks/<int:task_id>/unclaim")
@requires()
def unclaim(task_id: int):
    task = _task(task_id)
    engine().unclaim(task_id, g.user["username"], as_lead=access.is_lead_of(g.user, task["team"]))
    return {"task": engine().task(task_id)}


@bp.post("/tasks/<int:task_id>/complete")
@requires()
def complete(task_id: int):
    task = _task(task_id)
    data = _json_body().get("data", {})
    if not isinstance(data, dict):
        raise FormInvalid("data must be a JSON object")
    evidence.check_references(current_app.config["EVIDENCE_DIR"], task["instance_id"],
                              schema_form.file_fields(engine().task_schema(task_id)), data)
    instance_id = engine().complete_task(task_id, data, actor=g.user["username"])
    following = engine().ready_tasks(instance_id=instance_id)
    return {"task": engine().task(task_id), "instance_id": instance_id,
            "next_tasks": [t for t in following if access.can_see_task(g.user, t)],
            "next_teams": sorted({t["team"] for t in following if t["team"]})}


@bp.get("/cases")
@requires()
def cases():
    """The case search of the case list, paged (``page``, ``per_page``)."""
    try:
        search = engine().search.parse_cases(request.args)
    except SearchRefused as refused:
        raise FormInvalid(refused.message, {refused.field: refused.message}) from None
    page = page_of(engine().search.cases(search, **case_scope()), request.args, capped=True)
    rows = [engine().search.case_row(case) for case in page.items]
    return {"cases": rows, "count": len(rows), "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages, "total_capped": page.total_capped}


@bp.get("/audit")
@requires("admin")
def audit():
    """The audit search of the audit page, paged (``page``, ``per_page``); details masked as there."""
    query, page = audit_page(request.args)
    events = audit_rows(page.items)
    return {"events": events, "count": len(events), "page": page.page, "per_page": page.per_page,
            "total": page.total, "pages": page.pages, "total_capped": page.total_capped}


@bp.get("/cases/<int:instance_id>")
@requires()
def case(instance_id: int):
    visible_case(instance_id)
    view = engine().get(instance_id, with_elements=True)
    return {"case": view.case, "instance": {"id": view.id, "process_id": view.process_id, "version": view.version,
                                            "status": view.status, "business_key": view.business_key},
            "tasks": [t for t in view.tasks if access.can_see_task(g.user, t)],
            "completed_elements": view.completed_elements, "active_elements": view.active_elements,
            "history": engine().history(instance_id)}


@bp.post("/cases")
@requires(*access.REPORT_ROLES)
def report():
    instance_id = engine().start(MAIN_PROCESS, report_data(_json_body()), actor=g.user["username"])
    return {"instance_id": instance_id, "case": engine().worklist.case_by_instance(instance_id)}, 201


@bp.post("/alerts")
@requires(*access.ALERT_ROLES)
def alerts():
    """A sensor message, the same payload as over MQTT; stored (or dead-lettered with the reason) before the answer."""
    from sensors.intake import accept_alert

    result = accept_alert(engine(), request.get_data(), source="http", jobs=jobs())
    body = {"status": result.status, "alert_id": result.alert_id, "instance_id": result.instance_id}
    if result.status == "dead_letter":   # kept as a dead letter; ``reason`` is its code (docs/sensors.md)
        message = f"{result.reason}: {result.detail}" if result.detail else result.reason or "rejected"
        return {"error": {"code": "dead_letter", "message": message,
                          "details": {**body, "reason": result.reason}}}, 422
    return body, 202 if result.status == "accepted" else 200


@bp.get("/kpis")
@requires(*access.DASHBOARD_ROLES)
def kpis():
    return compute(request.args)
