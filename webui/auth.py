"""Log in and out (session cookie; passwords checked against their hashes in engine.people).

Failed logins are throttled with Flask-Limiter: ``LOGIN_LIMIT`` failures per user name from one address, and
``LOGIN_LIMIT_PER_ADDRESS`` failures from one address whatever the name (``JINGZHI_LOGIN_LIMIT...``; limits syntax,
"5 per minute;20 per hour"). Only failures count; over the limit every attempt, right or wrong, gets 429 until the
window passes. The counts live in Redis when REDIS_URL is set (shared by every web process), else in memory.
"""
from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from flask_babel import gettext as _
from .security import engine, login as start_session, logout as end_session

bp = Blueprint("auth", __name__)

#: Failed logins allowed per user name from one client address, and from one address in all.
LOGIN_LIMIT = "5 per minute;20 per hour"
LOGIN_LIMIT_PER_ADDRESS = "50 per hour"
limiter = Limiter(get_remote_address, key_prefix="jingzhi-login")


def _safe_next(target: str | None) -> str:
    """Only a path of this site: an open redirect would turn the login page into a phishing aid. Browsers drop tabs
    and newlines and read a backslash as a slash, so ``/\\t/evil.example`` is ``//evil.example``: a control
    character or backslash anywhere, a second leading slash (also encoded), a scheme or a host refuses it."""
    fallback = url_for("index")                     # the landing page: the inbox, or the designer for designers
    if not target or not target.startswith("/") or target[1:2] in ("/", "%") or "\\" in target:
        return fallback
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _failed(response) -> bool:
    return response.status_code == 401


def _name_key() -> str:
    return f"{get_remote_address()}|{(request.form.get('username') or '').strip().lower()}"


def _throttled_message() -> str:
    limit = limiter.current_limit
    seconds = max(1, int(limit.reset_at - time.time())) if limit else 60
    return _("Too many failed logins: try again in %(seconds)s s", seconds=seconds)


@bp.get("/login")
def login():
    if g.user:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""))


@bp.post("/login")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], deduct_when=_failed, scope="address",
               error_message=_throttled_message)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT"], key_func=_name_key, deduct_when=_failed,
               error_message=_throttled_message)
def login_post():
    user = engine().people.authenticate(request.form.get("username", ""), request.form.get("password", ""))
    if user is None:
        flash(_('Wrong user name or password'), "error")
        return render_template("login.html", next=request.form.get("next", ""),
                               username=request.form.get("username", "")), 401
    start_session(user)
    return redirect(_safe_next(request.form.get("next")))


@bp.errorhandler(RateLimitExceeded)
def throttled(error: RateLimitExceeded):
    flash(error.description, "error")
    limit = limiter.current_limit
    retry = max(1, int(limit.reset_at - time.time())) if limit else 60
    return render_template("login.html", next=request.form.get("next", ""),
                           username=request.form.get("username", "")), 429, {"Retry-After": str(retry)}


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    """The login limits (settings or JINGZHI_LOGIN_LIMIT, JINGZHI_LOGIN_LIMIT_PER_ADDRESS) and their storage."""
    app.config.setdefault("LOGIN_LIMIT", os.environ.get("JINGZHI_LOGIN_LIMIT") or LOGIN_LIMIT)
    app.config.setdefault("LOGIN_LIMIT_PER_ADDRESS",
                          os.environ.get("JINGZHI_LOGIN_LIMIT_PER_ADDRESS") or LOGIN_LIMIT_PER_ADDRESS)
    redis_url = app.config.get("REDIS_URL") or app.extensions["jingzhi_engine"].config.redis_url
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    # Redis away: count in this process meanwhile rather than refuse every login at 3 a.m.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
