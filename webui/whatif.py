"""The designer's what-if page: "what would this version have done last month?"

A designer picks B (a process version or their draft, another routing table, a staffing plan: officers per team
scaled), the period (the days this database recorded, or a simulated stream of the district when it recorded too
little) and the number of seeds, and starts a run. The run is stored (``Engine.whatif_runs``) and handed to the job
runner (``Jobs.long_running``: an RQ worker, or the web process's background thread on embedded defaults), never run
in the request; its page shows the progress and then the comparison ``simulation.whatif.compare`` made.

Designers and admins only. This module validates the form, asks for the run and renders; the comparison is
``simulation/whatif.py``'s, the job ``simulation/jobs.py``.
"""
from __future__ import annotations

import functools
import json
import math
from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock
from engine.exceptions import Message
from simulation.jobs import run_whatif
from simulation.run import load_params
from simulation.whatif import BETTER, INDICATORS, SCENARIO_FIGURES, TEAM_FIGURES
from . import access, inputs
from .i18n import catalogue as names, say
from .security import engine, jobs, requires

bp = Blueprint("whatif", __name__)
#: Limits of a run: a recorded period of at most a month ("last month"), a simulated one as long, a district
#: scaled down to a hundredth at most, one to five seeds, a team's officers scaled a tenth to five times.
MAX_DAYS, MIN_SIM_DAYS, DEFAULT_DAYS = 31, 0.01, 30
MIN_SCALE, MAX_SCALE = 0.01, 1.0
MAX_SEEDS = 5
MIN_FACTOR, MAX_FACTOR = 0.1, 5.0
#: Fewer cases than this opened by alarms and reports in the last DEFAULT_DAYS, and the form proposes a simulated
#: period instead.
MIN_RECORDED = 20


@functools.cache
def _staffed_teams() -> tuple[str, ...]:
    """The teams the simulation staffs (simulation/calibration.json), whose officers a plan may scale."""
    return tuple(team for team in load_params()["staffing"] if not team.startswith("_") and team != "default")


def _number(raw: str | None, low: float, high: float, name: str, errors: dict, default: float | None = None):
    if raw is None or not raw.strip():
        if default is None:
            errors[name] = _("required")
        return default
    try:
        value = float(raw)
    except ValueError:
        errors[name] = _("a number is expected")
        return None
    if not math.isfinite(value) or not low <= value <= high:
        errors[name] = _("between %(low)s and %(high)s", low=f"{low:g}", high=f"{high:g}")
        return None
    return value


def _choice(raw: str | None) -> tuple[str, int | None]:
    """``"version:3"`` -> ("version", 3); ``"draft"`` -> ("draft", None)."""
    kind, _sep, number = (raw or "").partition(":")
    return kind, _whole(number)


def _whole(text: str) -> int | None:
    """A row id written in ASCII digits, else None (``int`` would refuse "²" or 5,000 digits with an error)."""
    return inputs.row_id(int(text)) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def setup_from(form, process_id: str | None) -> tuple[dict, dict]:
    """The run's setup from the posted form, and the errors by field (empty when it may run)."""
    errors: dict[str, str] = {}
    b: dict | None = None
    kind, number = _choice(form.get("b"))
    if kind == "version" and process_id and number:
        b = {"process_id": process_id, "version": number}
    elif kind == "draft" and process_id:
        b = {"draft": process_id}
    elif kind not in ("", "deployed"):
        errors["b"] = _("choose a version, your draft or what is deployed")
    routing = None
    if form.get("routing"):
        decision_id, _sep, version = form["routing"].rpartition(":")
        if not decision_id or _whole(version) is None:
            errors["routing"] = _("choose a decision table version")
        else:
            routing = {"decision_id": decision_id, "version": int(version)}
    staffing, teams = {}, _staffed_teams()
    for key in form:
        if key.startswith("staff_") and form[key].strip():
            team = key.removeprefix("staff_")
            if team not in teams:
                errors[key] = _("no team %(team)s in the simulated district", team=team[:80])
                continue
            factor = _number(form[key], MIN_FACTOR, MAX_FACTOR, key, errors)
            if factor is not None and factor != 1.0:
                staffing[team] = factor
    source = form.get("source") or "recorded"
    if source not in ("recorded", "simulated"):
        errors["source"] = _("recorded or simulated")
    days = _number(form.get("days"), MIN_SIM_DAYS if source == "simulated" else 1, MAX_DAYS, "days", errors)
    period: dict = {"source": source, "days": days}
    if source == "simulated":
        period["scale"] = _number(form.get("scale"), MIN_SCALE, MAX_SCALE, "scale", errors, default=1.0)
        scenarios = form.getlist("scenarios")
        unknown = [s for s in scenarios if s not in names()["scenarios"]]
        if unknown:
            errors["scenarios"] = _("not a scenario of the district: %(code)s", code=", ".join(unknown)[:200])
        period["scenarios"] = sorted(set(scenarios))
    seeds = _number(form.get("seeds"), 1, MAX_SEEDS, "seeds", errors, default=3)
    if seeds is not None and seeds != int(seeds):
        errors["seeds"] = _("a whole number")
    setup = {"b": b, "routing": routing, "staffing": staffing, "period": period,
             "seeds": list(range(1, int(seeds or 1) + 1))}
    if not errors and b is None and routing is None and not staffing:
        errors["b"] = _("B is the same as A: choose a version, a draft, a routing table or a staffing plan")
    return setup, errors


