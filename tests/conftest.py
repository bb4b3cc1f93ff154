"""Shared fixtures: an engine on each real backend, a controllable clock, and deploy helpers.

Backends come from JINGZHI_TEST_BACKENDS (default "sqlite,postgresql"). PostgreSQL is the real server named by
JINGZHI_TEST_PG_URL; its test database is created fresh once per run and its tables emptied before each test.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import Config, Engine, clock
from engine.models import Base
from engine.store import Store

HERE = Path(__file__).parent
DIAGRAMS = HERE / "engine" / "diagrams"
PG_ADMIN_URL = os.environ.get("JINGZHI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One database per test run, so parallel runs (developers, CI) never drop each other's tables.
PG_TEST_DB = f"jingzhi_test_{os.getpid()}"
BACKENDS = [b.strip() for b in os.environ.get("JINGZHI_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


def pg_url(database: str = PG_TEST_DB) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh, migrated PostgreSQL database for this run."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_TEST_DB}"))
    store = Store(pg_url())
    store.upgrade()
    store.dispose()
    yield pg_url()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file copied for each test (migrating per test would dominate the run time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    return path


def _empty_postgres(url: str) -> None:
    store = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with store.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    store.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        return url
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "jingzhi.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def manual_clock():
    """The engine's and SpiffWorkflow's clock, standing still until a test moves it."""
    manual = clock.ManualClock()
    clock.use(manual)
    yield manual
    clock.system()


@pytest.fixture
def engine(database_url, manual_clock):
    instance = Engine(Config(database_url=database_url, script_time_limit_s=0.5))
    yield instance
    instance.store.dispose()


def read_files(*paths: Path) -> dict[str, bytes]:
    """Name -> content of the given files, or of every file in the given directories."""
    files = {}
    for path in paths:
        for item in sorted(path.iterdir()) if path.is_dir() else [path]:
            if item.is_file():
                files[item.name] = item.read_bytes()
    return files


@pytest.fixture
def deploy(engine):
    def _deploy(*names: str, **replacements: bytes):
        files = read_files(*(DIAGRAMS / name for name in names))
        files.update({name.replace("__", "."): data for name, data in replacements.items()})
        return engine.deploy(files, deployed_by="test")
    return _deploy
