"""The inbox and the task page: list, claim, give back, reassign, fill in and complete a task with evidence."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from engine import INBOX_FILTERS, clock
from engine.exceptions import FormInvalid
from . import access, evidence, schema_form
from .database import page_of
from .i18n import say
from flask_babel import gettext as _
from .security import Forbidden, engine, requires

bp = Blueprint("inbox", __name__)

#: A task is marked "due soon" in the last quarter of its own window (created -> due): a fixed hour would mark every
#: task of a 30-minute window at once and a three-day task only in its last hour.
DUE_SOON_SHARE = 0.25


def due_state(task: dict, now) -> str:
    """``overdue``, ``soon`` or ``""`` for a task row (``due_at`` and ``created_at``)."""
    due, created = task.get("due_at"), task.get("created_at")
    if not due:
        return ""
    if due < now:
        return "overdue"
    window = (due - created) if created and created < due else timedelta(hours=1)
    return "soon" if due - now <= window * DUE_SOON_SHARE else ""


def inbox_filters(args) -> dict:
    return {name: args.get(name) for name in INBOX_FILTERS if args.get(name)}


def _page():
    """The page of the user's inbox that the request asks for (``page``, ``per_page``), counted up to COUNT_LIMIT."""
    statement = engine().worklist.inbox_statement(g.user["inbox_teams"], g.user["username"], "all",
                                                  inbox_filters(request.args))
    return page_of(statement, request.args, capped=True)


@requires()
def index():
    """The landing page: the inbox, or the process designer for a designer who works no team's tasks."""
    if set(g.user["roles"]) == {"designer"} and not g.user["inbox_teams"]:
        return redirect(url_for("designer.processes"))
    return redirect(url_for("inbox.inbox"))


@bp.get("/inbox")
@requires()
def inbox():
    choices = engine().worklist.filter_choices(g.user["inbox_teams"])
    # the dispatcher's "same problem?" decisions waiting (webui/same_problem.py), linked from the inbox
    same = len(engine().same_problem_waiting()) if set(g.user["roles"]) & set(access.REPORT_ROLES) else None
    page = _page()
    return render_template("inbox.html", rows=page.items, page=page, now=clock.now(), due_state=due_state,
                           choices=choices, filters=inbox_filters(request.args),
                           poll=current_app.config["POLL_SECONDS"], same_waiting=same)


@bp.get("/inbox/rows")
@requires()
def inbox_rows():
    """The inbox table's body, polled by the page every few seconds so new tasks appear without a reload."""
    page = _page()
    return render_template("_inbox_rows.html", rows=page.items, page=page, filters=inbox_filters(request.args),
                           now=clock.now(), due_state=due_state)


def _task(task_id: int) -> dict:
    return access.visible_task(g.user, engine().task(task_id))


@bp.post("/tasks/<int:task_id>/claim")
@requires()
def claim(task_id: int):
    _task(task_id)
    engine().claim(task_id, g.user["username"])
    flash(_('Claimed'), "ok")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@requires()
def unclaim(task_id: int):
    task = _task(task_id)
    engine().unclaim(task_id, g.user["username"], as_lead=access.is_lead_of(g.user, task["team"]))
    flash(_('Given back'), "ok")
    return redirect(url_for("inbox.inbox"))


@bp.post("/tasks/<int:task_id>/reassign")
@requires("team_lead")
def reassign(task_id: int):
    task = _task(task_id)
    if not access.is_lead_of(g.user, task["team"]):
        raise Forbidden("only a lead of the task's team may reassign it")
    assignee = request.form.get("assignee", "")
    if assignee not in engine().people.members([access.team_of(task["team"])]):
        raise FormInvalid(f"{assignee or 'nobody'} is not a member of the team", {"assignee": "not in the team"})
    engine().reassign(task_id, assignee, actor=g.user["username"])
    flash(_('Reassigned'), "ok")
    return redirect(url_for("inbox.task", task_id=task_id))


def _render_task(task_id: int, values=None, errors=None, status=200):
    form = engine().task_form(task_id)
    task = form["task"]
    case = engine().worklist.case_by_instance(task["instance_id"]) or {}
    members = engine().people.members([access.team_of(task["team"])]) \
        if access.is_lead_of(g.user, task["team"]) else []
    four_eyes = task["status"] == "ready" and engine().separation_refusal(task_id, g.user["username"]) is not None
    return render_template(
        "task.html", task=task, case=case, data=form["data"], instructions=form["instructions"],
        documentation=form["documentation"],
        fields=schema_form.fields(form["schema"], values, errors, form["ui_schema"]),
        errors=errors or {}, history=engine().history(task["instance_id"]), members=members, now=clock.now(),
        due_state=due_state, four_eyes=four_eyes,
        can_work=not four_eyes and task["status"] == "ready" and task["assignee"] in (None, g.user["username"]),
        alerts=engine().worklist.attached_alerts(task["instance_id"]),
        alarm_count=engine().worklist.alarm_count(task["instance_id"])), status


@bp.get("/tasks/<int:task_id>")
@requires()
def task(task_id: int):
    _task(task_id)
    return _render_task(task_id)


@bp.post("/tasks/<int:task_id>")
@requires()
def complete(task_id: int):
    task = _task(task_id)
    schema = engine().task_form(task_id)["schema"]
    uploaded: dict[str, list[str]] = {}
    errors: dict = {}
    for item in schema_form.fields(schema):
        if item.widget != "files":
            continue
        for upload in request.files.getlist(item.name):
            if not upload or not upload.filename:
                continue
            try:
                uploaded.setdefault(item.name, []).append(evidence.store(
                    current_app.config["EVIDENCE_DIR"], task["instance_id"], upload,
                    current_app.config["EVIDENCE_MAX_BYTES"], item.name))
            except FormInvalid as refused:
                errors.update(say(refused.details or {}))
    data, conversion = schema_form.parse(schema, request.form, uploaded)
    errors.update(conversion)
    try:                                   # kept references come back from the page: they too must be stored
        evidence.check_references(current_app.config["EVIDENCE_DIR"], task["instance_id"],
                                  schema_form.file_fields(schema), data)
    except FormInvalid as refused:
        errors.update(say(refused.details or {}))
    if not errors:
        try:
            instance_id = engine().complete_task(task_id, data, actor=g.user["username"])
        except FormInvalid as invalid:
            errors = schema_form.explain(schema, data) or dict(say(invalid.details or {"(form)": invalid.message}))
        else:
            following = engine().ready_tasks(instance_id=instance_id)
            flash(_('Task completed'), "ok")
            return redirect(url_for("cases.case", instance_id=instance_id, done=task_id,
                                    next=",".join(str(f["id"]) for f in following)))
    return _render_task(task_id, data, errors, status=422)
