"""The one place that maps errors to HTTP: JSON ``{"error": {code, message, details}}`` under /api, pages elsewhere."""
from __future__ import annotations

import logging

from flask import g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from engine.exceptions import (Conflict, ConcurrentUpdate, DeploymentRejected, FormInvalid, InstanceFailed,
                               JingzhiError, MessageNotCorrelated, NotAllowed, NotFound, TaskNotReady, TooLarge)
from .i18n import say
from .security import CsrfFailed, Forbidden, Unauthorized, is_api

log = logging.getLogger(__name__)

#: A step the diagram itself broke (a failing script, one past its limits) is a 422: the request was understood and
#: cannot be carried out as the diagram stands; it is not the server failing, and nothing of it was saved.
STATUS = [
    (NotFound, 404), (MessageNotCorrelated, 404), (Unauthorized, 401), (Forbidden, 403), (NotAllowed, 403),
    (CsrfFailed, 400), (FormInvalid, 422), (DeploymentRejected, 422), (TaskNotReady, 409), (Conflict, 409),
    (ConcurrentUpdate, 409), (InstanceFailed, 422), (TooLarge, 413),
]


def status_of(error: JingzhiError) -> int:
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


def respond(status: int, code: str, message: str, details=None):
    if is_api() or request.accept_mimetypes.best == "application/json":
        response = {"error": {"code": code, "message": message, "details": details}}, status
        if status == 401:
            return (*response, {"WWW-Authenticate": 'Bearer realm="jingzhi"'})
        return response
    return render_template("error.html", status=status, code=code, message=message, details=details), status


def init_app(app) -> None:
    @app.errorhandler(JingzhiError)
    def engine_error(error: JingzhiError):
        status = status_of(error)
        if status >= 500:
            log.error("request %s %s failed: %s", request.method, request.path, error.message)
        return respond(status, error.code, say(error.message), say(error.details))  # in the reader's language

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return respond(error.code or 500, code, error.description or error.name)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error: Exception):
        # The database went away, is restarting or is locked: nothing of the request was saved (one transaction),
        # and the same request will work again, so this is the server's temporary state (503), not a bug (500).
        # A sensor gateway or department system retries on 503 and Retry-After; it must not drop the alert.
        log.error("database unavailable on %s %s: %s", request.method, request.path, error)
        response = respond(503, "database_unavailable",
                           _("The database is unavailable just now; nothing was saved. Please try again shortly."))
        body, status = response[0], response[1]
        return body, status, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error on %s %s (user %s)", request.method, request.path,
                      (g.get("user") or {}).get("username"))
        return respond(500, "internal_error", "an unexpected error happened; it has been logged")
