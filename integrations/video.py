"""Video analytics events: ``POST /api/v1/video/events`` (documented in webui/openapi.py).

A video system posts an event with a snapshot (base64 in JSON): its own ``event_id``, the ``camera_id``, the
``event_type`` (mapped to a scenario by ``EVENT_SCENARIOS``, or a scenario code itself), when it happened, and where:
``lat``/``lon``, or else the camera's registered place in the device registry. The event becomes a case with channel
``video`` and the snapshot as its evidence. A repeated ``event_id`` is a no-op that answers the first one's case.

Authentication is the API's: a bearer token (``jingzhi token create USER``) of a dispatcher or admin, as the sensor
HTTP intake (``POST /api/v1/alerts``) takes, since a video system is one more machine reporting to the command centre.
"""
from __future__ import annotations

import base64
import binascii
import logging

from flask import Blueprint, current_app, g
from flask_babel import gettext as _
from werkzeug.exceptions import ServiceUnavailable

from engine.exceptions import FormInvalid, JingzhiError
from webui import access, evidence, inputs
from webui.i18n import catalogue
from webui.security import engine, requires

from . import field_reports as reports

log = logging.getLogger(__name__)
bp = Blueprint("video", __name__, url_prefix="/api/v1/video")
#: Event types of the usual video-analytics products, by the scenario they report. A scenario code is taken as is.
EVENT_SCENARIOS = {
    "garbage_dumping": "illegal_dumping", "road_stacking": "illegal_dumping", "littering": "illegal_dumping",
    "vehicle_on_fire_lane": "fire_lane", "fire_lane_occupied": "fire_lane",
    "street_vending": "street_trading", "out_of_store_trading": "street_trading",
    "door_left_open": "door_open",
}
IMAGE_KINDS = ("jpg", "png", "gif", "webp")


def scenario_of(event_type: str, scenarios: dict) -> str | None:
    if event_type in scenarios:
        return event_type
    return EVENT_SCENARIOS.get(event_type)


def parse(body: dict, max_bytes: int) -> tuple[dict, tuple[bytes, str]]:
    """The event's record, its case's start data and its snapshot; FormInvalid with every field's reason."""
    errors: dict = {}
    event_id = reports.text(body.get("event_id"), "event_id", 120, errors)
    camera_id = reports.text(body.get("camera_id"), "camera_id", 80, errors)
    event_type = reports.text(body.get("event_type"), "event_type", 80, errors)
    for name, value in (("event_id", event_id), ("camera_id", camera_id), ("event_type", event_type)):
        if value is None:
            errors.setdefault(name, _("required"))
    scenario = None
    if event_type and "event_type" not in errors:
        scenario = scenario_of(event_type, catalogue()["scenarios"])
        if scenario is None:
            errors["event_type"] = _("not an event type of the district: %(type)s (known: %(known)s)",
                                     type=event_type, known=", ".join(sorted({*EVENT_SCENARIOS,
                                                                             *catalogue()["scenarios"]})))
    occurred = reports.check_time(body.get("occurred_at"), errors)
    description = reports.text(body.get("description"), "description", reports.MAX_NOTE, errors)
    lat, lon = reports.number(body.get("lat"), "lat", errors), reports.number(body.get("lon"), "lon", errors)
    camera = engine().devices.registered(camera_id) if camera_id and "camera_id" not in errors else None
    address = None
    if lat is None and lon is None and not ({"lat", "lon"} & errors.keys()):
        if camera and camera["lat"] is not None and camera["lon"] is not None:
            lat, lon, address = camera["lat"], camera["lon"], camera["address"]
        else:
            errors["location"] = _("send lat and lon: camera %(camera)s has no registered place",
                                   camera=str(camera_id)[:80])
    if "location" not in errors:
        reports.check_place(lat, lon, errors)
    photo = None
    raw = body.get("snapshot")
    if not isinstance(raw, str) or not raw.strip():
        errors["snapshot"] = _("the snapshot image is required (base64)")
    elif len(raw) > (max_bytes * 4) // 3 + 8:
        errors["snapshot"] = _("the snapshot is larger than %(mb)s MB", mb=max_bytes // (1024 * 1024))
    else:
        try:
            content = base64.b64decode(raw.strip(), validate=True)
            kind = evidence.check(content, max_bytes, "snapshot", "snapshot")
            if kind not in IMAGE_KINDS:
                errors["snapshot"] = _("the snapshot is a JPEG, PNG, GIF or WebP image")
            else:
                photo = (content, kind)
        except (binascii.Error, ValueError):
            errors["snapshot"] = _("the snapshot is not base64")
        except FormInvalid as refused:
            errors.update(refused.details)
    reports.refuse(errors)
    data = {"scenario": scenario, "channel": "video", "lat": lat, "lon": lon, "camera_id": camera_id,
            "video_event_id": event_id, "video_event_type": event_type, "reported_at": occurred.isoformat(),
            "address": address or (camera or {}).get("address") or f"{lat:.6f},{lon:.6f}"}
    if camera and camera.get("compound"):
        data["compound"] = camera["compound"]
    if description:
        data["description"] = description
    event = {"event_id": event_id, "camera_id": camera_id, "event_type": event_type, "occurred_at": occurred}
    return {"event": event, "data": data}, photo


def _answer(status: str, event_id: str, instance_id: int | None, code: int):
    return {"status": status, "event_id": event_id, "instance_id": instance_id}, code


@bp.post("/events")
@requires(*access.ALERT_ROLES)
def post_event():
    body = inputs.json_object()
    if isinstance(body.get("event_id"), str) and (known := engine().video.known(body["event_id"].strip())):
        return _answer("duplicate", known["event_id"], known["instance_id"], 200)   # before the checks: a no-op
    parsed, photo = parse(body, current_app.config["EVIDENCE_MAX_BYTES"])
    event = parsed["event"]
    if not engine().video.record(event):   # the same event posted twice at once: the other request opens the case
        known = engine().video.known(event["event_id"])
        return _answer("duplicate", event["event_id"], known["instance_id"] if known else None, 200)
    try:
        instance_id = reports.open_case(engine(), current_app.config["EVIDENCE_DIR"], parsed["data"], photo,
                                        actor=g.user["username"], business_key=f"video/{event['event_id']}")
    except JingzhiError as failed:   # forget the event so that posting it again starts the case
        engine().video.forget(event["event_id"])
        log.error("video event %s: case did not start: %s", event["event_id"], failed.message)
        raise ServiceUnavailable(f"event {event['event_id']} could not open a case yet: {failed.message}") from None
    engine().video.link(event["event_id"], instance_id)
    return _answer("created", event["event_id"], instance_id, 201)
