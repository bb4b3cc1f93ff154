"""For admins: users (add one; edit one in one form: name, roles, teams, enabled, password), teams (create,
rename, retire, restore: engine/teams.py), and the instances parked by a failed automatic step, to retry or
cancel."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import ROLES
from engine.exceptions import Conflict, FormInvalid, InstanceFailed, TaskNotReady
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from .database import page_of
from .i18n import say
from .security import engine, login as start_session, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: What a refused field of the teams page says, in the page's language (engine/teams.py's words are English).
FIELD_ERRORS = {
    "code": _l("2 to 60 lower-case letters, digits or underscores, starting with a letter; not taken"),
    "name_zh": _l("1 to 200 characters"), "name_en": _l("1 to 200 characters"), "kind": _l("Choose a kind"),
}


def _field_errors(refused) -> dict:
    details = refused.details if isinstance(refused.details, dict) else {}
    return {key: FIELD_ERRORS.get(key, value) for key, value in details.items()} or {"(form)": refused.message}


def _page(errors=None, values=None, status=200):
    """The users page: one page of users (searched by name and team, 50 a page) and the add-user form."""
    text = (request.args.get("q") or "").strip()[:120].replace("\x00", "")
    team = (request.args.get("team") or "").strip()[:120].replace("\x00", "")
    page = page_of(engine().people.search_statement(text or None, team or None), request.args)
    search = {key: value for key, value in (("q", text), ("team", team)) if value}
    return render_template("admin.html", users=engine().people.described(page.items), page=page,
                           search=search, teams=engine().people.teams(), roles=ROLES,
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
        engine().people.add_user(form.get("username", ""), form.get("password", ""), form.getlist("roles"),
                                 form.getlist("teams"), form.get("display_name") or None)
    except (FormInvalid, Conflict) as refused:
        return _page(say(refused.details or {"username": refused.message}), form, status=422)
    flash(_('Saved'), "ok")
    return redirect(url_for("admin.users"))


def _user_page(user_id: int, errors=None, status=200):
    """One user's edit page: one form for name, roles, teams, enabled and a new password. Retired teams the user
    still belongs to are offered too (marked), so saving keeps them."""
    user = engine().people.user(user_id)
    active = engine().people.teams()
    retired_kept = [t for t in engine().people.teams(retired=True)
                    if t["retired"] and t["code"] in user["teams"]]
    return render_template("admin_user.html", u=user, teams=active + retired_kept, roles=ROLES,
                           errors=errors or {}), status


@bp.get("/users/<int:user_id>")
@requires("admin")
def edit_user(user_id: int):
    return _user_page(user_id)


@bp.post("/users/<int:user_id>")
@requires("admin")
def update_user(user_id: int):
    form = request.form
    display_name = form.get("display_name")
    try:
        updated = engine().people.update_user(user_id, roles=form.getlist("roles"),
                                              team_codes=form.getlist("teams"), active=form.get("active") == "on",
                                              password=form.get("password") or None,
                                              display_name=display_name[:300] if display_name is not None else None)
    except FormInvalid as refused:
        return _user_page(user_id, say(refused.details or {"(form)": refused.message}), status=422)
    if form.get("password") and user_id == g.user["id"]:
        start_session(updated)  # a new password ends every session of the user: this one goes on under the new one
    flash(_('Saved'), "ok")
    return redirect(url_for("admin.users"))


def _teams_page(errors=None, values=None, status=200):
    return render_template("admin_teams.html", teams=engine().teams.overview(), kinds=engine().teams.KINDS,
                           errors=errors or {}, values=values or {}), status


def _team_form() -> dict:
    form = request.form
    return {key: (form.get(key) or "").strip()[:300] for key in ("code", "name_zh", "name_en", "kind")}


@bp.get("/teams")
@requires("admin")
def teams():
    return _teams_page()


@bp.post("/teams")
@requires("admin")
def create_team():
    values = _team_form()
    try:
        engine().teams.create(values["code"], values["name_zh"], values["name_en"], values["kind"])
    except FormInvalid as refused:
        return _teams_page(_field_errors(refused), values, status=422)
    except Conflict:
        return _teams_page({"code": _("This team code exists already")}, values, status=409)
    flash(_("Team %(code)s created", code=values["code"]), "ok")
    return redirect(url_for("admin.teams"))


@bp.post("/teams/<code>")
@requires("admin")
def rename_team(code: str):
    values = _team_form()
    try:
        engine().teams.rename(code, values["name_zh"], values["name_en"], values["kind"])
    except FormInvalid as refused:
        return _teams_page({f"{code}.{key}": text for key, text in _field_errors(refused).items()}, status=422)
    flash(_("Team %(code)s saved", code=code), "ok")
    return redirect(url_for("admin.teams"))


@bp.post("/teams/<code>/retire")
@requires("admin")
def retire_team(code: str):
    try:
        engine().teams.retire(code)
    except Conflict as refused:
        processes = ", ".join((refused.details or {}).get("processes", []))
        return _teams_page({f"{code}.retire": _("The newest version of %(processes)s still routes to this team: "
                                                "deploy a version that routes elsewhere first",
                                                processes=processes)}, status=409)
    flash(_("Team %(code)s retired: it takes no new tasks and is no longer offered; its history stays",
            code=code), "ok")
    return redirect(url_for("admin.teams"))


@bp.post("/teams/<code>/restore")
@requires("admin")
def restore_team(code: str):
    engine().teams.restore(code)
    flash(_("Team %(code)s restored", code=code), "ok")
    return redirect(url_for("admin.teams"))


@bp.get("/failed")
@requires("admin")
def failed():
    return render_template("admin_failed.html", instances=engine().failed_instances(),
                           deliveries=engine().outbox.incidents(), hooks=engine().outbox.subscriptions())


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
