"""The audit search (admins): who did what to which case, when; ``/admin/audit``, and ``GET /api/v1/audit`` in
api.py. Both page the engine's search statement with Flask-SQLAlchemy and show each event's detail masked.

Admins only, team leads included in nothing: the trail holds the district's oversight record (deployments, who looked
at a hotline caller's contact, reassignments by others), not a team's working view; a lead already sees the whole
history of every case their team had a part in on the case pages, and scoping events to a team would need a join
through the inbox on every row of a table that grows fastest of all.

Masking: events never hold a caller's contact (integrations/open311_keys.py keeps it out of the workflow), but a
task's form data is in its event, and an officer may have typed a number into a note; every string of a detail is
masked before it is shown (``mask_values``), and a text search for a number or address is refused by the engine.
"""
from __future__ import annotations

import json

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from engine.exceptions import FormInvalid, SearchRefused
from integrations.open311_keys import mask_values

from .database import page_of
from .i18n import say
from .security import engine, requires
from .vocabulary import EVENTS

bp = Blueprint("audit", __name__, url_prefix="/admin")


def search_page(args):
    """The query of ``args`` and its page of events; a refused parameter raises FormInvalid naming it."""
    try:
        query = engine().search.parse_audit(args)
    except SearchRefused as refused:
        raise FormInvalid(refused.message, {refused.field: refused.message}) from None
    return query, page_of(engine().search.audit(query), args, capped=True)


def rows(events) -> list[dict]:
    """A page's events as plain data, their detail masked."""
    return [dict(engine().search.audit_row(event), detail=mask_values(event.detail)) for event in events]


@bp.get("/audit")
@requires("admin")
def audit():
    try:
        query, page = search_page(request.args)
    except FormInvalid as refused:
        [(field, why)] = refused.details.items()
        return render_template("audit.html", page=None, events=[], search=engine().search.AuditQuery(), names={},
                               kinds=EVENTS, refused=_refusal(field, why)), 400
    events = rows(page.items)
    names = engine().people.display_names([event["actor"] for event in events])
    return render_template("audit.html", page=page, events=events, search=query, names=names, kinds=EVENTS,
                           refused=None, shown=_shown)


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _refusal(field: str, why) -> dict:
    """The refused field and why, in the page's language."""
    fields = {"actor": _("Who"), "kind": _("Event"), "instance_id": _("Case"), "text": _("Text"),
              "from": _("From"), "to": _("To")}
    return {"field": fields.get(field, field), "message": say(why)}
