"""The designer's DMN decision tables: each decision's versions (listed on the designer's index page), one version
with its rules and the process versions deployed with it, and the dmn-js editor on the newest file holding it.

Designers and admins only. Editing posts the whole file set of the newest deployment holding the decision, with the
edited DMN file, to the designer's own JSON endpoints (/api/v1/designer/validate and /deploy): a decision is
deployed inside a file set, like everything else.
"""
from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file

from . import access
from .security import engine, requires

bp = Blueprint("decisions", __name__)


@bp.get("/designer/decisions/<decision_id>/<int:number>")
@requires(*access.DESIGNER_ROLES)
def version(decision_id: str, number: int):
    found = engine().designs.decision(decision_id, number)
    return render_template("decisions_version.html", d=found)


@bp.get("/designer/decisions/<decision_id>/<int:number>/file")
@requires(*access.DESIGNER_ROLES)
def file(decision_id: str, number: int):
    found = engine().designs.decision(decision_id, number)
    return send_file(io.BytesIO(found["files"][found["file"]].encode("utf-8")), mimetype="application/xml",
                     as_attachment=True, download_name=found["file"])


@bp.get("/designer/decisions/<decision_id>/edit")
@requires(*access.DESIGNER_ROLES)
def edit(decision_id: str):
    """The dmn-js modeler on the newest deployed file holding the decision; the page posts the whole file set."""
    return render_template("decisions_edit.html", d=engine().designs.decision(decision_id))
