"""Open311 GeoReport v2 under /open311/v2: the 12345 hotline platform and resident apps file and follow reports.

Routes end in ``.json`` or ``.xml``. ``POST requests`` is form-encoded, as the specification says, and needs an
``api_key`` of a client system (``jingzhi open311 key create CLIENT``); the client's channel (hotline or resident)
becomes the case's channel. Reads need no key, as in the specification, and never show the reporter's contact.
The call-back team reads the contact at ``/open311/contacts/<case>`` (``open311_contacts``).
Errors are the specification's ``errors`` document with a fitting 4xx status.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException

from engine import clock
from engine.exceptions import JingzhiError, NotFound

from . import open311_keys as keys
from . import open311_services as catalogue
from .open311_format import FORMATS, error, render, w3c

log = logging.getLogger(__name__)
bp = Blueprint("open311", __name__, url_prefix="/open311")
MAIN_PROCESS = "closed_loop"
#: GeoReport v2: a search spans at most 90 days, and the most recent 90 days when no dates are given.
MAX_SPAN = timedelta(days=90)
MAX_DESCRIPTION = 4000       # the specification's limit
MAX_RESULTS = 1000
MAX_ID = 2**31 - 1          # the id column is a 32-bit integer on PostgreSQL
CLOSED_STAGES = ("closed", "rejected", "cancelled")
STAGE_NOTES = {"discover": "已受理", "register": "待立案", "dispatch": "待派单", "handle": "处置中", "verify": "待核查",
               "evaluate": "待回访", "closed": "已结案", "rejected": "不予立案", "cancelled": "已撤销"}


def _engine():
    return current_app.extensions["jingzhi_engine"]


class Refused(Exception):
    """A request the specification answers with an error document."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Refused(400, f"unknown format '{fmt}': use .json or .xml")
    return fmt


@bp.errorhandler(Refused)
def refused(err: Refused):
    return error(request.view_args.get("fmt", "json") if request.view_args else "json", err.status, err.description)


@bp.errorhandler(JingzhiError)
def engine_error(err: JingzhiError):
    status = 404 if isinstance(err, NotFound) else 400
    detail = "; ".join(f"{k}: {v}" for k, v in (err.details or {}).items()) if isinstance(err.details, dict) else ""
    return error((request.view_args or {}).get("fmt", "json"), status, err.message + (f" ({detail})" if detail else ""))


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    return error((request.view_args or {}).get("fmt", "json"), err.code or 400, err.description or err.name)


# -- services ------------------------------------------------------------------------------------------------------
@bp.get("/v2/services.<fmt>")
def services(fmt: str):
    return render(_format(fmt), "services", catalogue.services())


