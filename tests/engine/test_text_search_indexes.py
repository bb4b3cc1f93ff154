"""Migration 0009 on PostgreSQL: up and down and up again; a database user who may not create extensions gets a
warning and working (unindexed) searches; and the searches' query shapes are ones the indexes serve (EXPLAIN with
sequential scans priced out, on rows loaded the way bench/web.py loads them). SQLite's side of the migration (b-tree
indexes only) runs in every SQLite test's template database and in tests/test_project.py."""
from __future__ import annotations

import logging
import os

import pytest
from sqlalchemy import create_engine, event, text

from engine import audit_search, case_search
from engine.store import Store
from tests.conftest import BACKENDS, PG_ADMIN_URL, pg_url

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not among JINGZHI_TEST_BACKENDS")

TRIGRAM = {"ix_cases_address_trgm", "ix_cases_device_id_trgm", "ix_cases_business_key_trgm",
           "ix_audit_event_detail_trgm"}
AUDIT = {"ix_audit_event_at", "ix_audit_event_actor", "ix_audit_event_kind"}
NAME = f"jingzhi_test_{os.getpid()}_search"


@pytest.fixture
def server():
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
        connection.execute(text(f"DROP ROLE IF EXISTS {NAME}"))
        connection.execute(text(f"CREATE DATABASE {NAME}"))
    yield admin
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
        connection.execute(text(f"DROP ROLE IF EXISTS {NAME}"))
    admin.dispose()


def indexes(store: Store) -> dict[str, str]:
    with store.read() as connection:
        return dict(connection.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_%'")).all())


def test_up_down_and_up_again(server):
    store = Store(pg_url(NAME))
    store.upgrade()
    made = indexes(store)
    assert TRIGRAM | AUDIT <= set(made)
    assert all("USING gin" in made[name] and "gin_trgm_ops" in made[name] for name in TRIGRAM)
    assert "jingzhi_json_text(detail)" in made["ix_audit_event_detail_trgm"]
    store.downgrade("0008_map_indexes")
    assert not (TRIGRAM | AUDIT) & set(indexes(store)) and "ix_cases_heat" in indexes(store)
    with store.read() as connection:
        assert connection.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'jingzhi_json_text'")).scalar() == 0
    store.upgrade()
    assert TRIGRAM | AUDIT <= set(indexes(store))
    store.dispose()


def test_a_user_who_may_not_create_extensions_gets_a_warning_and_slower_search(server, caplog):
    with server.connect() as connection:   # may create tables in the database, not extensions (no CREATE on it)
        connection.execute(text(f"CREATE ROLE {NAME} LOGIN"))
    grant = create_engine(pg_url(NAME), isolation_level="AUTOCOMMIT")
    with grant.connect() as connection:
        connection.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {NAME}"))
    grant.dispose()
    base, _, _ = pg_url(NAME).rpartition("@")
    store = Store(pg_url(NAME).replace(base, base.rsplit("//", 1)[0] + "//" + NAME))
    with caplog.at_level(logging.WARNING):
        store.upgrade()
    [warning] = [r.getMessage() for r in caplog.records if "pg_trgm" in r.getMessage()]
    assert "could not be created" in warning and "CREATE EXTENSION pg_trgm" in warning
    assert "CREATE INDEX IF NOT EXISTS ix_cases_address_trgm" in warning
    made = set(indexes(store))
    assert AUDIT <= made and not TRIGRAM & made
    with store.read() as connection:
        assert connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == 0
        query = case_search.parse({"q": "广中路 1"})
        assert connection.execute(case_search.statement(query)).all() == []      # unindexed, and still answers
        assert connection.execute(audit_search.statement(audit_search.parse({"text": "广中路"}))).all() == []
    store.upgrade()                                                               # at head: nothing to do again
    store.dispose()


def plan(connection, statement) -> str:
    """EXPLAIN of ``statement`` executed as the app executes it (its parameters bound by their types)."""
    def explain(conn, cursor, sql, parameters, context, executemany):
        return f"EXPLAIN {sql}", parameters

    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        return "\n".join(row[0] for row in connection.execute(statement))
    finally:
        event.remove(connection, "before_cursor_execute", explain)


def test_the_searches_are_shaped_for_their_indexes(server):
    from bench.web import insert_instances

    store = Store(pg_url(NAME))
    store.upgrade()
    with store.begin() as connection:
        connection.execute(text("""INSERT INTO deployment (id, content_hash, files, deployed_by, deployed_at)
                                   VALUES (1, 'test', '{}', 'test', now())"""))
        connection.execute(text("""INSERT INTO process_definition (id, process_id, version, name, deployment_id,
                                   deployed_at) VALUES (1, 'closed_loop', 1, 'closed loop', 1, now())"""))
        insert_instances(connection, 1, 5000, closed=True, teams=["grid_patrol"])
        connection.execute(text("ANALYZE"))
    with store.read() as connection:
        # the cheapest plan on 5,000 rows is any; can the indexes serve the query? (no seq or plain index scans)
        connection.execute(text("SET enable_seqscan = off; SET enable_indexscan = off"))
        address = plan(connection, case_search.statement(case_search.parse({"q": "广中路 2917 "})))
        assert {"ix_cases_address_trgm", "ix_cases_device_id_trgm", "ix_cases_business_key_trgm"} <= {
            name for name in TRIGRAM if name in address}, address
        detail = plan(connection, audit_search.statement(audit_search.parse({"text": "广中路 2917"})))
        assert "ix_audit_event_detail_trgm" in detail, detail
        assert "ix_audit_event_actor" in plan(connection, audit_search.statement(
            audit_search.parse({"actor": "officer-42"})))
        assert "ix_audit_event_kind" in plan(connection, audit_search.statement(
            audit_search.parse({"kind": "task.completed", "from": "2026-01-01"})))
        found = connection.execute(case_search.statement(case_search.parse({"q": "广中路 2917 "}))).all()
        assert {row.address for row in found} == {"广中路 2917 号"} and len(found) == 1
        events = connection.execute(audit_search.statement(audit_search.parse({"text": "广中路 2917 "}))).all()
        assert [row.instance_id for row in events] == [2917]
    store.dispose()
