"""The dispatcher's "same problem?" pages (engine/same_problem.py owns the rule and the merge).

``/same`` lists the reports of every channel (patrol, video, hotline, resident) waiting for registration that have an
open case of the same scenario nearby; ``/same/<case>`` shows one report beside its neighbours, each with a merge
button. Merging attaches the report to the open case: its registration ends as a duplicate, its Open311 request and
its photos follow the open case, and the open case's timeline says so.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from . import access, evidence
from .security import engine, requires

bp = Blueprint("same_problem", __name__)


@bp.get("/same")
@requires(*access.REPORT_ROLES)
def waiting():
    """Reports still waiting for registration that have an open neighbour of the same scenario."""
    return _page(engine().same_problem_waiting())


@bp.get("/same/<int:instance_id>")
@requires(*access.REPORT_ROLES)
def one(instance_id: int):
    case, near = engine().same_problem(instance_id)
    return _page([{"case": case, "neighbours": near}])


def _page(items: list[dict]):
    """The decisions, each report with its photos (a patrol photo or a video snapshot helps judge)."""
    for item in items:
        item["photos"] = evidence.listing(current_app.config["EVIDENCE_DIR"], item["case"]["instance_id"])
    return render_template("same_problem.html", items=items)


@bp.post("/same/<int:instance_id>/merge/<int:into>")
@requires(*access.REPORT_ROLES)
def merge(instance_id: int, into: int):
    engine().merge_report(instance_id, into, actor=g.user["username"])
    copied = evidence.copy_all(current_app.config["EVIDENCE_DIR"], instance_id, into)
    if copied:
        engine().record(into, "evidence.attached", {"from_case": instance_id, "files": copied},
                        actor=g.user["username"])
    flash(_("Report #%(report)s merged into this case", report=instance_id), "ok")
    return redirect(url_for("cases.case", instance_id=into))
