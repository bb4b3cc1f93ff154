"""The database going away under a running web app: a request is answered 503 with Retry-After (the caller keeps its
alert and sends it again), never a 500, and the app answers normally again once the database is back."""
from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import create_engine, text

from engine import Config, Engine, people
from engine.alarms.devices import import_devices
from tests.conftest import PG_ADMIN_URL, pg_url, read_files
from tests.sensors.conftest import DEVICES, message
from tests.webui.conftest import ROOT
from webui import create_app

OUTAGE_DB = f"jingzhi_outage_{os.getpid()}"


def _admin(sql: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(sql))
    admin.dispose()


@pytest.fixture
def outage_engine(manual_clock):
    _admin(f"DROP DATABASE IF EXISTS {OUTAGE_DB} WITH (FORCE)")
    _admin(f"CREATE DATABASE {OUTAGE_DB}")
    engine = Engine(Config(database_url=pg_url(OUTAGE_DB)))
    engine.store.upgrade()
    yield engine
    engine.store.dispose()
    _admin(f"DROP DATABASE IF EXISTS {OUTAGE_DB} WITH (FORCE)")


def test_alerts_and_pages_answer_503_while_the_database_is_away_and_work_again_after(outage_engine, tmp_path):
    engine = outage_engine
    engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")
    people.seed_teams(engine.store, json.loads((ROOT / "seed" / "teams.json").read_text(encoding="utf-8"))["teams"])
    people.add_user(engine.store, "gateway", "correct horse battery", ["dispatcher"], [])
    token = people.create_token(engine.store, "gateway", "outage-test")
    import_devices(engine.store, DEVICES)
    app = create_app(Config(database_url=engine.config.database_url), engine=engine,
                     settings={"TESTING": True, "SECRET_KEY": "test-secret", "EVIDENCE_DIR": str(tmp_path)})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    alert = json.dumps(message("GEO-1", "fire_lane", "alarm")).encode()

    # Every connection to the database is closed and no new one admitted, as a restart or failover looks to the app.
    _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{OUTAGE_DB}'")
    _admin(f"ALTER DATABASE {OUTAGE_DB} ALLOW_CONNECTIONS false")
    try:
        for path, kwargs in [("/api/v1/alerts", {"data": alert, "headers": headers}),
                             ("/api/v1/tasks", {"headers": headers}), ("/api/v1/healthz", {})]:
            response = (client.post if path.endswith("alerts") else client.get)(path, **kwargs)
            assert response.status_code == 503, (path, response.status_code, response.get_data(as_text=True)[:300])
            assert response.headers["Retry-After"] == "5"
            assert response.get_json()["error"]["code"] == "database_unavailable"
    finally:
        _admin(f"ALTER DATABASE {OUTAGE_DB} ALLOW_CONNECTIONS true")

    again = client.post("/api/v1/alerts", data=alert, headers=headers)
    assert again.status_code == 202, again.get_data(as_text=True)[:300]
    assert again.get_json()["instance_id"]
