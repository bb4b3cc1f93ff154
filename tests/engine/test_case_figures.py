"""The figures a case keeps for the indicators (engine/case_figures.py): written by each step of a real case, and
computed by migration 0014 for the cases stored before it, on SQLite and PostgreSQL, equal to the pure definitions and
giving the indicators the plain-Python reference gives."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, select, text

from engine import Config, Engine, case_figures
from engine.models import Case, Deployment, HumanTask, ProcessDefinition, ProcessInstance
from engine.store import Store
from tests.conftest import BACKENDS, PG_ADMIN_URL, pg_url, read_files
from tests.engine.test_indicators import T0, agrees_with_the_reference, late_cases, random_rows
from tests.webui.conftest import ROOT, fire_lane_alert

_cases = Case.__table__
#: The cases table as migration 0012 left it (the models' table has the figure columns).
CASES_0012 = sa.table("cases", *(sa.column(c.name, c.type) for c in _cases.columns
                                 if c.name not in case_figures.COLUMNS))


def figures_of(engine: Engine, instance_id: int) -> dict:
    with engine.store.read() as connection:
        row = connection.execute(select(*(_cases.c[name] for name in case_figures.COLUMNS))
                                 .where(_cases.c.instance_id == instance_id)).mappings().one()
    return dict(row)


def test_each_step_keeps_the_case_figures(engine, manual_clock):
    engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")
    opened = manual_clock.now()
    instance_id = engine.start("closed_loop", fire_lane_alert(alert_count=2))   # straight on site
    assert figures_of(engine, instance_id) == {"resolved_at": None, "handling_s": None, "verified": False,
                                               "late": False}
    [move] = engine.ready_tasks(instance_id=instance_id)
    manual_clock.advance(minutes=45)                                      # 15 minutes past the task's due time
    engine.complete_task(move["id"], {"plate_number": "沪A12345", "owner_contacted": True, "vehicle_moved": True,
                                      "photos_before": ["evidence/1/x.jpg"]}, actor="guard")
    assert figures_of(engine, instance_id) == {"resolved_at": None, "handling_s": None, "verified": True,
                                               "late": True}
    # Another process (no memo of the case in memory) closes it: the late task is not forgotten.
    other = Engine(engine.config)
    [verify] = other.ready_tasks(instance_id=instance_id)
    manual_clock.advance(minutes=15)
    other.complete_task(verify["id"], {"passed": True}, actor="inspector")
    other.store.dispose()
    assert figures_of(engine, instance_id) == {"resolved_at": manual_clock.now(), "handling_s": 3600.0,
                                               "verified": True, "late": True}
    assert manual_clock.now() - opened == timedelta(hours=1)


@pytest.fixture(params=BACKENDS)
def at_0012(request, tmp_path):
    """A database migrated up to 0012, the revision before the figures."""
    name = f"jingzhi_test_{os.getpid()}_figures"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    if request.param == "postgresql":
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
    store = Store(pg_url(name) if request.param == "postgresql" else f"sqlite:///{tmp_path / 'figures.db'}")
    store.upgrade("0012_channels")
    yield store
    store.dispose()
    if request.param == "postgresql":
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_migration_0014_computes_the_figures_of_the_cases_stored_before_it(at_0012):
    cases, tasks = random_rows()
    with at_0012.begin() as connection:
        connection.execute(Deployment.__table__.insert(), [{"id": 1, "content_hash": "x", "files": {},
                                                            "deployed_by": "test", "deployed_at": T0}])
        connection.execute(ProcessDefinition.__table__.insert(), [{"id": 1, "process_id": "closed_loop",
                                                                   "version": 1, "deployment_id": 1,
                                                                   "deployed_at": T0}])
        connection.execute(ProcessInstance.__table__.insert(), [
            {"id": c["instance_id"], "definition_id": 1, "status": "running", "state": "{}",
             "serializer_version": "1", "row_version": 1, "created_at": T0, "updated_at": T0} for c in cases])
        connection.execute(CASES_0012.insert(), [dict(c, process_id="closed_loop") for c in cases])
        connection.execute(HumanTask.__table__.insert(), [
            dict(t, task_uuid=f"t-{n}", bpmn_id="handle", process_id="closed_loop", created_at=T0)
            for n, t in enumerate(tasks)])
    at_0012.upgrade()

    late = late_cases(tasks)
    with at_0012.read() as connection:
        stored = {row["instance_id"]: dict(row) for row in connection.execute(
            select(_cases.c.instance_id, *(_cases.c[name] for name in case_figures.COLUMNS))).mappings()}
    for c in cases:
        expected = case_figures.figures(c, c["instance_id"] in late)
        got = stored[c["instance_id"]]
        assert {k: got[k] for k in ("resolved_at", "verified", "late")} == \
            {k: expected[k] for k in ("resolved_at", "verified", "late")}, c
        assert (got["handling_s"] is None) == (expected["handling_s"] is None), c
        assert round(got["handling_s"] or 0, 3) == round(expected["handling_s"] or 0, 3), c
    assert any(g["late"] for g in stored.values()) and any(g["resolved_at"] for g in stored.values())

    engine = Engine(Config(database_url=at_0012.url))
    agrees_with_the_reference(engine, cases, tasks)
    engine.store.dispose()
    at_0012.downgrade("0012_channels")                                     # and back: the columns go
    assert not {"resolved_at", "late"} & {c["name"] for c in sa.inspect(at_0012.engine).get_columns("cases")}
