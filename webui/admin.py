"""For admins: users and teams (add a user, change roles, teams, password, or switch a user off), and the instances
parked by a failed automatic step, to retry or cancel."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import people, queries
from engine.exceptions import Conflict, FormInvalid, InstanceFailed, TaskNotReady
from flask_babel import gettext as _
from .database import page_of
from .i18n import say
from .security import engine, login as start_session, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(errors=None, values=None, status=200):
    """The users page: one page of users (searched by name and team, 50 a page) and the add-user form."""
    text = (request.args.get("q") or "").strip()[:120].replace("\x00", "")
    team = (request.args.get("team") or "").strip()[:120].replace("\x00", "")
    page = page_of(people.user_search(text or None, team or None), request.args)
    search = {key: value for key, value in (("q", text), ("team", team)) if value}
    return render_template("admin.html", users=people.described(engine().store, page.items), page=page,
                           search=search, teams=engine().query(people.teams), roles=people.ROLES,
                           errors=errors or {}, values=values or {}), status


@bp.get("/users")
@requires("admin")
def users():
    return _page()


@bp.post("/users")
@requires("admin")
def add_user():
    form = request.form
    try:
        people.add_user(engine().store, form.get("username", ""), form.get("password", ""), form.getlist("roles"),
                        form.getlist("teams"), form.get("display_name") or None)
    except (FormInvalid, Conflict) as refused:
        return _page(say(refused.details or {"username": refused.message}), form, status=422)
    flash(_('Saved'), "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>")
@requires("admin")
def update_user(user_id: int):
    form = request.form
    try:
        updated = people.update_user(engine().store, user_id, roles=form.getlist("roles"),
                                     team_codes=form.getlist("teams"), active=form.get("active") == "on",
                                     password=form.get("password") or None)
    except FormInvalid as refused:
        return _page(say(refused.details or {"(form)": refused.message}), form, status=422)
    if form.get("password") and user_id == g.user["id"]:
        start_session(updated)  # a new password ends every session of the user: this one goes on under the new one
    flash(_('Saved'), "ok")
    return redirect(url_for("admin.users"))


@bp.get("/failed")
@requires("admin")
def failed():
    return render_template("admin_failed.html", instances=engine().query(queries.failed_instances))


@bp.post("/failed/<int:instance_id>/retry")
@requires("admin")
def retry(instance_id: int):
    """Run the failed step again (after the cause was fixed: a deployed diagram, a service back up)."""
    try:
        engine().retry(instance_id, actor=g.user["username"])
    except InstanceFailed as again:
        flash(_("The retry failed again: %(why)s", why=say(again.message)), "error")
    except TaskNotReady as moved_on:  # retried or cancelled meanwhile, from another page or the command line
        flash(say(moved_on.message), "info")
    else:
        flash(_("Retried #%(case)s", case=instance_id), "ok")
    return redirect(url_for("admin.failed"))


@bp.post("/failed/<int:instance_id>/cancel")
@requires("admin")
def cancel(instance_id: int):
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash(_('Cancelling a case needs a reason'), "error")
    else:
        engine().cancel(instance_id, reason, actor=g.user["username"])
        flash(_("Cancelled #%(case)s", case=instance_id), "ok")
    return redirect(url_for("admin.failed"))
