"""Case pages: the list, one case (timeline, stage and deadline, diagram, alerts, evidence), and manual reports."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, send_file, url_for

from engine import clock, worklist
from engine.exceptions import FormInvalid, NotFound
from . import access, evidence
from flask_babel import gettext as _

from .i18n import catalogue
from .security import engine, requires

bp = Blueprint("cases", __name__)
MAIN_PROCESS = "closed_loop"
REPORT_CHANNELS = ("patrol", "hotline", "resident")
CASE_FILTERS = ("scenario", "stage", "channel", "compound")


def visible_case(instance_id: int) -> None:
    """Raise NotFound unless the user may look at the case (district roles, or they had a part in it)."""
    user = g.user
    if engine().query(worklist.case_by_instance, instance_id) is None:
        raise NotFound(f"case {instance_id} does not exist")
    if not access.is_district(user) and not engine().query(worklist.involved, instance_id, user["inbox_teams"],
                                                           user["username"]):
        raise NotFound(f"case {instance_id} does not exist")


def case_scope() -> dict:
    if access.is_district(g.user):
        return {}
    return {"teams": g.user["inbox_teams"], "username": g.user["username"]}


@bp.get("/cases")
@requires()
def cases():
    filters = {k: request.args[k] for k in CASE_FILTERS if request.args.get(k)}
    rows = engine().query(worklist.cases, filters=filters, **case_scope())
    return render_template("cases.html", rows=rows, filters=filters, now=clock.now())


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
        just_done=request.args.get("done"), alerts=engine().query(worklist.attached_alerts, instance_id),
        visible=lambda task: access.can_see_task(g.user, task))


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


def report_data(form) -> dict:
    """Start data of a manual report (the keys the closed-loop process reads from a hotline or patrol report)."""
    data = {key: (form.get(key) or "").strip() for key in ("scenario", "channel", "severity", "address", "compound",
                                                            "description")}
    data = {k: v for k, v in data.items() if v}
    problems = {}
    if data.get("channel") not in REPORT_CHANNELS:
        problems["channel"] = f"one of {', '.join(REPORT_CHANNELS)}"
    if data.get("scenario") not in [*catalogue()["scenarios"], "other"]:
        problems["scenario"] = "a known scenario, or other"
    if data.get("severity", "medium") not in catalogue()["severities"]:
        problems["severity"] = f"one of {', '.join(catalogue()['severities'])}"
    if not data.get("address"):
        problems["address"] = "where is it?"
    if problems:
        raise FormInvalid(f"the report has {len(problems)} error(s)", problems)
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
