"""Reports from the field: a grid worker's patrol report (``patrol``) and a video-analytics event (``video``).

Both carry a scenario, a place in the district and a photo; both become a closed-loop case that waits for the
command centre's registration (where "same problem?" offers to merge it into an open case nearby,
engine/same_problem.py), with the photo stored as the case's evidence (webui/evidence.py) and an
``evidence.received`` event in its timeline. The checks here are plain functions of plain values, so the patrol page
and the video API refuse the same things with the same reasons.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from flask_babel import gettext as _

from engine import clock
from engine.exceptions import FormInvalid
from sensors import district
from webui import evidence

log = logging.getLogger(__name__)
MAIN_PROCESS = "closed_loop"
MAX_NOTE = 2000
MAX_ADDRESS = 300
#: A report's time may run this far ahead of the server's clock (a phone's or camera's clock drifts), no more.
CLOCK_SKEW = timedelta(minutes=5)
#: Reports older than this are refused: a week-old event is history, not a case to dispatch.
MAX_AGE = timedelta(days=7)


def number(raw, name: str, errors: dict) -> float | None:
    """A finite number from a form field or JSON value, or None when absent; a reason in ``errors`` otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        errors[name] = _("a number is expected")
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[name] = _("a number is expected")
        return None
    if not math.isfinite(value):
        errors[name] = _("a number is expected")
        return None
    return value


def check_place(lat: float | None, lon: float | None, errors: dict) -> None:
    """Both coordinates, inside the district's bounds (WGS-84)."""
    if "lat" in errors or "lon" in errors:
        return
    if lat is None or lon is None:
        errors["location"] = _("the location is required: allow the phone's location or pick the place on the map")
        return
    south, west, north, east = district.BOUNDS
    if not (south <= lat <= north and west <= lon <= east):
        errors["location"] = _("%(lat).5f, %(lon).5f is outside the sub-district (%(south).3f-%(north).3f N, "
                               "%(west).3f-%(east).3f E)", lat=lat, lon=lon, south=south, north=north, west=west,
                               east=east)


def text(raw, name: str, longest: int, errors: dict) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        errors[name] = _("text is expected")
        return None
    value = raw.strip()
    if "\x00" in value:
        errors[name] = _("contains a NUL character")
    elif len(value) > longest:
        errors[name] = _("longer than %(count)s characters", count=longest)
    return value or None


def check_scenario(code, scenarios: dict, errors: dict, name: str = "scenario") -> str | None:
    if not code:
        errors[name] = _("choose a scenario")
        return None
    if not isinstance(code, str) or code not in scenarios:
        errors[name] = _("not a scenario of the district: %(code)s", code=str(code)[:80])
        return None
    return code


def check_time(raw, errors: dict, name: str = "occurred_at") -> datetime | None:
    """An ISO 8601 time with its zone, not in the future (beyond clock skew) nor older than MAX_AGE."""
    if not isinstance(raw, str) or not raw.strip():
        errors[name] = _("a time such as 2026-01-05T09:00:00+08:00 is required")
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        errors[name] = _("not a time such as 2026-01-05T09:00:00+08:00")
        return None
    if moment.tzinfo is None:
        errors[name] = _("the time needs its zone (Z or +08:00)")
        return None
    now = clock.now()
    if moment > now + CLOCK_SKEW:
        errors[name] = _("the time is in the future")
    elif moment < now - MAX_AGE:
        errors[name] = _("the time is more than 7 days ago")
    return moment


def refuse(errors: dict) -> None:
    if errors:
        raise FormInvalid(_("The report has %(count)s error(s)", count=len(errors)), errors)


def open_case(engine, evidence_dir: str, data: dict, photo: tuple[bytes, str] | None, actor: str,
              business_key: str | None = None) -> int:
    """Start the closed loop for a checked report and store its photo (content, kind from evidence.check) as the
    case's evidence. Returns the case's instance id."""
    data = {"severity": "medium", **data, "reported_at": data.get("reported_at") or clock.now().isoformat()}
    instance_id = engine.start(MAIN_PROCESS, data, business_key=business_key, actor=actor)
    if photo is not None:
        ref = evidence.save(evidence_dir, instance_id, *photo)
        engine.record(instance_id, "evidence.received", {"channel": data["channel"], "files": [ref]}, actor=actor)
    log.info("%s report by %s opened case %s", data["channel"], actor, instance_id)
    return instance_id
