"""Who is asking: a session login (people) or a bearer token (machines); CSRF on every state-changing request.

``requires(*roles)`` guards a view: anonymous callers are sent to the login page (HTML) or get 401 (API); a
logged-in caller without one of ``roles`` gets 403. Bearer-token requests carry no cookies, so they need no CSRF
token; every other POST must echo the session's token (hidden form field or the X-CSRF-Token header).

A session holds the user's id, the user's session epoch when it began, and when it began. It ends when the epoch
moves on (logout or a new password, on any device: ``people.end_sessions``), when the user is switched off, and
``SESSION_HOURS`` after the login whatever the activity. The cookie is HttpOnly, SameSite=Lax, and Secure when
``SECURE_COOKIES`` says so ("auto": whenever the request came over HTTPS, as ProxyFix reads it from the proxy's
X-Forwarded-Proto when ``TRUSTED_PROXIES`` is set).
"""
from __future__ import annotations

import hmac
import os
import secrets
from datetime import timedelta
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import Jobs, clock
from engine.exceptions import JingzhiError, NotFound
from . import inputs

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Unauthorized(JingzhiError):
    code = "unauthorized"


class Forbidden(JingzhiError):
    code = "forbidden"


class CsrfFailed(JingzhiError):
    code = "csrf_failed"


def engine():
    return current_app.extensions["jingzhi_engine"]


def jobs() -> Jobs:
    """The app's one job runner (alert case starts, what-if runs): in-process, or on RQ with one Redis connection
    pool when REDIS_URL is set, made at first use instead of per request."""
    found = current_app.extensions.get("jingzhi_jobs")
    if found is None:
        found = current_app.extensions["jingzhi_jobs"] = Jobs.for_config(engine().config, engine())
    return found


def is_api() -> bool:
    return request.path.startswith(("/api/", "/open311/v2/"))  # machine clients: no session, no CSRF token


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">')


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure per request when ``SECURE_COOKIES`` is "auto"."""

    def get_cookie_secure(self, app) -> bool:
        setting = app.config["SECURE_COOKIES"]
        if setting == "auto":
            return request.is_secure
        return bool(setting)


def _session_valid(found: dict | None) -> bool:
    if not found or not found["active"] or session.get("epoch") != found["session_epoch"]:
        return False
    since = session.get("since")
    hours = current_app.config["SESSION_HOURS"]
    return isinstance(since, (int, float)) and 0 <= clock.now().timestamp() - since < hours * 3600


def _forget() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _load_user() -> None:
    g.user, g.via_token = None, False
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        g.user = engine().people.user_for_token(header[7:].strip())
        g.via_token = True
        if g.user is None:
            raise Unauthorized("the bearer token is unknown or revoked")
        return
    user_id = session.get("uid")
    if user_id is not None:
        try:
            found = engine().people.user(user_id)
        except NotFound:
            found = None
        if _session_valid(found):
            g.user = found
        else:
            _forget()


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or g.via_token:
        return
    if is_api() and g.user is None:
        return  # no session to ride on: the route answers 401 itself
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    # as bytes: compare_digest refuses str with non-ASCII characters (a forged token may have any)
    if not expected or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


def login(user: dict) -> None:
    """Begin a session (a fresh one: nothing of the anonymous session but the language carries over)."""
    _forget()
    session.permanent = True  # the cookie gets an expiry (SESSION_HOURS) instead of living until the browser closes
    session["uid"] = user["id"]
    session["epoch"] = user["session_epoch"]
    session["since"] = clock.now().timestamp()
    session["csrf"] = secrets.token_urlsafe(32)


def logout() -> None:
    """End this session and every other session of the same user (another browser, a copied cookie)."""
    if g.get("user") and not g.get("via_token"):
        try:
            engine().people.end_sessions(g.user["id"])
        except NotFound:
            pass
    _forget()


def has_role(*roles: str) -> bool:
    return bool(g.user) and bool(set(roles) & set(g.user["roles"]))


def requires(*roles: str):
    """Guard a view: a logged-in user (with one of ``roles`` when given)."""
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if g.user is None:
                if is_api():
                    raise Unauthorized("log in or send a bearer token")
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and not has_role(*roles):
                raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
            return view(*args, **kwargs)
        guarded.required_roles = roles
        return guarded
    return decorate


def _setting(app, name: str, default, kind=str):
    """A web setting: Flask's (``settings`` of create_app, tests) first, then JINGZHI_<name>, then the default."""
    if name not in app.config:
        raw = os.environ.get(f"JINGZHI_{name}")
        try:
            app.config[name] = kind(raw) if raw not in (None, "") else default
        except ValueError as err:
            raise ValueError(f"JINGZHI_{name}={raw!r}: {err}") from err
    return app.config[name]


def _secure_cookies(value: str):
    value = value.strip().lower()
    if value in ("auto", ""):
        return "auto"
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("auto, 1 or 0")


def init_app(app) -> None:
    inputs.init_app(app)
    _setting(app, "SECURE_COOKIES", "auto", _secure_cookies)
    hours = _setting(app, "SESSION_HOURS", 12.0, float)
    if not hours > 0:
        raise ValueError("JINGZHI_SESSION_HOURS must be more than 0")
    proxies = _setting(app, "TRUSTED_PROXIES", 0, int)
    if proxies > 0:  # the client's address and scheme as the proxies in front say (X-Forwarded-For, -Proto, -Host)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.config.update(PERMANENT_SESSION_LIFETIME=timedelta(hours=hours), SESSION_REFRESH_EACH_REQUEST=False,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionInterface()
    app.before_request(_load_user)
    app.before_request(_check_csrf)

    @app.context_processor
    def security_helpers():
        return {"csrf_field": csrf_field, "csrf_token": csrf_token, "current_user": g.get("user"),
                "has_role": has_role}

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
