"""The process designer's pages: deployed processes and their versions, one version's files and diagram, comparing
two versions, rolling back, and the editor (modeler, properties panel, forms beside the diagram); and the JSON
endpoints the editor calls: validate and deploy a file set, keep or discard a draft, preview a form schema.

Designers and admins only. The JSON endpoints live under /api/v1/designer so errors come back as JSON (401 for
nobody, 413 for a file set over ``MAX_DEPLOY_SET_BYTES``, 422 with the engine's problem list, 409 when a newer
version was deployed since the edit began); from a page they need the X-CSRF-Token header like every session write.
See docs/designer.md.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for

from engine import check_schema, check_ui_schema, unicode_problems
from engine.exceptions import Conflict, DeploymentRejected, NotFound, Problem
from . import access, inputs, schema_form
from flask_babel import gettext as _

from .i18n import name_of, panel_labels, say
from .vocabulary import choices
from .security import engine, requires

bp = Blueprint("designer", __name__)
#: The spiffworkflow extension elements for bpmn-js's moddle, so the modeler reads and writes them as typed
#: elements (properties, calledDecisionId, ...); elements it has no type for would be dropped on save.
SPIFF_MODDLE = json.loads((Path(__file__).parent / "static" / "spiffworkflow-moddle.json").read_text("utf-8"))
#: The longest process id a draft can be kept under (the column's length).
MAX_PROCESS_ID = 200
MIME = {".bpmn": "application/xml", ".dmn": "application/xml", ".json": "application/json"}


@bp.get("/designer")
@requires(*access.DESIGNER_ROLES)
def processes():
    return render_template("designer.html", processes=engine().designs.processes(),
                           decisions=engine().designs.decisions(), drafts=engine().designs.drafts())


@bp.get("/designer/<process_id>/<int:number>")
@requires(*access.DESIGNER_ROLES)
def version(process_id: str, number: int):
    found = engine().designs.version(process_id, number)
    return render_template("designer_version.html", v=found,
                           others=engine().designs.versions_of(process_id))


@bp.get("/designer/<process_id>/edit")
@requires(*access.DESIGNER_ROLES)
def edit(process_id: str):
    """The bpmn-js modeler with the properties panel, on the designer's own draft of the process when there is one,
    else on the newest version; the page posts the whole file set back to validate, save as draft or deploy."""
    versions = engine().designs.versions_of(process_id)
    if not versions:
        raise NotFound(_("no process '%(process)s' is deployed", process=process_id))
    v = engine().designs.version(process_id, versions[0]["version"])
    draft = engine().designs.draft(process_id, g.user["username"])
    teams = [{"code": team["code"], "name": name_of("team", team["code"])} for team in engine().people.teams()]
    return render_template("designer_edit.html", v=v, draft=draft, files=draft["files"] if draft else v["files"],
                           editor={"teams": teams, "stages": choices("stage"), "labels": panel_labels(),
                                   "moddle": SPIFF_MODDLE})


@bp.get("/designer/<process_id>/<int:number>/files/<name>")
@requires(*access.DESIGNER_ROLES)
def file(process_id: str, number: int, name: str):
    files = engine().designs.version(process_id, number)["files"]
    if name not in files:
        raise NotFound(_("version %(number)s of %(process)s has no file %(name)s", number=number, process=process_id,
                         name=name))
    mime = next((m for suffix, m in MIME.items() if name.endswith(suffix)), "text/plain")
    return send_file(io.BytesIO(files[name].encode("utf-8")), mimetype=mime, as_attachment=True,
                     download_name=name)


@bp.get("/designer/<process_id>/compare")
@requires(*access.DESIGNER_ROLES)
def compare(process_id: str):
    old, new = inputs.id_arg(request.args, "from"), inputs.id_arg(request.args, "to")
    if old is None or new is None:
        raise NotFound(_("choose two versions to compare (?from=N&to=M)"))
    result = engine().designs.compare_versions(process_id, old, new)
    return render_template("designer_compare.html", process_id=process_id, result=result)


@bp.post("/designer/deployments/<int:deployment_id>/roll-back")
@requires(*access.DESIGNER_ROLES)
def roll_back(deployment_id: int):
    result = engine().roll_back(deployment_id, deployed_by=g.user["username"])
    said = _("Rolled back, new version") if result.created else _("That version is already the newest; no new version")
    flash(f"{said}: {_versions(result.versions)}", "ok" if result.created else "info")
    process_id = request.form.get("process_id")
    if process_id not in result.versions:
        process_id = sorted(result.versions)[0]
    return redirect(url_for("designer.version", process_id=process_id, number=result.versions[process_id]))


def _body(files_checked_by_validation: bool = False) -> dict:
    """The posted JSON body, ``{"files": {name: text}, ...}``; a body over the limit is refused by its
    Content-Length before anything reads it, and one sent without a length (chunked) is read no further than one
    byte past the limit. Validate and deploy (``files_checked_by_validation``) leave the files' texts to validation,
    which names the file and line of a NUL or lone surrogate; everything else stored must be storable here."""
    engine().designs.check_request_size(request.content_length)
    raw = request.stream.read(engine().designs.request_limit() + 1)
    engine().designs.check_request_size(len(raw))
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        return {}
    checked = {k: v for k, v in body.items() if k != "files"} if files_checked_by_validation else body
    unstorable = inputs.problem_in(checked)
    if unstorable:
        raise DeploymentRejected.single("(request)", unstorable)
    return body


def _not_unicode(body: dict) -> list[Problem]:
    """Texts that cannot be encoded (unpaired surrogates): validate and deploy both refuse them, by file and line."""
    files = body.get("files")
    return unicode_problems(files) if isinstance(files, dict) else []


@bp.post("/api/v1/designer/validate")
@requires(*access.DESIGNER_ROLES)
def validate():
    body = _body(files_checked_by_validation=True)
    problems = [dict(p.__dict__) for p in _not_unicode(body)] or \
        engine().designs.check(engine().designs.file_set(body), roster=engine().people.roster())
    return {"valid": not problems, "problems": say(problems)}


@bp.post("/api/v1/designer/deploy")
@requires(*access.DESIGNER_ROLES)
def deploy():
    """Deploy the posted file set. With ``"draft": process_id`` (the editor sends it) the caller's draft of that
    process is dropped once its content is deployed, and the set is refused with 409 when someone deployed a newer
    version of the process since ``base_deployment_id`` was opened: deploying the older set would silently undo
    their change (``"force": true`` deploys it anyway)."""
    body = _body(files_checked_by_validation=True)
    if _not_unicode(body):
        raise DeploymentRejected(_not_unicode(body))
    files = engine().designs.file_set(body)
    if isinstance(body.get("draft"), str) and not body.get("force"):
        _refuse_if_overtaken(body["draft"], body.get("base_deployment_id"))
    result = engine().deploy(files, deployed_by=g.user["username"], roster=engine().people.roster())
    if isinstance(body.get("draft"), str):
        engine().designs.discard_draft(body["draft"], g.user["username"])
    response = {"created": result.created, "deployment_id": result.deployment_id, "versions": result.versions,
                "message": (_("deployed as %(versions)s", versions=_versions(result.versions)) if result.created else
                            _("the same content is already deployment %(deployment)s (%(versions)s): no new version",
                              deployment=result.deployment_id, versions=_versions(result.versions)))}
    return response, 201 if result.created else 200


def _refuse_if_overtaken(process_id: str, base: object) -> None:
    newest = (engine().designs.versions_of(process_id) or [None])[0]
    if newest is not None and isinstance(base, int) and newest["deployment_id"] != base:
        raise Conflict(_("%(process)s v%(version)s was deployed by %(user)s after you opened it; deploying now "
                         "would undo that change. Compare the versions first, or deploy anyway.", process=process_id,
                         version=newest["version"], user=newest["deployed_by"]), {"version": newest["version"], "deployed_by": newest["deployed_by"],
                                     "deployment_id": newest["deployment_id"]})


@bp.put("/api/v1/designer/drafts/<process_id>")
@requires(*access.DESIGNER_ROLES)
def save_draft(process_id: str):
    """Keep the posted file set as the caller's draft of the process: not validated, only size- and shape-checked."""
    if len(process_id) > MAX_PROCESS_ID:
        raise DeploymentRejected.single("(request)", _("a process id has at most %(length)s characters",
                                                       length=MAX_PROCESS_ID))
    body = _body()
    base = body.get("base_deployment_id")
    saved = engine().designs.save_draft(process_id, g.user["username"], engine().designs.file_set(body),
                                        inputs.row_id(base))
    return {**saved, "message": _('Draft saved')}


