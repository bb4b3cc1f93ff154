"""Flask-SQLAlchemy for what it is for: the app-bound database engine, a session per request, and paging.

The extension is bound to the engine's own SQLAlchemy engine (one connection pool per process, not two) and to the
engine's metadata. The cut between the two: the engine owns every query (its read services hand out SQLAlchemy
``Select`` statements, e.g. ``engine.search.cases(...)``, ``engine.worklist.inbox_statement(...)``), the web app owns
the paging (which page, how many rows, the total, the pager's links): :func:`page_of` runs the statement through
Flask-SQLAlchemy's pagination on ``db.session``, which the extension removes at the end of each request (its
connection goes back to the shared pool). Every change still goes through an engine verb, which runs its own
transaction; pages never write through ``db.session``.
"""
from __future__ import annotations

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, func, select

from engine import Engine, metadata

#: Rows per page of a list, and the most a client may ask for.
PER_PAGE = 50
MAX_PER_PAGE = 200
#: Highest page number accepted: beyond it the offset would overflow the database's integer arithmetic.
MAX_PAGE = 100_000
#: Most rows a long list counts (``page_of(..., capped=True)``): past it the pager says "more than". An exact count
#: of a million cases or audit events reads a million index entries on every page; nobody pages through 10,000 rows.
COUNT_LIMIT = 10_000


class _EngineBound(SQLAlchemy):
    def _make_engine(self, bind_key, options, app: Flask):
        """The engine's pool instead of a second one made from the URL."""
        return app.extensions["jingzhi_engine"].sql_engine


db = _EngineBound(metadata=metadata, session_options={"autoflush": False})


def init_app(app: Flask, engine: Engine) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = engine.database_url
    db.init_app(app)


class Page(SelectPagination):
    """Flask-SQLAlchemy's pagination of a select, for the engine's two kinds of statement: a select of one ORM entity
    (the case and audit searches, users) gives the objects, as ``db.paginate`` does; a select of columns (the inbox,
    devices, dead letters) gives each row as a dict, where ``db.paginate`` would keep only the first column.

    ``capped=True`` counts at most COUNT_LIMIT rows; ``total_capped`` says whether there are more."""

    total_capped = False

    def _query_items(self) -> list:
        statement = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        result = self._query_args["session"].execute(statement)
        if len(statement.column_descriptions) == 1:
            return list(result.unique().scalars())
        return [dict(row) for row in result.mappings()]

    def _query_count(self) -> int:
        if not self._query_args["capped"]:
            return super()._query_count()
        statement = self._query_args["select"].order_by(None).limit(COUNT_LIMIT + 1).subquery()
        counted = self._query_args["session"].scalar(select(func.count()).select_from(statement))
        self.total_capped = counted > COUNT_LIMIT
        return min(counted, COUNT_LIMIT)


def page_number(raw: str | None, default: int, highest: int) -> int:
    """A page or page size from the query string. Anything that is not a positive number (``0``, ``-1``, ``abc``)
    is the default and anything too large is ``highest``: a list is never refused for its pager, and a bookmarked
    page past the end shows an empty page with the way back."""
    raw = raw or ""
    if not (raw.isascii() and raw.isdigit()) or int(raw) == 0:
        return default
    return highest if len(raw) > 9 else min(int(raw), highest)


def page_of(statement: Select, args, capped: bool = False) -> Page:
    """``statement`` paged by the request's ``page`` and ``per_page`` (:func:`page_number`)."""
    return Page(select=statement, session=db.session, capped=capped,
                page=page_number(args.get("page"), 1, MAX_PAGE),
                per_page=page_number(args.get("per_page"), PER_PAGE, MAX_PER_PAGE),
                max_per_page=MAX_PER_PAGE, error_out=False)
