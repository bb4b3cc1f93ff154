"""Who is asking: a session login (people) or a bearer token (machines); CSRF on every state-changing request.

``requires(*roles)`` guards a view: anonymous callers are sent to the login page (HTML) or get 401 (API); a
logged-in caller without one of ``roles`` gets 403. Bearer-token requests carry no cookies, so they need no CSRF
token; every other POST must echo the session's token (hidden form field or the X-CSRF-Token header).
"""
from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from markupsafe import Markup

from engine import people
from engine.exceptions import JingzhiError, NotFound

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Unauthorized(JingzhiError):
    code = "unauthorized"


class Forbidden(JingzhiError):
    code = "forbidden"


class CsrfFailed(JingzhiError):
    code = "csrf_failed"


def engine():
    return current_app.extensions["jingzhi_engine"]


def is_api() -> bool:
    return request.path.startswith(("/api/", "/open311/v2/"))  # machine clients: no session, no CSRF token


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">')


def _load_user() -> None:
    g.user, g.via_token = None, False
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        g.user = people.user_for_token(engine().store, header[7:].strip())
        g.via_token = True
        if g.user is None:
            raise Unauthorized("the bearer token is unknown or revoked")
        return
    user_id = session.get("uid")
    if user_id is not None:
        try:
            found = people.user(engine().store, user_id)
        except NotFound:
            found = None
        if found and found["active"]:
            g.user = found
        else:
            session.pop("uid", None)


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or g.via_token:
        return
    if is_api() and g.user is None:
        return  # no session to ride on: the route answers 401 itself
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page and try again")


def login(user: dict) -> None:
    lang = session.get("lang")
    session.clear()
    session["uid"] = user["id"]
    session["csrf"] = secrets.token_urlsafe(32)
    if lang:
        session["lang"] = lang


def logout() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


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


def init_app(app) -> None:
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
