"""Notifications and department deliveries in the web app.

- For everyone: ``/me/notifications`` (what was sent to me, the web inbox channel included) and ``/me/contact``
  (my phone, e-mail, WeCom and DingTalk ids, and the channels I want notifications on). Self-service only: the
  page edits the logged-in person, never someone else.
- For admins: ``/admin/notifications`` (everything sent, department subscriptions, everyone's contact details),
  template editing, and on ``/admin/failed`` the deliveries whose retries ran out, to retry, and a department's
  events to replay.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import CHANNELS
from engine.exceptions import Conflict, FormInvalid, NotFound

from .i18n import say
from .security import engine, requires

bp = Blueprint("notifications", __name__)
PERSON_CHANNELS = tuple(c for c in CHANNELS if c != "inbox")


@bp.get("/me/notifications")
@requires()
def mine():
    sent = engine().outbox.sent_log(limit=100, recipient=g.user["username"], channel="inbox")
    return render_template("notifications_mine.html", sent=sent)


def _contact_page(values: dict, errors: dict | None = None, status: int = 200):
    return render_template("contact.html", values=values, errors=errors or {}, channels=PERSON_CHANNELS), status


@bp.get("/me/contact")
@requires()
def contact():
    return _contact_page(engine().notify.contact(g.user["id"]))


@bp.post("/me/contact")
@requires()
def save_contact():
    form = request.form
    values = {key: form.get(key, "")[:200] for key in ("phone", "email", "wecom_id", "dingtalk_id", "language")}
    values["channels"] = [c[:20] for c in form.getlist("channels")[:10]]
    try:
        engine().notify.save_contact(g.user["id"], values)
    except FormInvalid as refused:
        return _contact_page(values, refused.details or {}, 422)
    flash(_("Saved"), "ok")
    return redirect(url_for("notifications.contact"))


@bp.get("/admin/notifications")
@requires("admin")
def sent():
    return render_template("notifications_admin.html", sent=engine().outbox.sent_log(limit=200),
                           templates=engine().notify.templates(), hooks=engine().outbox.subscriptions(),
                           contacts=engine().notify.contacts())


@bp.get("/admin/notifications/templates/new")
@requires("admin")
def new_template():
    code = (request.args.get("code") or "").strip()
    if not engine().notify.TEMPLATE_CODE.fullmatch(code):
        flash(_("A template code is 1-80 lower-case letters, digits or _"), "error")
        return redirect(url_for("notifications.sent"))
    return redirect(url_for("notifications.template", code=code))


@bp.get("/admin/notifications/templates/<code>")
@requires("admin")
def template(code: str):
    """Edit a template; a new code (from the page's "new template" field) starts empty."""
    found = {t["code"]: t for t in engine().notify.templates()}
    if code not in found and not engine().notify.TEMPLATE_CODE.fullmatch(code):
        abort(404)
    return render_template("notification_template.html", template=found.get(code) or {"code": code}, errors={})


@bp.post("/admin/notifications/templates")
@requires("admin")
def save_template():
    form = request.form
    texts = {key: form.get(key, "") for key in ("subject_zh", "body_zh", "subject_en", "body_en")}
    code = form.get("code", "")[:120]
    try:
        engine().notify.save_template(code, texts, g.user["username"])
    except FormInvalid as refused:
        return render_template("notification_template.html", template={"code": code, **texts},
                               errors=refused.details or {}), 422
    flash(_("Saved"), "ok")
    return redirect(url_for("notifications.sent"))


@bp.post("/admin/failed/deliveries/<int:delivery_id>/retry")
@requires("admin")
def retry(delivery_id: int):
    return _resolve(engine().outbox.retry, delivery_id, _("Delivery %(id)s will be sent again", id=delivery_id))


@bp.post("/admin/failed/deliveries/<int:delivery_id>/skip")
@requires("admin")
def skip(delivery_id: int):
    """Give up on a delivery its receiver will never take, so the later events of its case go on."""
    return _resolve(engine().outbox.skip, delivery_id, _("Delivery %(id)s skipped", id=delivery_id))


def _resolve(verb, delivery_id: int, done: str):
    """Retry or skip a dead delivery; one another admin already resolved is said, not an error."""
    try:
        verb(delivery_id, g.user["username"])
    except Conflict as moved_on:
        flash(say(moved_on.message), "info")
    else:
        flash(done, "ok")
    return redirect(url_for("admin.failed"))


@bp.post("/admin/hooks/<int:subscription_id>/replay")
@requires("admin")
def replay(subscription_id: int):
    try:
        since = datetime.fromisoformat(request.form.get("since", "")[:40])
    except ValueError:
        flash(_("Give the date and time to replay from"), "error")
        return redirect(url_for("admin.failed")), 303
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    try:
        count = engine().outbox.replay(subscription_id, since, g.user["username"])
    except NotFound:
        abort(404)
    flash(_("%(count)s event(s) will be sent again", count=count), "ok")
    return redirect(url_for("admin.failed"))
