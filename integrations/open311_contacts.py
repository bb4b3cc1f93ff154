"""The reporter's contact for the call-back team: ``/open311/contacts/<case>``, a page (or JSON when asked).

Only members of the team holding the case's call-back task, or the person who holds or did it, see it; before the
call-back task exists nobody does, the dispatcher included. Every look is written to the case's audit trail, without
the contact itself. Everywhere else (case page, API, Open311 reads, audit, exports) the workflow holds only the
masked form, as ``reporter``.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from engine.exceptions import NotFound
from webui.security import engine, requires


bp = Blueprint("open311_contacts", __name__, url_prefix="/open311")
CALLBACK_TASK = "callback"   # the closed loop's call-back task (bpmn/closed_loop.bpmn)


def may_see(user: dict, instance_id: int) -> bool:
    return any(team in user["inbox_teams"] or user["username"] in (assignee, done)
               for team, assignee, done in engine().open311.task_holders(instance_id, CALLBACK_TASK))


@bp.get("/contacts/<int:instance_id>")
@requires()
def contact(instance_id: int):
    found = engine().open311.request_for_instance(instance_id)
    if found is None or not may_see(g.user, instance_id):
        raise NotFound(f"no reporter contact of case {instance_id} for you")
    engine().record(instance_id, "contact.viewed", {"open311_request_id": found["id"]}, actor=g.user["username"])
    client = engine().open311.client(found["client_id"])
    if request.accept_mimetypes.best == "application/json":
        return {"instance_id": instance_id, "service_request_id": str(found["id"]), "contact": found["contact"],
                "client": client["name"], "channel": client["channel"]}
    return render_template("open311_contact.html", instance_id=instance_id, contact=found["contact"],
                           request_id=found["id"],
                           client=client["name"], channel=client["channel"])