def _form(process_id: str | None, choices: dict, values, errors: dict, status: int = 200):
    now = clock.now()
    recorded = engine().recorded_counts(now - timedelta(days=DEFAULT_DAYS), now)
    arrivals = recorded["sensor"] + sum(recorded["reports"].values())
    chosen = values.getlist("scenarios") if hasattr(values, "getlist") else []
    limits = {"days": MAX_DAYS, "seeds": MAX_SEEDS, "factor": (MIN_FACTOR, MAX_FACTOR), "scale": (MIN_SCALE, MAX_SCALE)}
    return render_template(
        "whatif.html", process_id=process_id, **choices,
        teams=_staffed_teams(), scenarios=sorted(names()["scenarios"]), chosen_scenarios=chosen,
        recorded=recorded, enough=arrivals >= MIN_RECORDED, values=values, errors=errors,
        runs=engine().whatif_runs.recent(process_id), limits=limits, default_days=DEFAULT_DAYS), status


def _process_arg(source) -> tuple[str | None, dict]:
    """The process the page is about, or None, and what the form offers as B (its versions, the designer's draft,
    the decision tables); NotFound when the process is not deployed."""
    process_id = (source.get("process") or "").strip()[:200] or None
    return process_id, engine().whatif_runs.choices(process_id, g.user["username"])


@bp.get("/designer/whatif")
@requires(*access.DESIGNER_ROLES)
def form():
    process_id, choices = _process_arg(request.args)
    values = {"b": request.args.get("b") or ""}
    return _form(process_id, choices, values, {})


@bp.post("/designer/whatif")
@requires(*access.DESIGNER_ROLES)
def start():
    process_id, choices = _process_arg(request.form)
    setup, errors = setup_from(request.form, process_id)
    if errors:
        return _form(process_id, choices, request.form, errors, 422)
    run_id = engine().whatif_runs.ask(g.user["username"], setup, process_id)
    jobs().long_running(run_whatif, run_id, job_id=f"whatif-{run_id}")
    return redirect(url_for("whatif.run", run_id=run_id))


@bp.get("/designer/whatif/<int:run_id>")
@requires(*access.DESIGNER_ROLES)
def run(run_id: int):
    found = engine().whatif_runs.get(run_id)
    return render_template("whatif_run.html", run=found, failure=_failure(found["error"]), better=BETTER,
                           indicators=INDICATORS, team_figures=TEAM_FIGURES, scenario_figures=SCENARIO_FIGURES,
                           poll=current_app.config["POLL_SECONDS"])


def _failure(error: str | None) -> dict | None:
    """Why a run failed, as simulation/jobs.py stored it (``{"kind": ...}``)."""
    if not error:
        return None
    try:
        found = json.loads(error)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        return {"kind": "failed", "detail": error}
    for problem in found.get("problems") or []:
        try:
            problem["message"] = say(_revived(problem["said"]))
        except (KeyError, IndexError, ValueError, TypeError):
            pass   # the English it was stored with
    return found


def _revived(said: dict) -> Message:
    """A Message back from simulation.jobs.plain_message, so ``say`` can say it in the reader's language."""
    return Message(said["template"], **{key: _revived(value) if isinstance(value, dict) else value
                                        for key, value in said["params"].items()})
