"""The designer's what-if runs: asked for on the designer's page, run as a background job (``simulation/jobs.py``),
watched while they run and read afterwards.

A run compares the setup in force (A: the files of every process's newest version) with a proposed one (B: the
same with one process version's or a draft's files, another routing table, and/or a staffing plan). What B's files
are is settled when the run is asked for (a draft as it stands then), so editing on while the run waits or runs
changes nothing of it. The simulation itself is not the engine's business: this module only keeps the row.

Statuses: ``queued`` -> ``running`` -> ``done`` | ``failed`` (``error`` says why, in words a designer can act on).
"""
from __future__ import annotations

import json

from sqlalchemy import select, update

from . import catalogue, clock, drafts
from .exceptions import Message, NotFound
from .models import WhatifRun
from .store import Store

_runs = WhatifRun.__table__
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: The columns a list of runs shows (not B's files nor the whole comparison).
_LISTED = (_runs.c.id, _runs.c.requested_by, _runs.c.requested_at, _runs.c.process_id, _runs.c.setup,
           _runs.c.status, _runs.c.progress, _runs.c.error, _runs.c.started_at, _runs.c.finished_at)


def files_in_force(connection) -> dict[str, str]:
    """The file set new cases run on now: every process's newest version's deployment, the newer deployment's copy
    of a file winning."""
    newest: dict[str, int] = {}
    for process in catalogue.processes(connection):
        newest[process["process_id"]] = process["versions"][0]["deployment_id"]
    files: dict[str, str] = {}
    for deployment_id in sorted(set(newest.values())):
        files.update(catalogue.deployment_files(connection, deployment_id))
    return files


def b_files(connection, requested_by: str, b: dict | None, routing: dict | None) -> dict[str, str]:
    """B's own files over those in force: a process version's deployment (``{"version": N, "process_id": ...}``),
    the asker's draft (``{"draft": process_id}``), then a decision version's file (``{"decision_id", "version"}``)."""
    files: dict[str, str] = {}
    if b and b.get("draft"):
        draft = drafts.mine(connection, b["draft"], requested_by)
        if draft is None:
            raise NotFound(Message("you have no draft of {process}", process=b["draft"]))
        files.update(draft["files"])
    elif b and b.get("version"):
        files.update(catalogue.version(connection, b["process_id"], b["version"])["files"])
    if routing:
        found = catalogue.decision(connection, routing["decision_id"], routing["version"])
        files[found["file"]] = found["files"][found["file"]]
    return files


class WhatifRuns:
    """The runs' table, for the designer's page and the job that runs them."""

    def __init__(self, store: Store):
        self.store = store

    def ask(self, requested_by: str, setup: dict, process_id: str | None = None) -> int:
        """Store a run asked for, queued, with B's files as they stand now (``setup["b"]``, ``setup["routing"]``);
        NotFound when the version, draft or decision named does not exist."""
        with self.store.begin() as connection:
            files = b_files(connection, requested_by, setup.get("b"), setup.get("routing"))
            return connection.execute(_runs.insert().values(
                requested_by=requested_by, requested_at=clock.now(), process_id=process_id, setup=setup,
                files=files or None, status=QUEUED, progress={"done": 0, "total": 0, "line": ""})).inserted_primary_key[0]

    def get(self, run_id: int) -> dict:
        with self.store.read() as connection:
            row = connection.execute(select(_runs).where(_runs.c.id == run_id)).mappings().one_or_none()
        if row is None:
            raise NotFound(Message("no what-if run {run}", run=run_id))
        return dict(row)

    def recent(self, process_id: str | None = None, limit: int = 20) -> list[dict]:
        """The newest runs first (of one process when given), without B's files and the comparison."""
        query = select(*_LISTED).order_by(_runs.c.id.desc()).limit(limit)
        if process_id is not None:
            query = query.where(_runs.c.process_id == process_id)
        with self.store.read() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def choices(self, process_id: str | None, author: str) -> dict:
        """What B may be, for the form: the process's versions (NotFound when it is not deployed), ``author``'s
        draft of it (without files) and every decision table's versions."""
        with self.store.read() as connection:
            versions = catalogue.versions_of(connection, process_id) if process_id else []
            if process_id and not versions:
                raise NotFound(Message("no process '{process}' is deployed", process=process_id))
            draft = drafts.mine(connection, process_id, author) if process_id else None
            return {"versions": versions, "draft": draft and {k: v for k, v in draft.items() if k != "files"},
                    "decisions": catalogue.decisions(connection)}

    def files_in_force(self) -> dict[str, str]:
        with self.store.read() as connection:
            return files_in_force(connection)

    def started(self, run_id: int, total: int) -> None:
        self._set(run_id, status=RUNNING, started_at=clock.now(), finished_at=None, error=None, result=None,
                  progress={"done": 0, "total": total, "line": ""})

    def progressed(self, run_id: int, done: int, total: int, line: str) -> None:
        self._set(run_id, progress={"done": done, "total": total, "line": line[:500]})

    def finished(self, run_id: int, result: dict) -> None:
        plain = json.loads(json.dumps(result, default=str))   # seeds as keys, tuples: as JSON will hold them
        self._set(run_id, status=DONE, result=plain, finished_at=clock.now())

    def failed(self, run_id: int, reason: str) -> None:
        self._set(run_id, status=FAILED, error=reason[:4000], finished_at=clock.now())

    def _set(self, run_id: int, **values) -> None:
        with self.store.begin() as connection:
            connection.execute(update(_runs).where(_runs.c.id == run_id).values(**values))
