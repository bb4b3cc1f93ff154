"""Case pages: the list, one case (timeline, stage and deadline, diagram, alerts, evidence), and manual reports."""
from __future__ import annotations


from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, send_file, url_for

from engine import SAME_PROBLEM_CHANNELS, clock
from engine.exceptions import FormInvalid, NotFound, SearchRefused
from . import access, evidence
from flask_babel import gettext as _

from .database import page_of
from .i18n import catalogue, say
from .security import engine, requires

bp = Blueprint("cases", __name__)
MAIN_PROCESS = "closed_loop"
REPORT_CHANNELS = ("patrol", "hotline", "resident")


def visible_case(instance_id: int) -> None:
    """Raise NotFound unless the user may look at the case (district roles, or they had a part in it)."""
    user = g.user
    if engine().worklist.case_by_instance(instance_id) is None:
        raise NotFound(f"case {instance_id} does not exist")
    if not access.is_district(user) and not engine().worklist.involved(instance_id, user["inbox_teams"],
                                                                       user["username"]):
        raise NotFound(f"case {instance_id} does not exist")


def case_scope() -> dict:
    if access.is_district(g.user):
        return {}
    return {"teams": g.user["inbox_teams"], "username": g.user["username"]}


@bp.get("/cases")
@requires()
def cases():
    """Every case the user may see, searched and paged (Flask-SQLAlchemy pages the engine's search statement)."""
    try:
        search = engine().search.parse_cases(request.args)
    except SearchRefused as refused:
        return render_template("cases.html", page=None, search=engine().search.CaseQuery(), now=clock.now(),
                               refused=_refusal(refused)), 400
    page = page_of(engine().search.cases(search, **case_scope()), request.args, capped=True)
    return render_template("cases.html", page=page, search=search, now=clock.now(), refused=None)


def _refusal(refused: SearchRefused) -> dict:
    """The search field refused and why, in the page's language."""
    fields = {"q": _("Search"), "scenario": _("Scenario"), "stage": _("Stage"), "channel": _("Channel"),
              "compound": _("Compound"), "team": _("Team"), "device": _("Device"),
              "opened_from": _("Opened from"), "opened_to": _("Opened to")}
    return {"field": fields.get(refused.field, refused.field), "message": say(refused.message)}


@bp.get("/cases/<int:instance_id>")
@requires()
def case(instance_id: int):
    visible_case(instance_id)
    view = engine().get(instance_id, with_elements=True)
    # the tasks that followed the one just completed (ids in ?next=), only ever of this case
    following = [task for task in view.tasks if str(task["id"]) in request.args.get("next", "").split(",")
                 and task["status"] == "ready"]
    return render_template(
        "case.html", view=view, case=view.case, history=engine().history(instance_id), now=clock.now(),
        files=evidence.listing(current_app.config["EVIDENCE_DIR"], instance_id), following=following,
        just_done=request.args.get("done"), alerts=engine().worklist.attached_alerts(instance_id),
        alarm_count=engine().worklist.alarm_count(instance_id),
        visible=lambda task: access.can_see_task(g.user, task), links=_links(view.case))


def _links(case: dict) -> dict:
    """Where a dispatcher goes from a case: the "same problem?" decision of a report waiting for registration (with
    how many open cases are near), and the caller's contact for the call-back team."""
    from integrations import open311_contacts   # the contact page's own rule of who may see it

    links = {}
    if (case["channel"] in SAME_PROBLEM_CHANNELS and case["stage"] == "register"
        and set(g.user["roles"]) & set(access.REPORT_ROLES)):
        links["same_problem"] = len(engine().same_problem(case["instance_id"])[1])
    if (case["channel"] in ("hotline", "resident") and open311_contacts.may_see(g.user, case["instance_id"])
            and engine().open311.request_for_instance(case["instance_id"]) is not None):
        links["contact"] = True
    return links


@bp.get("/cases/<int:instance_id>/diagram.bpmn")
@requires()
def diagram(instance_id: int):
    visible_case(instance_id)
    return Response(engine().diagram(instance_id), mimetype="application/xml")


@bp.get("/cases/<int:instance_id>/evidence/<name>")
@requires()
def evidence_file(instance_id: int, name: str):
    visible_case(instance_id)
    path, mime = evidence.path_of(current_app.config["EVIDENCE_DIR"], instance_id, name)
    return send_file(path.resolve(), mimetype=mime, max_age=3600)


#: The longest text each field of a manual report takes (the case row's columns; the description is kept in the
#: case's data only).
REPORT_LENGTHS = {"scenario": 80, "channel": 40, "severity": 20, "address": 300, "compound": 120,
                  "description": 4000}


def report_data(form) -> dict:
    """Start data of a manual report (the keys the closed-loop process reads from a hotline or patrol report)."""
    problems = {}
    data = {}
    for key, longest in REPORT_LENGTHS.items():
        value = form.get(key)
        if value is not None and not isinstance(value, str):
            problems[key] = _("text expected")
        elif value and len(value.strip()) > longest:
            problems[key] = _("at most %(length)s characters", length=longest)
        elif value and value.strip():
            data[key] = value.strip()
    if data.get("channel") not in REPORT_CHANNELS:
        problems.setdefault("channel", _("one of %(codes)s", codes=", ".join(REPORT_CHANNELS)))
    if data.get("scenario") not in [*catalogue()["scenarios"], "other"]:
        problems.setdefault("scenario", _("a known scenario, or other"))
    if data.get("severity", "medium") not in catalogue()["severities"]:
        problems.setdefault("severity", _("one of %(codes)s", codes=", ".join(catalogue()["severities"])))
    if not data.get("address"):
        problems.setdefault("address", _("where is it?"))
    if problems:
        raise FormInvalid(_("the report has %(count)s error(s)", count=len(problems)), problems)
    data.setdefault("severity", "medium")
    data["reported_at"] = clock.now().isoformat()
    return data


@bp.get("/report")
@requires(*access.REPORT_ROLES)
def report():
    return render_template("report.html", values={}, errors={})


@bp.post("/report")
@requires(*access.REPORT_ROLES)
def report_post():
    try:
        data = report_data(request.form)
    except FormInvalid as invalid:
        return render_template("report.html", values=request.form, errors=invalid.details), 422
    instance_id = engine().start(MAIN_PROCESS, data, actor=g.user["username"])
    flash(_('Case reported'), "ok")
    return redirect(url_for("cases.case", instance_id=instance_id))
