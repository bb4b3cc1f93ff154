"""Searching the audit trail: the admins' audit page and ``GET /api/v1/audit``.

:func:`parse` turns request parameters (strings) into an :class:`AuditQuery` or refuses them with the parameter's
name (:class:`~engine.case_search.SearchRefused`); :func:`statement` makes the ORM select of
:class:`~engine.models.AuditEvent` rows, newest first, for the web layer to page with Flask-SQLAlchemy.

Indexes (migration 0009): newest first and a date range walk ``(at, id)``; actor and event type have ``(actor, at)``
and ``(kind, at)``; a case's events ``instance_id``. The text matches part of the event's detail, its JSON text:
on PostgreSQL as ``jingzhi_json_text(detail)`` prints it (Chinese as characters; a trigram GIN index), on SQLite as
stored (Chinese as ``\\uXXXX`` escapes), the term written the same way in each (:class:`_DetailPattern`).

The detail may hold what people typed (a task's form data). A term that looks like a telephone number or an e-mail
address is refused: the pages show such details masked, and a search must not confirm an unmasked one either.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import Select, Text, bindparam, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import TypeDecorator

from .case_search import MAX_ID, SearchRefused, _clean, _date, _day_start, like_escaped
from .exceptions import Message
from .models import DETAIL_TEXT_FUNCTION, AuditEvent

#: Longest value of each text parameter (the columns' lengths; the text term as the case search's).
LENGTHS = {"actor": 120, "kind": 60, "text": 300}
#: What the text search refuses to look for: a telephone number (seven digits in a row, or grouped with an area
#: code; not a date) or an e-mail address; the same the pages mask (integrations/open311_keys.py ``mask_text``).
CONTACT_LIKE = re.compile(r"\d{7,}|\d{3,4}[ -]\d{7,8}|\d{3}[ -]\d{4}[ -]\d{4}|\S@\S")


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    kind: str | None = None
    instance_id: int | None = None
    text: str | None = None
    from_day: date | None = None
    to_day: date | None = None

    def as_args(self) -> dict[str, str]:
        """The non-empty parameters as the request names them, for links that keep the search (pager)."""
        names = {"from_day": "from", "to_day": "to"}
        return {names.get(f.name, f.name): str(getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) not in (None, "")}


def _instance(value: str) -> int | None:
    value = value.strip().lstrip("#")
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or int(value) > MAX_ID:
        raise SearchRefused("instance_id", Message("not a case number"))
    return int(value)


def parse(args) -> AuditQuery:
    """An :class:`AuditQuery` from request parameters (a mapping of strings); unknown parameters are ignored."""
    values: dict = {name: _clean(name, args.get(name) or "", longest) for name, longest in LENGTHS.items()}
    if values["text"] and CONTACT_LIKE.search(values["text"]):
        raise SearchRefused("text", Message("looks like a telephone number or an e-mail address"))
    values["instance_id"] = _instance(args.get("instance_id") or "")
    values["from_day"] = _date("from", args.get("from") or "")
    values["to_day"] = _date("to", args.get("to") or "")
    if values["from_day"] and values["to_day"] and values["from_day"] > values["to_day"]:
        raise SearchRefused("to", Message("is before from"))
    return AuditQuery(**values)


class _DetailText(ColumnElement):
    """The detail as the text search reads it: ``jingzhi_json_text(detail)`` on PostgreSQL (the indexed expression),
    the stored JSON text elsewhere."""

    type = Text()
    inherit_cache = True


@compiles(_DetailText)
def _stored_text(element, compiler, **kw) -> str:
    return compiler.process(cast(AuditEvent.detail, Text), **kw)


@compiles(_DetailText, "postgresql")
def _printed_text(element, compiler, **kw) -> str:
    return compiler.process(getattr(func, DETAIL_TEXT_FUNCTION)(AuditEvent.detail), **kw)


class _DetailPattern(TypeDecorator):
    """A search term bound as the ILIKE pattern of its JSON form in :class:`_DetailText` on the database in use."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, term, dialect):
        written = json.dumps(term, ensure_ascii=dialect.name != "postgresql")[1:-1]
        return f"%{like_escaped(written)}%"


def statement(query: AuditQuery) -> Select:
    """The select of the events ``query`` finds, newest first."""
    found = select(AuditEvent)
    if query.actor:
        found = found.where(AuditEvent.actor == query.actor)
    if query.kind:
        found = found.where(AuditEvent.kind == query.kind)
    if query.instance_id is not None:
        found = found.where(AuditEvent.instance_id == query.instance_id)
    if query.from_day:
        found = found.where(AuditEvent.at >= _day_start(query.from_day))
    if query.to_day:
        found = found.where(AuditEvent.at < _day_start(query.to_day + timedelta(days=1)))
    if query.text:
        found = found.where(_DetailText().ilike(bindparam("detail_text", query.text, type_=_DetailPattern()),
                                                escape="/"))
    return found.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def as_dict(event: AuditEvent) -> dict:
    """A found event as plain data (the columns of the ``audit_event`` row)."""
    return {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}
