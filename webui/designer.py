"""The process designer's pages: deployed processes and their versions, one version's files and diagram, comparing
two versions, rolling back; and the JSON endpoints the browser editor calls to validate and deploy a file set.

Designers and admins only. The JSON endpoints live under /api/v1/designer so errors come back as JSON (401 for
nobody, 413 for a file set over ``MAX_DEPLOY_SET_BYTES``, 422 with the engine's problem list); from a page they
need the X-CSRF-Token header like every session write.
"""
from __future__ import annotations

import io
import json

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for

from engine import catalogue
from engine.exceptions import NotFound
from . import access
from .i18n import t
from .security import engine, requires

bp = Blueprint("designer", __name__)
MIME = {".bpmn": "application/xml", ".dmn": "application/xml", ".json": "application/json"}


@bp.get("/designer")
@requires(*access.DESIGNER_ROLES)
def processes():
    return render_template("designer.html", processes=engine().query(catalogue.processes))


@bp.get("/designer/<process_id>/<int:number>")
@requires(*access.DESIGNER_ROLES)
def version(process_id: str, number: int):
    found = engine().query(catalogue.version, process_id, number)
    others = [v for p in engine().query(catalogue.processes) if p["process_id"] == process_id
              for v in p["versions"]]
    return render_template("designer_version.html", v=found, others=others)


@bp.get("/designer/<process_id>/edit")
@requires(*access.DESIGNER_ROLES)
def edit(process_id: str):
    """The bpmn-js modeler on the newest version's diagram; the page posts the whole file set back."""
    newest = next((p["versions"][0]["version"] for p in engine().query(catalogue.processes)
                   if p["process_id"] == process_id), None)
    if newest is None:
        raise NotFound(f"no process '{process_id}' is deployed")
    return render_template("designer_edit.html", v=engine().query(catalogue.version, process_id, newest))


@bp.get("/designer/<process_id>/<int:number>/files/<name>")
@requires(*access.DESIGNER_ROLES)
def file(process_id: str, number: int, name: str):
    files = engine().query(catalogue.version, process_id, number)["files"]
    if name not in files:
        raise NotFound(f"version {number} of {process_id} has no file {name}")
    mime = next((m for suffix, m in MIME.items() if name.endswith(suffix)), "text/plain")
    return send_file(io.BytesIO(files[name].encode("utf-8")), mimetype=mime, as_attachment=True,
                     download_name=name)


@bp.get("/designer/<process_id>/compare")
@requires(*access.DESIGNER_ROLES)
def compare(process_id: str):
    old, new = request.args.get("from", type=int), request.args.get("to", type=int)
    if old is None or new is None:
        raise NotFound("choose two versions to compare (?from=N&to=M)")
    result = engine().query(catalogue.compare_versions, process_id, old, new)
    return render_template("designer_compare.html", process_id=process_id, result=result)


@bp.post("/designer/deployments/<int:deployment_id>/roll-back")
@requires(*access.DESIGNER_ROLES)
def roll_back(deployment_id: int):
    result = engine().roll_back(deployment_id, deployed_by=g.user["username"])
    flash(f"{t('rolled_back') if result.created else t('already_current')}: {_versions(result.versions)}",
          "ok" if result.created else "info")
    process_id = request.form.get("process_id")
    if process_id not in result.versions:
        process_id = sorted(result.versions)[0]
    return redirect(url_for("designer.version", process_id=process_id, number=result.versions[process_id]))


def _files() -> dict[str, bytes]:
    """The posted file set; a body over the limit is refused by its Content-Length before anything reads it, and
    one sent without a length (chunked) is read no further than one byte past the limit."""
    catalogue.check_request_size(request.content_length)
    raw = request.stream.read(catalogue.request_limit() + 1)
    catalogue.check_request_size(len(raw))
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return catalogue.file_set(body)


@bp.post("/api/v1/designer/validate")
@requires(*access.DESIGNER_ROLES)
def validate():
    problems = catalogue.check(_files())
    return {"valid": not problems, "problems": problems}


@bp.post("/api/v1/designer/deploy")
@requires(*access.DESIGNER_ROLES)
def deploy():
    result = engine().deploy(_files(), deployed_by=g.user["username"])
    body = {"created": result.created, "deployment_id": result.deployment_id, "versions": result.versions,
            "message": (f"deployed as {_versions(result.versions)}" if result.created else
                        f"the same content is already deployment {result.deployment_id} "
                        f"({_versions(result.versions)}): no new version")}
    return body, 201 if result.created else 200


def _versions(versions: dict[str, int]) -> str:
    return ", ".join(f"{p} v{n}" for p, n in sorted(versions.items()))
