"""Jingzhi's web app: the officers' inbox, task and case pages, the district dashboard, the process designer, and
the JSON API.

``create_app(config)`` builds it flaskr-style. Blueprints are thin: they read the request, call one engine verb or
read, and render HTML or JSON. Errors are mapped to HTTP in one place (``errors.py``); who may do what is decided in
``access.py``; logins, bearer tokens and CSRF in ``security.py``.
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from datetime import date, datetime

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from engine import Config, Engine

log = logging.getLogger(__name__)

#: Largest upload accepted in one request (several photos); one file is limited by EVIDENCE_MAX_BYTES.
MAX_CONTENT_LENGTH = 40 * 1024 * 1024


class IsoJSONProvider(DefaultJSONProvider):
    """Dates as ISO 8601 with their zone (Flask's default is the HTTP date format, without seconds' zone info)."""

    @staticmethod
    def default(value):
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return DefaultJSONProvider.default(value)

    ensure_ascii = False


def create_app(config: Config | None = None, engine: Engine | None = None, settings: dict | None = None) -> Flask:
    """The app for ``config`` (default: the environment). ``engine`` may be shared with the caller (tests, demo);
    ``settings`` overrides Flask settings (TESTING, EVIDENCE_DIR, EVIDENCE_MAX_BYTES, ...)."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.json = IsoJSONProvider(app)
    secret = config.secret_key or (settings or {}).get("SECRET_KEY")
    if not secret:
        secret = secrets.token_hex(32)
        log.warning("JINGZHI_SECRET_KEY is not set: using a random key, sessions end when the process stops")
    app.config.update(
        SECRET_KEY=secret, MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        EVIDENCE_DIR=os.environ.get("JINGZHI_EVIDENCE_DIR", "var/evidence"),
        EVIDENCE_MAX_BYTES=8 * 1024 * 1024, POLL_SECONDS=5, ROSTER_FILE=config.roster_file,
    )
    app.config.update(settings or {})
    Path(app.config["EVIDENCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if engine is None:
        engine = Engine(config)
        engine.upgrade_schema()
    app.extensions["jingzhi_engine"] = engine

    from . import database
    database.init_app(app, engine)

    from . import admin, api, auth, cases, dashboard, decisions, designer, errors, i18n, inbox, migration, security

    security.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    for module in (auth, inbox, cases, dashboard, designer, decisions, migration, admin, api):
        app.register_blueprint(module.bp)
    from integrations import open311, open311_contacts, patrol, video  # hotline, residents, patrol, video
    for module in (open311, open311_contacts, patrol, video):
        app.register_blueprint(module.bp)
    from integrations import departments  # department systems answering waiting cases (/api/v1/departments)
    app.register_blueprint(departments.bp)
    from . import notifications  # my contact details and notifications; sent log, templates, failed deliveries
    app.register_blueprint(notifications.bp)
    from . import same_problem  # one problem, one case across channels (/same)
    app.register_blueprint(same_problem.bp)
    from .command import bp as command_bp  # the command centre, devices and dead letters (webui/command.py)
    app.register_blueprint(command_bp)
    from .audit import bp as audit_bp  # the audit search (admins; webui/audit.py)
    app.register_blueprint(audit_bp)
    from .whatif import bp as whatif_bp  # the designer's what-if runs (webui/whatif.py)
    app.register_blueprint(whatif_bp)
    app.add_url_rule("/", endpoint="index", view_func=inbox.index)
    return app
