"""Log in and out (session cookie; passwords checked against their hashes in engine.people)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import people
from flask_babel import gettext as _
from .security import engine, login as start_session, logout as end_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would turn the login page into a phishing aid."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("inbox.inbox")


@bp.get("/login")
def login():
    if g.user:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""))


@bp.post("/login")
def login_post():
    user = people.authenticate(engine().store, request.form.get("username", ""), request.form.get("password", ""))
    if user is None:
        flash(_('Wrong user name or password'), "error")
        return render_template("login.html", next=request.form.get("next", ""),
                               username=request.form.get("username", "")), 401
    start_session(user)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("auth.login"))
