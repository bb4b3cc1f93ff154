"""The command centre (综合指挥中心): a live map of the district, hot spots, the device registry and dead letters.

Pages: ``/command`` (the map; ``?wall=1`` for the wall screen: full screen, refreshing itself, no controls),
``/devices`` and ``/devices/<id>`` (the registry and one device), ``/dead-letters`` (refused input, admins only).
The map reads JSON from ``/command/devices.json`` (where the devices are, cached until the registry
changes), ``/command/map.json`` (which devices are not online, and the open cases), ``/command/heat.json`` (cases per place over
a period), ``/command/feed.json`` (new alarms, cases and escalations after a cursor; the page polls it) and draws the
district's own GeoJSON (``/command/district.geojson``) as the offline basemap. Every route checks the caller's roles.

Base tiles: ``JINGZHI_TILE_URL`` (a Leaflet URL template such as OpenStreetMap's, AMap's or Tianditu's) and
``JINGZHI_TILE_CRS`` (``wgs84``, the default, or ``gcj02`` for providers drawing China's shifted coordinates: the page
then shifts every point it draws with gcoord). Without a tile URL only the offline basemap is drawn.
"""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from engine import OPEN_STAGES, clock
from engine.exceptions import FormInvalid, NotFound
from sensors import district
from . import access
from .dashboard import period
from .database import page_of
from .i18n import catalogue, name_of
from .security import engine, requires

bp = Blueprint("command", __name__)
#: Who sees the command centre and the device registry (dead letters: admins only).
COMMAND_ROLES = access.DASHBOARD_ROLES
TILE_CRS = ("wgs84", "gcj02")
#: Seconds between the live feed's polls, and between the wall screen's full refreshes of the map.
FEED_SECONDS, WALL_REFRESH_SECONDS = 5, 60


@bp.record_once
def configure(state) -> None:
    app = state.app
    app.config.setdefault("TILE_URL", os.environ.get("JINGZHI_TILE_URL", ""))
    app.config.setdefault("TILE_CRS", os.environ.get("JINGZHI_TILE_CRS", "wgs84").lower())
    app.config.setdefault("TILE_ATTRIBUTION", os.environ.get("JINGZHI_TILE_ATTRIBUTION", ""))
    if app.config["TILE_CRS"] not in TILE_CRS:
        raise ValueError(f"JINGZHI_TILE_CRS is {app.config['TILE_CRS']!r}; it is one of {', '.join(TILE_CRS)}")


def _bbox(args) -> tuple[float, float, float, float] | None:
    """``?bbox=south,west,north,east`` in WGS-84 degrees, or None."""
    raw = args.get("bbox")
    if not raw:
        return None
    try:
        south, west, north, east = (float(v) for v in raw.split(","))
    except ValueError as err:
        raise FormInvalid("bbox is south,west,north,east in degrees", {"bbox": raw}) from err
    if not (-90 <= south <= north <= 90 and -180 <= west <= east <= 180):
        raise FormInvalid("bbox is south,west,north,east with south <= north and west <= east", {"bbox": raw})
    return south, west, north, east


def _choice(args, name: str, allowed) -> str | None:
    value = args.get(name) or None
    if value is not None and value not in allowed:
        raise FormInvalid(f"unknown {name}", {name: value})
    return value


def _labels() -> dict:
    """The words command.js shows, in the page's language."""
    return {"online": _("Online"), "offline": _("Offline"), "alarming": _("Alarming"), "unknown": _("Not seen yet"),
            "overdue": _("Overdue"), "alarm": _("New alarm"), "case": _("New case"), "escalation": _("Escalation"),
            "device": _("Device"), "open_case": _("Open case"), "cases": _("cases"), "nothing": _("Nothing new yet"),
            "stages": {s: name_of("stage", s) for s in OPEN_STAGES},
            "scenarios": {code: name_of("scenario", code) for code in catalogue()["scenarios"]}}


@bp.get("/command")
@requires(*COMMAND_ROLES)
def command():
    first, last = period(request.args)
    config = current_app.config
    return render_template(
        "command.html", wall=request.args.get("wall") == "1", first=first.date().isoformat(),
        last=(last - timedelta(days=1)).date().isoformat(), scenarios=sorted(catalogue()["scenarios"]),
        channels=catalogue()["channels"], labels=_labels(), stages=OPEN_STAGES,
        map_config={"tile_url": config["TILE_URL"], "tile_crs": config["TILE_CRS"],
                    "tile_attribution": config["TILE_ATTRIBUTION"], "centre": district.CENTRE,
                    "bounds": district.BOUNDS, "feed_seconds": FEED_SECONDS,
                    "wall_refresh_seconds": WALL_REFRESH_SECONDS})


