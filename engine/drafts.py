"""Designers' drafts: the file set of a process as one designer left it, kept until deployed or discarded.

A draft is not validated (half-finished work often is not valid), only held to the deploy size limit and the
shape of a file set (``catalogue.file_set``). One draft per designer and process: saving again replaces it.
Reads take a connection, writes the store; the edges reach both through ``Engine.designs`` (engine/services.py).
"""
from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from . import clock
from .models import DesignDraft, Deployment, ProcessDefinition
from .store import Store

_drafts, _definitions = DesignDraft.__table__, ProcessDefinition.__table__


def save(store: Store, process_id: str, author: str, files: dict[str, bytes],
         base_deployment_id: int | None) -> dict:
    """Keep ``files`` as ``author``'s draft of ``process_id`` (replacing an earlier one); returns the draft's row."""
    values = {"files": {name: data.decode("utf-8") for name, data in files.items()}, "saved_at": clock.now()}
    mine = (_drafts.c.process_id == process_id) & (_drafts.c.author == author)
    for attempt in range(2):  # a save racing another's first insert finds the row on its second pass
        try:
            with store.begin() as connection:
                values["base_deployment_id"] = _existing_deployment(connection, base_deployment_id)
                if not connection.execute(update(_drafts).where(mine).values(**values)).rowcount:
                    connection.execute(_drafts.insert().values(process_id=process_id, author=author, **values))
            break
        except IntegrityError:
            if attempt:
                raise
    return {"process_id": process_id, "author": author, "saved_at": values["saved_at"],
            "base_deployment_id": values["base_deployment_id"]}


def _existing_deployment(connection, deployment_id: int | None) -> int | None:
    """The draft's base, when it names a deployment that exists (the browser sends it back; it is not trusted)."""
    if deployment_id is None:
        return None
    return connection.scalar(select(Deployment.id).where(Deployment.id == deployment_id))


def discard(store: Store, process_id: str, author: str) -> bool:
    """Drop ``author``'s draft of ``process_id``; False when there was none."""
    with store.begin() as connection:
        return bool(connection.execute(delete(_drafts).where(_drafts.c.process_id == process_id,
                                                             _drafts.c.author == author)).rowcount)


def mine(connection, process_id: str, author: str) -> dict | None:
    """``author``'s draft of ``process_id`` with its files, and the version it was based on."""
    row = connection.execute(select(_drafts).where(_drafts.c.process_id == process_id,
                                                   _drafts.c.author == author)).mappings().one_or_none()
    if row is None:
        return None
    return {**row, "files": dict(row["files"]), "base_version": _version_of(connection, row)}


def listing(connection) -> list[dict]:
    """Every draft, newest first, without files: who is working on which process, based on which version."""
    rows = connection.execute(select(_drafts.c.process_id, _drafts.c.author, _drafts.c.saved_at,
                                     _drafts.c.base_deployment_id).order_by(_drafts.c.saved_at.desc())).mappings()
    return [{**row, "base_version": _version_of(connection, row)} for row in rows]


def _version_of(connection, draft) -> int | None:
    if draft["base_deployment_id"] is None:
        return None
    return connection.scalar(select(_definitions.c.version).where(
        _definitions.c.deployment_id == draft["base_deployment_id"],
        _definitions.c.process_id == draft["process_id"]))
