"""Finding cases: the search behind the case list and ``GET /api/v1/cases``.

:func:`parse` turns request parameters (strings) into a :class:`CaseQuery` or refuses them with the field and why;
:func:`statement` makes the ORM select of :class:`~engine.models.Case` rows it describes, newest first. The web layer
pages that statement (Flask-SQLAlchemy's ``db.paginate``), so the engine stays free of Flask.

Every condition is on an indexed column or an ``EXISTS`` on the task inbox index; the free-text term matches a case
number exactly, a device id or business key by prefix and the address by substring, ignoring case (``ILIKE``, as
SQLite's ``LIKE`` does for ASCII). On PostgreSQL the three ``ILIKE`` are trigram GIN index scans (migration 0009), OR-ed
in one bitmap: a term of fewer than three characters has no trigram and scans the table.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, exists, or_, select

from .clock import DISTRICT_TZ
from .exceptions import Message, SearchRefused
from .models import Case, HumanTask

#: Exact-match filters, by parameter name, and the longest value each column holds.
EXACT = {"scenario": 80, "stage": 20, "channel": 40, "compound": 120, "team": 120, "device": 80}
#: Longest free-text term accepted (the longest column it is matched against is the address, 300).
MAX_TEXT = 300
#: Highest case number a search may name (the id columns are 32-bit integers on PostgreSQL).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class CaseQuery:
    q: str | None = None
    scenario: str | None = None
    stage: str | None = None
    channel: str | None = None
    compound: str | None = None
    team: str | None = None
    device: str | None = None
    opened_from: date | None = None
    opened_to: date | None = None

    def as_args(self) -> dict[str, str]:
        """The non-empty parameters as strings, for links that keep the search (pager, export)."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) not in (None, "")}


def _clean(name: str, value: str, longest: int) -> str | None:
    value = value.strip()
    if not value:
        return None
    if "\x00" in value:
        raise SearchRefused(name, Message("contains a NUL character"))
    if len(value) > longest:
        raise SearchRefused(name, Message("longer than {count} characters", count=longest))
    return value


def _date(name: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchRefused(name, Message("not a date (YYYY-MM-DD)")) from None


def parse(args) -> CaseQuery:
    """A :class:`CaseQuery` from request parameters (a mapping of strings); unknown parameters are ignored."""
    values: dict = {name: _clean(name, args.get(name) or "", longest) for name, longest in EXACT.items()}
    values["q"] = _clean("q", args.get("q") or "", MAX_TEXT)
    values["opened_from"] = _date("opened_from", args.get("opened_from") or "")
    values["opened_to"] = _date("opened_to", args.get("opened_to") or "")
    if values["opened_from"] and values["opened_to"] and values["opened_from"] > values["opened_to"]:
        raise SearchRefused("opened_to", Message("is before opened_from"))
    return CaseQuery(**values)


def _day_start(day: date) -> datetime:
    """Midnight of ``day`` in the district: officers mean local days."""
    return datetime.combine(day, time.min, tzinfo=DISTRICT_TZ)


def statement(query: CaseQuery, teams: list[str] | None = None, username: str | None = None) -> Select:
    """The select of the cases ``query`` finds, newest first; limited to those ``teams``/``username`` had a part in
    unless both are None (the district roles)."""
    tasks = HumanTask.__table__
    found = select(Case)
    if teams is not None or username is not None:
        found = found.where(exists().where(tasks.c.instance_id == Case.instance_id, or_(
            tasks.c.team.in_(list(teams or ["-"])), tasks.c.assignee == username, tasks.c.completed_by == username)))
    for name in ("scenario", "stage", "channel", "compound"):
        if getattr(query, name):
            found = found.where(getattr(Case, name) == getattr(query, name))
    if query.device:
        found = found.where(Case.device_id == query.device)
    if query.team:
        found = found.where(exists().where(tasks.c.instance_id == Case.instance_id, tasks.c.team == query.team))
    if query.opened_from:
        found = found.where(Case.opened_at >= _day_start(query.opened_from))
    if query.opened_to:
        found = found.where(Case.opened_at < _day_start(query.opened_to + timedelta(days=1)))
    if query.q:
        found = found.where(_matches(query.q))
    return found.order_by(Case.opened_at.desc(), Case.id.desc())


def like_escaped(term: str) -> str:
    """``term`` as a literal inside a LIKE pattern with ``ESCAPE '/'`` (``%`` and ``_`` are characters, not wildcards)."""
    return term.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _matches(term: str):
    number, literal = term.lstrip("#"), like_escaped(term)
    # ILIKE, not startswith()/contains(): those compile to "LIKE :p || '%'", and the trigram operator class serves
    # LIKE and ILIKE alike, but only ILIKE makes PostgreSQL answer as SQLite does (case-insensitively for ASCII).
    conditions = [Case.device_id.ilike(literal + "%", escape="/"),
                  Case.business_key.ilike(literal + "%", escape="/"),
                  Case.address.ilike("%" + literal + "%", escape="/")]
    if number.isdigit() and int(number) <= MAX_ID:
        conditions.append(Case.instance_id == int(number))
    return or_(*conditions)


def as_dict(case: Case) -> dict:
    """A found case as plain data (the columns of the ``cases`` row)."""
    return {column.key: getattr(case, column.key) for column in Case.__table__.columns}