@bp.get("/v2/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    _format(fmt)
    found = catalogue.definition(code)
    if found is None:
        raise Refused(404, f"no service '{code}'")
    return render(fmt, "service_definition", found)


# -- filing a request ----------------------------------------------------------------------------------------------
def _float(name: str, low: float, high: float) -> float | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Refused(400, f"{name} must be a number") from None
    if not low <= value <= high:
        raise Refused(400, f"{name} must be between {low} and {high}")
    return value


def _field(name: str, limit: int) -> str | None:
    value = (request.form.get(name) or "").strip()
    if "\x00" in value:   # PostgreSQL text cannot hold it; refuse rather than fail later
        raise Refused(400, f"{name} contains a NUL character")
    if len(value) > limit:
        raise Refused(400, f"{name} is longer than {limit} characters")
    return value or None


def _attributes() -> dict[str, list[str]]:
    given: dict[str, list[str]] = {}
    for name in request.form:
        if name.startswith("attribute[") and "]" in name:
            code = name[len("attribute["):name.index("]")]
            given[code] = request.form.getlist(name)
            if any("\x00" in value for value in given[code]):
                raise Refused(400, f"{name} contains a NUL character")
    return given


@bp.post("/v2/requests.<fmt>")
def file_request(fmt: str):
    _format(fmt)
    client = _engine().open311.client_for_key(request.form.get("api_key") or request.args.get("api_key"))
    if client is None:
        raise Refused(403, "api_key is missing, unknown or revoked")
    code = (request.form.get("service_code") or "").strip()
    if not code:
        raise Refused(400, "service_code is required")
    if code not in catalogue.scenarios():
        raise Refused(404, f"no service '{code}'")
    lat, lon = _float("lat", -90, 90), _float("long", -180, 180)
    if (lat is None) != (lon is None):
        raise Refused(400, "lat and long are given together")
    address = _field("address_string", 300) or _field("address_id", 300)
    if lat is None and not address:
        raise Refused(400, "a location is required: lat and long, address_string or address_id")
    media_url = _field("media_url", 1000)
    if media_url and not media_url.startswith(("http://", "https://")):
        raise Refused(400, "media_url must be an http(s) URL")
    answers = catalogue.check_attributes(code, _attributes())
    contact = {k: v for k in ("first_name", "last_name", "phone", "email") if (v := _field(k, 120))}
    values = {"service_code": code, "description": _field("description", MAX_DESCRIPTION), "address": address,
              "lat": lat, "lon": lon, "media_url": media_url, "attributes": answers, "contact": contact}
    request_id = _engine().open311.record_request(client["id"], values)
    data = {"scenario": code, "channel": client["channel"], "severity": catalogue.severity(code, answers),
            "address": address or f"{lat:.6f},{lon:.6f}", "reported_at": clock.now().isoformat(),
            "open311_request_id": request_id, "open311_client": client["name"]}
    data.update({k: v for k, v in (("lat", lat), ("lon", lon), ("description", values["description"]),
                                   ("media_url", media_url), ("attributes", answers or None),
                                   ("reporter", keys.mask_contact(contact))) if v is not None})
    try:
        instance_id = _engine().start(MAIN_PROCESS, data, business_key=f"open311-{request_id}",
                                      actor=f"open311:{client['name']}")
    except JingzhiError as failed:   # kept: the request row holds everything to start it again
        log.error("open311 request %s is kept but its case did not start: %s", request_id, failed.message)
        raise Refused(503, f"request {request_id} was received but its case could not start yet: "
                           f"{failed.message}") from None
    _engine().open311.link_instance(request_id, instance_id)
    log.info("open311 request %s from %s opened case %s", request_id, client["name"], instance_id)
    return render(fmt, "service_requests", [{"service_request_id": str(request_id),
                                             "service_notice": catalogue.NOTICE, "account_id": None}], 201)


# -- reading requests back -----------------------------------------------------------------------------------------
def _moment(name: str) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)  # Python 3.11 reads a trailing Z
    except ValueError:
        raise Refused(400, f"{name} must be a W3C date-time such as 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise Refused(400, f"{name} needs its zone (Z or +08:00)")
    return moment


def _view(row: dict, case: dict | None, teams: list[str]) -> dict:
    service = catalogue.scenarios().get(row["service_code"], {})
    stage = case["stage"] if case else "discover"
    closed = bool(case) and (stage in CLOSED_STAGES or case.get("closed_at") is not None)
    notes = STAGE_NOTES.get(stage, stage)
    if closed and case.get("outcome"):
        notes += f"：{case['outcome']}"
    updated = case.get("closed_at") if case and case.get("closed_at") else None
    if case and updated is None:
        times = [datetime.fromisoformat(t) for t in (case.get("stage_times") or {}).values()]
        updated = max([*times, case["opened_at"]])
    return {
        "service_request_id": str(row["id"]), "status": "closed" if closed else "open", "status_notes": notes,
        "service_name": service.get("name_zh"), "service_code": row["service_code"], "description": row["description"],
        "agency_responsible": "、".join(catalogue.team_name(t) for t in teams) or "城市运行管理中心",
        "service_notice": catalogue.NOTICE, "requested_datetime": w3c(row["requested_at"]),
        "updated_datetime": w3c(updated or row["requested_at"]),
        "expected_datetime": w3c(case.get("sla_due_at")) if case else None,
        "address": row["address"], "address_id": None, "zipcode": None, "lat": row["lat"], "long": row["lon"],
        "media_url": row["media_url"],
    }


def _views(rows: list[dict]) -> list[dict]:
    cases, teams = _engine().open311.cases_of([r["instance_id"] for r in rows if r["instance_id"]])
    return [_view(r, cases.get(r["instance_id"]), teams.get(r["instance_id"], [])) for r in rows]


@bp.get("/v2/requests.<fmt>")
def list_requests(fmt: str):
    _format(fmt)
    raw_ids = (request.args.get("service_request_id") or "").strip()
    if raw_ids:  # the specification: a list of ids overrides every other filter
        try:
            ids = [int(i) for i in raw_ids.split(",") if i.strip()]
        except ValueError:
            raise Refused(400, "service_request_id is a comma-separated list of numbers") from None
        if len(ids) > MAX_RESULTS:
            raise Refused(400, f"at most {MAX_RESULTS} service_request_id values at once")
        ids = [i for i in ids if 0 < i <= MAX_ID]   # larger numbers name no request (and overflow the column)
        return render(fmt, "service_requests", _views(_engine().open311.requests(ids=ids)))
    start, end = _moment("start_date"), _moment("end_date")
    if start and end and end - start > MAX_SPAN:
        raise Refused(400, "start_date and end_date may not span more than 90 days")
    if start is None and end is None:
        start = clock.now() - MAX_SPAN
    statuses = {s.strip() for s in (request.args.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Refused(400, "status is open, closed or both (comma-separated)")
    codes = [c.strip() for c in (request.args.get("service_code") or "").split(",") if c.strip()]
    rows = _engine().open311.requests(service_codes=codes, start=start, end=end, limit=MAX_RESULTS)
    views = [v for v in _views(rows) if not statuses or v["status"] in statuses]
    return render(fmt, "service_requests", views)


@bp.get("/v2/requests/<int:request_id>.<fmt>")
def one_request(request_id: int, fmt: str):
    _format(fmt)
    rows = _engine().open311.requests(ids=[request_id]) if request_id <= MAX_ID else []
    if not rows:
        raise Refused(404, f"no service request {request_id}")
    return render(fmt, "service_requests", _views(rows))
