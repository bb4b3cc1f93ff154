"""What is deployed, for the process designer: processes with their versions and how much each is still used,
one version's files, and checking an edited file set without storing it; DMN decisions with versions of their own.

Reads take a connection and return plain dicts (the edges call them through ``Engine.designs``); ``check`` is pure.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from lxml import etree
from sqlalchemy import func, select

from . import defaults
from .exceptions import DeploymentRejected, Message, NotFound, TooLarge
from .models import Deployment, ProcessDefinition, ProcessInstance
from .models import ERROR, RUNNING
from .deploy.validation import DMN_SUFFIX, parse_xml, validate_files

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


def versions_of(connection, process_id: str) -> list[dict]:
    """One process's versions as ``processes`` lists them, newest first; empty when it is not deployed."""
    return next((p["versions"] for p in processes(connection) if p["process_id"] == process_id), [])


def version(connection, process_id: str, number: int) -> dict:
    """One version of a process: its row, who deployed it and when, its instances still running, and the whole
    file set of its deployment (name -> text)."""
    row = connection.execute(_VERSION_SELECT.where(_definitions.c.process_id == process_id,
                                                   _definitions.c.version == number)).mappings().one_or_none()
    if row is None:
        raise NotFound(Message("process '{process}' has no version {number}", process=process_id, number=number))
    files = connection.scalar(select(_deployments.c.files).where(_deployments.c.id == row["deployment_id"]))
    newest = connection.scalar(select(func.max(_definitions.c.version))
                               .where(_definitions.c.process_id == process_id))
    return {**row, "running": _running_counts(connection).get(row["id"], 0), "files": dict(files),
            "newest": newest, "diagram_file": diagram_file(files, process_id)[0]}


def deployment_files(connection, deployment_id: int) -> dict[str, str]:
    """One deployment's whole file set (name -> text)."""
    return dict(connection.scalar(select(_deployments.c.files).where(_deployments.c.id == deployment_id)) or {})


def diagram_file(files: dict[str, str], process_id: str) -> tuple[str, str]:
    """(name, text) of the .bpmn file of ``files`` that defines ``process_id``."""
    pattern = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=\"" + re.escape(process_id) + "\"")
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn") and pattern.search(text):
            return name, text
    raise NotFound(Message("no diagram defines process {process}", process=process_id))


def request_limit() -> int:
    """Largest request body that may carry a file set: JSON escaping (quotes, newlines) can double a diagram's size,
    so the body may be twice ``MAX_DEPLOY_SET_BYTES``; the files themselves are held to the limit by ``file_set``."""
    return 2 * defaults.MAX_DEPLOY_SET_BYTES


def check_request_size(size: int | None) -> None:
    """Refuse a request body over ``request_limit()`` before anything reads it (``size`` from Content-Length)."""
    if size is not None and size > request_limit():
        raise TooLarge(Message("the request is {size} bytes; a file set may be at most {limit} bytes", size=size,
                               limit=defaults.MAX_DEPLOY_SET_BYTES),
                       {"limit": defaults.MAX_DEPLOY_SET_BYTES, "size": size})


def file_set(body: object) -> dict[str, bytes]:
    """An edited file set as the designer sends it, ``{"files": {name: text}}``, checked for shape and size: the
    files together may be at most ``MAX_DEPLOY_SET_BYTES``."""
    limit = defaults.MAX_DEPLOY_SET_BYTES
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not files or not all(
            isinstance(name, str) and isinstance(text, str) for name, text in files.items()):
        raise DeploymentRejected.single("(request)", Message("send {example}",
                                                             example='{"files": {"name.bpmn": "<xml ...>", ...}}'))
    encoded = {name: text.encode("utf-8") for name, text in files.items()}
    total = sum(len(data) for data in encoded.values())
    if total > limit:
        raise TooLarge(Message("the file set is {size} bytes; at most {limit} bytes may be sent at once", size=total,
                               limit=limit),
                       {"limit": limit, "size": total})
    for name in encoded:
        if "/" in name or "\\" in name or name.startswith("."):
            raise DeploymentRejected.single(name, Message("file names may not contain a path"))
    return encoded


