"""The district dashboard: the indicators of DOMAIN.md for a date range, charts, the overdue list, CSV export."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, jsonify, render_template, request

from engine import DISTRICT_TZ, clock
from engine.exceptions import FormInvalid
from . import access
from .i18n import catalogue, name_of
from .security import engine, requires

bp = Blueprint("dashboard", __name__)
DEFAULT_DAYS = 30
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)


def period(args) -> tuple[datetime, datetime]:
    """[start, end) from ?from=YYYY-MM-DD&to=YYYY-MM-DD (both days included), in the district's time zone."""
    today = clock.now().astimezone(DISTRICT_TZ).date()
    try:
        first = date.fromisoformat(args["from"]) if args.get("from") else today - timedelta(days=DEFAULT_DAYS - 1)
        last = date.fromisoformat(args["to"]) if args.get("to") else today
    except ValueError as err:
        raise FormInvalid("dates are YYYY-MM-DD", {"from": str(err)}) from err
    if last < first:
        raise FormInvalid("the period ends before it starts", {"to": "after from"})
    if first < EARLIEST or last > LATEST:  # past these, moving a day to the district's zone leaves Python's dates
        raise FormInvalid(f"dates are from {EARLIEST} to {LATEST}", {"from": "out of range"})
    return (datetime.combine(first, time(), DISTRICT_TZ),
            datetime.combine(last + timedelta(days=1), time(), DISTRICT_TZ))


def compute(args) -> dict:
    start, end = period(args)
    return engine().indicators.district(start, end, clock.now())


@bp.get("/dashboard")
@requires(*access.DASHBOARD_ROLES)
def dashboard():
    start, end = period(request.args)
    values = compute(request.args)
    teams = list(catalogue()["teams"])
    return render_template("dashboard.html", k=values, first=start.date().isoformat(),
                           last=(end - timedelta(days=1)).date().isoformat(),
                           scenario_names={code: name_of("scenario", code) for code in catalogue()["scenarios"]},
                           team_names={code: name_of("team", code) for code in teams + [f"{t}.lead" for t in teams]})


SUMMARY = ("cases", "due_to_close", "closed", "closed_on_time", "closure_rate", "on_time_closure_rate", "verified",
           "reworked", "rework_rate", "avg_handling_hours", "cases_per_officer_per_day", "officers")


def to_csv(values: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value"])
    for key in SUMMARY:
        writer.writerow(["indicator", key, "" if values[key] is None else values[key]])
    for key in SUMMARY[:-2]:
        writer.writerow(["urgent", key, "" if values["urgent"][key] is None else values["urgent"][key]])
    for section in ("by_stage", "by_scenario"):
        for key, count in values[section].items():
            writer.writerow([section, key, count])
    for section in ("volume_by_channel", "volume_by_scenario"):
        for day, counts in values[section].items():
            for key, count in sorted(counts.items()):
                writer.writerow([section, f"{day} {key}", count])
    for case in values["overdue"]:
        writer.writerow(["overdue", case["instance_id"], case["sla_due_at"].isoformat()])
    return out.getvalue()


@bp.get("/dashboard.csv")
@requires(*access.DASHBOARD_ROLES)
def dashboard_csv():
    start, end = period(request.args)
    body = "\ufeff" + to_csv(compute(request.args))   # the BOM lets spreadsheet programs read the Chinese names
    name = f"jingzhi-indicators-{start.date()}-{(end - timedelta(days=1)).date()}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


#: The source's reported results (DOMAIN.md), drawn as reference lines on the charts.
REFERENCE = {"on_time_closure_rate": 94.21, "cases_per_officer_per_day": 24.55, "avg_handling_hours": (48, 72)}


def _daily_totals(values: dict, start: datetime, days: int) -> list[int]:
    by_day = {day: sum(counts.values()) for day, counts in values["volume_by_channel"].items()}
    return [by_day.get((start.date() + timedelta(days=n)).isoformat(), 0) for n in range(days)]


def charts(args) -> dict:
    """What the dashboard's charts draw: cases a day against the previous period of the same length, cases a day by
    scenario, the three headline indicators now and before with the source's results, each team's backlog."""
    start, end = period(args)
    days = (end - start).days
    before = start - (end - start)
    now = clock.now()
    current = engine().indicators.district(start, end, now)
    previous = engine().indicators.district(before, start, now)
    scenarios = sorted({s for counts in current["volume_by_scenario"].values() for s in counts})
    by_day = current["volume_by_scenario"]
    dates = [(start.date() + timedelta(days=n)).isoformat() for n in range(days)]
    headline = ("on_time_closure_rate", "cases_per_officer_per_day", "avg_handling_hours")
    return {
        "days": dates,
        "opened": _daily_totals(current, start, days),
        "opened_previous": _daily_totals(previous, before, days),
        "previous_first_day": before.date().isoformat(),
        "by_scenario": {s: [by_day.get(day, {}).get(s, 0) for day in dates] for s in scenarios},
        "headline": {k: {"current": current[k], "previous": previous[k]} for k in headline},
        "reference": REFERENCE,
        "teams": engine().maps.team_backlog(now),
    }


@bp.get("/dashboard/charts.json")
@requires(*access.DASHBOARD_ROLES)
def dashboard_charts():
    return jsonify(charts(request.args))
