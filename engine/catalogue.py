"""What is deployed, for the process designer: processes with their versions and how much each is still used,
one version's files, and checking an edited file set without storing it.

Reads take a connection (``Engine.query``) and return plain dicts; ``check`` is pure.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from . import defaults
from .exceptions import DeploymentRejected, NotFound, TooLarge
from .models import Deployment, ProcessDefinition, ProcessInstance
from .persistence import ERROR, RUNNING
from .validation import validate_files

_definitions, _deployments, _instances = ProcessDefinition.__table__, Deployment.__table__, ProcessInstance.__table__
#: Instances in these states have not ended: they still run on their version (an errored one waits for a retry).
_UNFINISHED = (RUNNING, ERROR)


def _running_counts(connection) -> dict[int, int]:
    rows = connection.execute(select(_instances.c.definition_id, func.count())
                              .where(_instances.c.status.in_(_UNFINISHED))
                              .group_by(_instances.c.definition_id)).all()
    return {definition_id: count for definition_id, count in rows}


_VERSION_SELECT = select(_definitions.c.id, _definitions.c.process_id, _definitions.c.version, _definitions.c.name,
                         _definitions.c.deployment_id, _definitions.c.deployed_at, _deployments.c.deployed_by) \
    .join_from(_definitions, _deployments, _deployments.c.id == _definitions.c.deployment_id)


def processes(connection) -> list[dict]:
    """Every deployed process, by id, with its versions newest first: who deployed each, when, and how many
    instances still run on it."""
    running = _running_counts(connection)
    found: dict[str, dict] = {}
    for row in connection.execute(_VERSION_SELECT.order_by(_definitions.c.process_id,
                                                           _definitions.c.version.desc())).mappings():
        entry = found.setdefault(row["process_id"], {"process_id": row["process_id"], "name": row["name"],
                                                     "versions": []})
        entry["versions"].append({**row, "running": running.get(row["id"], 0)})
    for entry in found.values():
        entry["running"] = sum(v["running"] for v in entry["versions"])
    return list(found.values())


def version(connection, process_id: str, number: int) -> dict:
    """One version of a process: its row, who deployed it and when, its instances still running, and the whole
    file set of its deployment (name -> text)."""
    row = connection.execute(_VERSION_SELECT.where(_definitions.c.process_id == process_id,
                                                   _definitions.c.version == number)).mappings().one_or_none()
    if row is None:
        raise NotFound(f"process '{process_id}' has no version {number}")
    files = connection.scalar(select(_deployments.c.files).where(_deployments.c.id == row["deployment_id"]))
    newest = connection.scalar(select(func.max(_definitions.c.version))
                               .where(_definitions.c.process_id == process_id))
    return {**row, "running": _running_counts(connection).get(row["id"], 0), "files": dict(files),
            "newest": newest, "diagram_file": diagram_file(files, process_id)[0]}


def diagram_file(files: dict[str, str], process_id: str) -> tuple[str, str]:
    """(name, text) of the .bpmn file of ``files`` that defines ``process_id``."""
    pattern = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=\"" + re.escape(process_id) + "\"")
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn") and pattern.search(text):
            return name, text
    raise NotFound(f"no diagram defines process {process_id}")


def request_limit() -> int:
    """Largest request body that may carry a file set: JSON escaping (quotes, newlines) can double a diagram's size,
    so the body may be twice ``MAX_DEPLOY_SET_BYTES``; the files themselves are held to the limit by ``file_set``."""
    return 2 * defaults.MAX_DEPLOY_SET_BYTES


def check_request_size(size: int | None) -> None:
    """Refuse a request body over ``request_limit()`` before anything reads it (``size`` from Content-Length)."""
    if size is not None and size > request_limit():
        raise TooLarge(f"the request is {size} bytes; a file set may be at most {defaults.MAX_DEPLOY_SET_BYTES} "
                       f"bytes", {"limit": defaults.MAX_DEPLOY_SET_BYTES, "size": size})


def file_set(body: object) -> dict[str, bytes]:
    """An edited file set as the designer sends it, ``{"files": {name: text}}``, checked for shape and size: the
    files together may be at most ``MAX_DEPLOY_SET_BYTES``."""
    limit = defaults.MAX_DEPLOY_SET_BYTES
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not files or not all(
            isinstance(name, str) and isinstance(text, str) for name, text in files.items()):
        raise DeploymentRejected.single("(request)", 'send {"files": {"name.bpmn": "<xml ...>", ...}}')
    encoded = {name: text.encode("utf-8") for name, text in files.items()}
    total = sum(len(data) for data in encoded.values())
    if total > limit:
        raise TooLarge(f"the file set is {total} bytes; at most {limit} bytes may be sent at once",
                       {"limit": limit, "size": total})
    for name in encoded:
        if "/" in name or "\\" in name or name.startswith("."):
            raise DeploymentRejected.single(name, "file names may not contain a path")
    return encoded


def check(files: dict[str, bytes]) -> list[dict]:
    """Every problem the engine finds in ``files`` (file, element_id, line, message); empty when it would deploy.
    Nothing is stored."""
    try:
        validate_files(files)
    except DeploymentRejected as rejected:
        return [dict(problem.__dict__) for problem in rejected.problems]
    return []


def compare_versions(connection, process_id: str, old: int, new: int) -> dict:
    """Two versions of a process side by side: the elements of its diagram added, removed and changed, and the
    files of the two deployments added, removed and changed."""
    from .compare import compare, compare_files

    before, after = version(connection, process_id, old), version(connection, process_id, new)
    elements = compare(before["files"][before["diagram_file"]].encode("utf-8"),
                       after["files"][after["diagram_file"]].encode("utf-8"))
    strip = ("files",)
    return {"old": {k: v for k, v in before.items() if k not in strip},
            "new": {k: v for k, v in after.items() if k not in strip},
            "elements": elements, "files": compare_files(before["files"], after["files"])}