def check(files: dict[str, bytes], roster: set[str] | None = None) -> list[dict]:
    """Every problem the engine finds in ``files`` (file, element_id, line, message), with team names missing from
    ``roster`` when one is given; empty when it would deploy. Nothing is stored."""
    try:
        validate_files(files, roster)
    except DeploymentRejected as rejected:
        return [dict(problem.__dict__) for problem in rejected.problems]
    return []


def compare_versions(connection, process_id: str, old: int, new: int) -> dict:
    """Two versions of a process side by side: the elements of its diagram added, removed and changed, and the
    files of the two deployments added, removed and changed."""
    from .deploy.compare import compare, compare_files

    before, after = version(connection, process_id, old), version(connection, process_id, new)
    elements = compare(before["files"][before["diagram_file"]].encode("utf-8"),
                       after["files"][after["diagram_file"]].encode("utf-8"))
    strip = ("files",)
    return {"old": {k: v for k, v in before.items() if k not in strip},
            "new": {k: v for k, v in after.items() if k not in strip},
            "elements": elements, "files": compare_files(before["files"], after["files"])}


# -- DMN decisions ---------------------------------------------------------------------------------------------------
# A decision has no table of its own: it is deployed inside file sets. Its versions are read from the deployments in
# the order they were made: a deployment whose copy of the decision differs from the decision's previous version
# (its elements, attributes and text; not layout, comments or namespace prefixes) makes the next version; one with
# the same copy adds itself to that version's deployments. Like a process, content deployed again after a change (a
# roll back) is a new version, not the old number.

def decisions(connection) -> list[dict]:
    """Every deployed DMN decision, by id, with its versions newest first: the file, who deployed it and when, the
    deployment that made it, and the process versions deployed with it (every deployment holding this copy of the
    decision) with their running instances."""
    running = _running_counts(connection)
    used_by: dict[int, list[dict]] = {}
    for row in connection.execute(select(_definitions.c.id, _definitions.c.process_id, _definitions.c.version,
                                         _definitions.c.deployment_id)
                                  .order_by(_definitions.c.process_id)).mappings():
        used_by.setdefault(row["deployment_id"], []).append(
            {"process_id": row["process_id"], "version": row["version"], "deployment_id": row["deployment_id"],
             "running": running.get(row["id"], 0)})
    found: dict[str, dict] = {}
    deployments = connection.execute(select(_deployments.c.id, _deployments.c.content_hash, _deployments.c.deployed_by,
                                            _deployments.c.deployed_at).order_by(_deployments.c.id)).mappings().all()
    _read_decisions(connection, [d["id"] for d in deployments if d["content_hash"] not in _DECISIONS_BY_CONTENT])
    for deployment in deployments:
        for name, decision_id, label, digest in _DECISIONS_BY_CONTENT[deployment["content_hash"]]:
            _add_copy(found, decision_id, label, digest, name, deployment, used_by.get(deployment["id"], []))
    for entry in found.values():
        entry["versions"].reverse()
        for item in entry["versions"]:
            item["running"] = sum(p["running"] for p in item["processes"])
        entry["running"] = sum(v["running"] for v in entry["versions"])
    return sorted(found.values(), key=lambda e: e["decision_id"])


def decision(connection, decision_id: str, number: int | None = None) -> dict:
    """One version of a decision (the newest when ``number`` is None) as ``decisions`` lists it, with ``newest``,
    the whole file set of the newest deployment holding it (``files``; ``file`` names the DMN file in it), and its
    decision table as plain rows (``table``; None for a decision that is not a table)."""
    entry = next((e for e in decisions(connection) if e["decision_id"] == decision_id), None)
    if entry is None:
        raise NotFound(Message("no decision '{decision}' is deployed", decision=decision_id))
    newest = entry["versions"][0]["version"]
    found = next((v for v in entry["versions"] if v["version"] == (newest if number is None else number)), None)
    if found is None:
        raise NotFound(Message("decision '{decision}' has no version {number}", decision=decision_id, number=number))
    latest = found["deployments"][-1]
    files = connection.scalar(select(_deployments.c.files).where(_deployments.c.id == latest["deployment_id"]))
    return {**found, "decision_id": decision_id, "name": entry["name"], "newest": newest, "files": dict(files),
            "file": latest["file"], "table": decision_table(files[latest["file"]], decision_id)}