@bp.delete("/api/v1/designer/drafts/<process_id>")
@requires(*access.DESIGNER_ROLES)
def discard_draft(process_id: str):
    return {"discarded": engine().designs.discard_draft(process_id, g.user["username"])}


@bp.post("/api/v1/designer/form-preview")
@requires(*access.DESIGNER_ROLES)
def form_preview():
    """A form schema as the officer's task page would show it, for the designer's live preview: the fields as HTML
    (the task page's own template), or 422 saying where the schema is broken."""
    body = _body()
    text, name = body.get("schema"), body.get("name") or "form.json"
    ui_text, ui_name = body.get("ui"), body.get("ui_name") or "layout.json"
    if not isinstance(text, str) or not isinstance(name, str) or not isinstance(ui_text, (str, type(None))) \
            or not isinstance(ui_name, str):
        raise DeploymentRejected.single("(request)", 'send {"name": "x.json", "schema": "<JSON text>", '
                                                     '"ui_name": "x.ui.json", "ui": "<JSON text>"}')
    schema, problems = check_schema(name, text.encode("utf-8"))
    ui, ui_problems = check_ui_schema(ui_name, ui_text.encode("utf-8")) if ui_text else (None, [])
    if problems or ui_problems:
        raise DeploymentRejected(problems + ui_problems)
    fields = schema_form.fields(schema, ui=ui)
    return {"fields": [f.name for f in fields], "html": render_template("_form_fields.html", fields=fields)}


def _versions(versions: dict[str, int]) -> str:
    return ", ".join(f"{p} v{n}" for p, n in sorted(versions.items()))