@bp.get("/command/district.geojson")
@requires(*COMMAND_ROLES)
def district_geojson():
    response = current_app.response_class(current_app.json.dumps(_district()), mimetype="application/geo+json")
    response.cache_control.max_age = 3600
    return response


_GEOJSON: dict = {}


def _district() -> dict:
    if not _GEOJSON:
        _GEOJSON.update(district.geojson())
    return _GEOJSON


@bp.get("/command/devices.json")
@requires(*COMMAND_ROLES)
def device_positions():
    """Where every device is: ``rows`` of ``[id, lat, lon, scenario, device_type]``. It changes only when the registry
    does, so the answer is kept (here and, by its ETag, in the browser) until the registry's version changes."""
    version = engine().maps.registry_version()
    if request.if_none_match.contains(version):
        return current_app.response_class(status=304, headers={"ETag": f'"{version}"'})
    kept = current_app.extensions.setdefault("jingzhi_device_positions", {})
    if kept.get("version") != version:
        answer = engine().maps.device_positions()
        kept.update(version=answer["version"], body=current_app.json.dumps(answer))
    response = current_app.response_class(kept["body"], mimetype="application/json")
    response.set_etag(kept["version"])
    response.cache_control.no_cache = True        # always revalidate: a new import shows at once
    return response


@bp.get("/command/map.json")
@requires(*COMMAND_ROLES)
def map_data():
    """The map's moving parts: the ids of devices not online (by state) and the open cases (rows of
    ``case_columns``), cut to ``?bbox=`` and to ``?scenario=`` / ``?channel=``; ``registry`` is the version of
    ``/command/devices.json`` they go with."""
    bbox = _bbox(request.args)
    scenario = _choice(request.args, "scenario", catalogue()["scenarios"])
    channel = _choice(request.args, "channel", catalogue()["channels"])
    answer = engine().maps.map_state(clock.now(), bbox=bbox, scenario=scenario, channel=channel)
    return jsonify({"now": clock.now(), **answer})


@bp.get("/command/heat.json")
@requires(*COMMAND_ROLES)
def heat():
    """Cases opened in ``?from=`` .. ``?to=`` (days, both included) per place: ``[[lat, lon, count], ...]``."""
    start, end = period(request.args)
    if not engine().maps.heat_period_ok(start, end):
        raise FormInvalid(f"the heat map covers at most {engine().maps.HEAT_MAX_DAYS} days", {"from": "too early"})
    scenario = _choice(request.args, "scenario", catalogue()["scenarios"])
    points = engine().maps.heat(start, end, scenario=scenario, bbox=_bbox(request.args))
    return jsonify({"from": start, "to": end, "scenario": scenario, "points": points,
                    "max": max((p[2] for p in points), default=0)})


@bp.get("/command/feed.json")
@requires(*COMMAND_ROLES)
def feed():
    """What happened after the cursor (``?alarm=&case=&task=``, ids); without one, the latest few of each."""
    try:
        cursor = {k: int(request.args[k]) for k in ("alarm", "case", "task") if request.args.get(k)}
    except ValueError as err:
        raise FormInvalid("the cursor is ids: alarm, case, task", {"cursor": str(err)}) from err
    if len(cursor) < 3:
        cursor = {**engine().maps.feed_cursor(), **cursor}
    return jsonify(engine().maps.feed(cursor))


@bp.get("/devices")
@requires(*COMMAND_ROLES)
def devices():
    filters = {k: request.args.get(k) or None for k in ("device_type", "compound", "state")}
    if filters["state"] not in (None, "online", "offline", "unknown"):
        raise FormInvalid("state is online, offline or unknown", {"state": filters["state"]})
    page = page_of(engine().maps.devices(**filters), request.args)
    return render_template("devices.html", page=page, filters=filters, choices=engine().maps.device_choices(),
                           kept={k: v for k, v in filters.items() if v})


@bp.get("/devices/<device_id>")
@requires(*COMMAND_ROLES)
def device(device_id: str):
    found = engine().maps.device(device_id)
    if found is None:
        raise NotFound(f"device {device_id} does not exist")
    return render_template("device.html", d=found, now=clock.now())


@bp.get("/dead-letters")
@requires("admin")
def dead_letters():
    reason = request.args.get("reason") or None
    page = page_of(engine().maps.dead_letters(reason), request.args, capped=True)
    return render_template("dead_letters.html", page=page, reasons=engine().maps.dead_letter_reasons(), reason=reason)