def decision_table(text: str, decision_id: str) -> dict | None:
    """The decision table of ``decision_id`` in a DMN file, for reading: hit policy, inputs (label, expression),
    outputs (label, variable name) and rules (id, description, input and output cells, each with its id)."""
    root = parse_xml("decision.dmn", text.encode("utf-8"), [])
    element = None if root is None else next((d for d in root.iter("{*}decision") if d.get("id") == decision_id),
                                              None)
    table = None if element is None else element.find("{*}decisionTable")
    if table is None:
        return None

    def cells(rule, tag):
        return [{"id": cell.get("id"), "text": (cell.findtext("{*}text") or "").strip()}
                for cell in rule.findall(tag)]

    return {"hit_policy": table.get("hitPolicy") or "UNIQUE",
            "inputs": [{"id": put.get("id"), "label": put.get("label") or "",
                        "expression": (put.findtext("{*}inputExpression/{*}text") or "").strip()}
                       for put in table.findall("{*}input")],
            "outputs": [{"id": put.get("id"), "label": put.get("label") or "", "name": put.get("name") or ""}
                        for put in table.findall("{*}output")],
            "rules": [{"id": rule.get("id"), "description": (rule.findtext("{*}description") or "").strip(),
                       "inputs": cells(rule, "{*}inputEntry"), "outputs": cells(rule, "{*}outputEntry")}
                      for rule in table.findall("{*}rule")]}


#: A deployment's content hash -> (file, decision id, name, content digest) of every decision in its DMN files.
#: Deployed files never change, so each deployment's files are read and parsed once per process, not on every
#: designer page (200 deployments took 0.2 s a page when every page read them all).
_DECISIONS_BY_CONTENT: dict[str, tuple[tuple[str, str, str, str], ...]] = {}


def _read_decisions(connection, deployment_ids: list[int]) -> None:
    for chunk in range(0, len(deployment_ids), 500):
        for digest, files in connection.execute(select(_deployments.c.content_hash, _deployments.c.files).where(
                _deployments.c.id.in_(deployment_ids[chunk:chunk + 500]))):
            _DECISIONS_BY_CONTENT[digest] = tuple((name, *decision) for name, text in sorted(files.items())
                                                  if name.endswith(DMN_SUFFIX) for decision in _decisions_in(text))


@lru_cache(maxsize=256)
def _decisions_in(text: str) -> tuple[tuple[str, str, str], ...]:
    """(id, name, content digest) of each decision in one DMN file's text (most deployments carry the same tables:
    each distinct text is parsed once)."""
    root = parse_xml("decision.dmn", text.encode("utf-8"), [])
    if root is None:  # every deployed file passed validation; an unreadable one is shown as having no decisions
        return ()
    return tuple((element.get("id"), element.get("name") or element.get("id"), _content_digest(element))
                 for element in root.iter("{*}decision") if element.get("id"))


def _content_digest(element) -> str:
    """A digest of what a decision says: each element's name, attributes, text and number of child elements, in
    document order. Layout, comments and namespace prefixes do not count, so a tool that re-indents the whole file
    on save (dmn-js does) makes no new version of the decisions it did not change."""
    digest = hashlib.sha256()
    for node in element.iter(etree.Element):
        children = sum(1 for child in node if isinstance(child.tag, str))
        digest.update(repr((node.tag, sorted(node.attrib.items()), (node.text or "").strip(), children)).encode())
    return digest.hexdigest()


def _add_copy(found: dict, decision_id: str, label: str, digest: str, file_name: str, deployment, processes) -> None:
    """Count one deployment's copy of a decision: a new version when it differs from the previous one."""
    entry = found.setdefault(decision_id, {"decision_id": decision_id, "name": label, "versions": []})
    versions = entry["versions"]
    if versions and versions[-1]["deployments"][-1]["deployment_id"] == deployment["id"]:
        return  # the same decision id twice in one deployment: the first file (by name) counts
    entry["name"] = label
    if not versions or versions[-1]["digest"] != digest:
        versions.append({"version": len(versions) + 1, "digest": digest, "file": file_name,
                         "deployment_id": deployment["id"], "deployed_by": deployment["deployed_by"],
                         "deployed_at": deployment["deployed_at"], "deployments": [], "processes": []})
    versions[-1]["deployments"].append({"deployment_id": deployment["id"], "file": file_name,
                                        "deployed_by": deployment["deployed_by"],
                                        "deployed_at": deployment["deployed_at"]})
    versions[-1]["processes"].extend(processes)
