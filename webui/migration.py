"""Moving the running cases of an older process version to a newer one, for designers and admins.

The page posts from a version's page and shows every instance moved or refused with the reason; its JSON twin under
/api/v1/designer returns the same outcomes. The engine decides what is safe (``engine.migration``); this module only
reads the request and shows the result.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from engine.exceptions import FormInvalid
from . import access, inputs
from .security import engine, requires

bp = Blueprint("migration", __name__)


def _summary(process_id: str, number: int, outcomes: list) -> dict:
    return {"process_id": process_id, "from_version": number,
            "to_version": outcomes[0].to_version if outcomes else None,
            "migrated": sum(o.migrated for o in outcomes), "refused": sum(not o.migrated for o in outcomes),
            "instances": [o.to_dict() for o in outcomes]}


@bp.post("/designer/<process_id>/<int:number>/migrate")
@requires(*access.DESIGNER_ROLES)
def migrate(process_id: str, number: int):
    # The version the page offered, so a version deployed since the page was opened is not used unseen.
    to_version = inputs.id_arg(request.form, "to_version")
    outcomes = engine().migrate_version(process_id, number, to_version, actor=g.user["username"])
    return render_template("designer_migrate.html", process_id=process_id, number=number,
                           to_version=to_version or (outcomes[0].to_version if outcomes else None),
                           outcomes=outcomes)


@bp.post("/api/v1/designer/<process_id>/<int:number>/migrate")
@requires(*access.DESIGNER_ROLES)
def migrate_api(process_id: str, number: int):
    body = request.get_json(silent=True) or {}
    to_version = body.get("to_version") if isinstance(body, dict) else None
    if to_version is not None and inputs.row_id(to_version) is None:
        raise FormInvalid("to_version must be a version number", {"to_version": "not an integer"})
    outcomes = engine().migrate_version(process_id, number, to_version, actor=g.user["username"])
    return _summary(process_id, number, outcomes)
