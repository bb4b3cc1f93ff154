"""Database connection, transactions and schema upgrades. The only module that opens sessions.

Callers never commit on their own: every engine step runs inside one ``transaction()`` block, which commits when
the block ends and rolls everything back when it raises.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a worker writes; busy_timeout makes writers queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Durability stays what WAL with synchronous=NORMAL gives (every commit survives the application crashing; a
    # power loss can lose the last commits, never corrupt the file). These three only save work: pages are read
    # through a memory map instead of a read() each, the page cache holds a busy district's hot pages (16 MB per
    # connection, the default is 2 MB), and a checkpoint runs every 16 MB of WAL instead of every 4 MB, so a page
    # written by many steps in between (an index page, the instance table's) is copied into the database once.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.execute("PRAGMA wal_autocheckpoint=4000")
    cursor.close()


class Store:
    def __init__(self, database_url: str, **engine_options):
        self.url = database_url
        self.is_sqlite = database_url.startswith("sqlite")
        if self.is_sqlite:
            engine_options.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        else:
            # No pre-ping: it costs a round trip on every checkout, and a step is only a few. A connection that
            # died with a server restart fails its one transaction, the pool is invalidated, and jobs retry.
            engine_options.setdefault("pool_recycle", 1800)
        self.engine: SqlEngine = create_engine(database_url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self):
        """One unit of work: commit at the end, roll back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def begin(self):
        """One unit of work on a plain connection (SQLAlchemy Core): the engine's hot paths use this."""
        return self.engine.begin()

    def read(self):
        """A connection for reads only; its implicit transaction is rolled back when the block ends."""
        return self.engine.connect()

    def session(self) -> Session:
        """A session for reads only (callers must not commit through it)."""
        return self._sessions()

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to the newest migration, or up to ``revision`` (idempotent; never needs a wipe)."""
        from alembic import command

        self._alembic(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Take the schema back down to ``revision`` (the migration tests go down and up again)."""
        from alembic import command

        self._alembic(command.downgrade, revision)

    def _alembic(self, verb, revision: str) -> None:
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            verb(config, revision)

    def has_schema(self) -> bool:
        return inspect(self.engine).has_table("process_instance")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
