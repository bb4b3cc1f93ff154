"""Flask-SQLAlchemy for what it is for: the app-bound database engine and a session per request.

The extension is bound to the engine's own SQLAlchemy engine (one connection pool per process, not two) and to the
engine's metadata, so ``db.session`` sees the engine's models. Pages use it to read and page lists
(``db.paginate``); every change still goes through an engine verb, which runs its own transaction. The session is
removed at the end of each request by the extension.
"""
from __future__ import annotations

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from engine import Engine, metadata

#: Rows per page of a list, and the most a client may ask for.
PER_PAGE = 50
MAX_PER_PAGE = 200
#: Highest page number accepted: beyond it the offset would overflow the database's integer arithmetic.
MAX_PAGE = 100_000
#: Most rows a searched list counts (``page_of(..., capped=True)``): past it the pager says "more than". An exact count
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


def page_of(statement, args, capped: bool = False) -> Pagination:
    """``statement`` paged by the request's ``page`` and ``per_page``; out-of-range values are clamped, not refused
    (a bookmarked page past the end shows the last rows' page as empty, with the pager back). ``capped``: the total
    counts at most COUNT_LIMIT rows, and ``total_capped`` says whether there are more."""
    def number(name: str, default: int, highest: int) -> int:
        raw = args.get(name, "")
        if not (raw.isascii() and raw.isdigit()):
            return default
        return highest if len(raw) > 9 else min(max(int(raw), 1), highest)
    page = db.paginate(statement, page=number("page", 1, MAX_PAGE), per_page=number("per_page", PER_PAGE, MAX_PER_PAGE),
                       max_per_page=MAX_PER_PAGE, error_out=False, count=not capped)
    page.total_capped = False
    if capped:
        counted = db.session.scalar(select(func.count()).select_from(
            statement.order_by(None).limit(COUNT_LIMIT + 1).subquery()))
        page.total, page.total_capped = min(counted, COUNT_LIMIT), counted > COUNT_LIMIT
    return page
