"""Users and teams, for admins: add a user, change roles, teams, password, or switch a user off."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import people
from engine.exceptions import Conflict, FormInvalid
from .i18n import t
from .security import engine, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(errors=None, values=None, status=200):
    return render_template("admin.html", users=people.users(engine().store), teams=engine().query(people.teams),
                           roles=people.ROLES, errors=errors or {}, values=values or {}), status


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
        return _page(refused.details or {"username": refused.message}, form, status=422)
    flash(t("saved"), "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>")
@requires("admin")
def update_user(user_id: int):
    form = request.form
    people.update_user(engine().store, user_id, roles=form.getlist("roles"), team_codes=form.getlist("teams"),
                       active=form.get("active") == "on", password=form.get("password") or None)
    flash(t("saved"), "ok")
    return redirect(url_for("admin.users"))
