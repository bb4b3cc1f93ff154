"""Patrol reports (巡查上报) from a grid worker's phone: ``/patrol``, a page that works 390 px wide.

The worker picks the scenario, takes a photo with the camera, lets the browser give the location (or picks the
place on the map) and adds a note; the report becomes a case with channel ``patrol`` and the photo as its evidence.
Members of the patrol teams (``access.PATROL_TEAMS``), dispatchers and admins may report. Every field is checked on
the server (integrations/field_reports.py); a refused report comes back with each field's reason (422).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.exceptions import FormInvalid
from sensors import district
from webui import access, evidence
from webui.i18n import catalogue
from webui.security import Forbidden, engine, requires

from . import field_reports as reports

bp = Blueprint("patrol", __name__)
LOCATION_SOURCES = ("gps", "map")


@bp.app_context_processor
def patrol_helpers():
    return {"may_report_patrol": lambda: access.may_report_patrol(g.get("user"))}


def _allowed() -> None:
    if not access.may_report_patrol(g.user):
        raise Forbidden(f"patrol reports are made by members of {', '.join(access.PATROL_TEAMS)}, dispatchers "
                        "and admins")


def _page(values: dict, errors: dict, status: int = 200):
    config = {"bounds": district.BOUNDS, "centre": district.CENTRE, "tile_url": current_app.config.get("TILE_URL", ""),
              "tile_attribution": current_app.config.get("TILE_ATTRIBUTION", "")}
    return render_template("patrol.html", values=values, errors=errors, map_config=config), status


@bp.get("/patrol")
@requires()
def form():
    _allowed()
    return _page({}, {})


def parse(form, files, max_bytes: int) -> tuple[dict, tuple[bytes, str]]:
    """Start data and the photo of a patrol report; raises FormInvalid with every field's reason."""
    errors: dict = {}
    scenario = reports.check_scenario(form.get("scenario"), catalogue()["scenarios"], errors)
    lat, lon = reports.number(form.get("lat"), "lat", errors), reports.number(form.get("lon"), "lon", errors)
    reports.check_place(lat, lon, errors)
    note = reports.text(form.get("note"), "note", reports.MAX_NOTE, errors)
    address = reports.text(form.get("address"), "address", reports.MAX_ADDRESS, errors)
    source = form.get("location_source") or "map"
    if source not in LOCATION_SOURCES:
        errors["location"] = _("the location comes from the phone (gps) or the map")
    accuracy = reports.number(form.get("accuracy"), "accuracy", errors)
    photo = None
    upload = files.get("photo")
    if upload is None or not upload.filename:
        errors["photo"] = _("take a photo of the problem")
    else:
        content = upload.read(max_bytes + 1)
        try:
            photo = (content, evidence.check(content, max_bytes, upload.filename, "photo"))
        except FormInvalid as refused:
            errors.update(refused.details)
    reports.refuse(errors)
    data = {"scenario": scenario, "channel": "patrol", "lat": lat, "lon": lon,
            "address": address or f"{lat:.6f},{lon:.6f}", "location_source": source}
    if note:
        data["description"] = note
    if accuracy is not None and accuracy >= 0:
        data["location_accuracy_m"] = round(accuracy, 1)
    return data, photo


@bp.post("/patrol")
@requires()
def report():
    _allowed()
    try:
        data, photo = parse(request.form, request.files, current_app.config["EVIDENCE_MAX_BYTES"])
    except FormInvalid as invalid:
        return _page(request.form, invalid.details, 422)
    data["reporter"] = g.user["username"]
    instance_id = reports.open_case(engine(), current_app.config["EVIDENCE_DIR"], data, photo,
                                    actor=g.user["username"])
    flash(_("Patrol report sent: case #%(id)s", id=instance_id), "ok")
    if access.is_district(g.user):
        return redirect(url_for("cases.case", instance_id=instance_id))
    return redirect(url_for("patrol.form", sent=instance_id))
