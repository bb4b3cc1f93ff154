"""Fixtures for the web app: the app on the test engine (SQLite and PostgreSQL), the district's diagrams and teams
deployed, one user per role and team, and clients logged in as any of them."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine import Config, people
from tests.conftest import read_files
from webui import create_app

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "correct horse battery"

#: username -> (roles, teams)
USERS = {
    "dispatcher": (["dispatcher"], ["command_centre"]),
    "patrol1": (["officer"], ["grid_patrol"]),
    "patrol2": (["officer"], ["grid_patrol"]),
    "patrol_lead": (["officer", "team_lead"], ["grid_patrol"]),
    "property1": (["officer"], ["property_company"]),
    "property2": (["officer"], ["property_company"]),
    "property_lead": (["officer", "team_lead"], ["property_company"]),
    "police1": (["officer"], ["police"]),
    "designer": (["designer"], []),
    "admin": (["admin"], []),
}


def fire_lane_alert(device_id: str = "FIR-0042", **changes) -> dict:
    """Start data as the sensor ingester gives it: one alert, inside a compound (goes to the dispatcher first)."""
    data = {"device_id": device_id, "scenario": "fire_lane", "channel": "sensor", "severity": "medium",
            "address": "何家宅小区 3号楼消防通道", "compound": "何家宅小区", "inside_compound": True,
            "lat": 31.2701, "lon": 121.4812, "alert_count": 1, "reported_at": "2026-01-05T09:00:00+00:00"}
    data.update(changes)
    return data


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """Scrypt costs ~0.1 s a hash by design; a thousand cheap rounds keep the tests quick and still salted."""
    monkeypatch.setattr(people, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def seeded(engine):
    engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")
    people.seed_teams(engine.store, json.loads((ROOT / "seed" / "teams.json").read_text(encoding="utf-8"))["teams"])
    for name, (roles, teams) in USERS.items():
        people.add_user(engine.store, name, PASSWORD, roles, teams)
    return engine


@pytest.fixture
def app(seeded, tmp_path):
    app = create_app(Config(database_url=seeded.config.database_url), engine=seeded,
                     settings={"TESTING": True, "SECRET_KEY": "test-secret", "EVIDENCE_DIR": str(tmp_path / "evidence"),
                               "EVIDENCE_MAX_BYTES": 200_000})
    return app


class Client:
    """A test client logged in as someone, that fills in the CSRF token like the pages do."""

    def __init__(self, app, username: str | None):
        self.flask = app.test_client()
        self.username = username
        self.csrf = None
        if username:
            page = self.flask.get("/login")
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
            response = self.flask.post("/login", data={"username": username, "password": PASSWORD,
                                                       "csrf_token": self.csrf})
            assert response.status_code == 302, response.get_data(as_text=True)
            page = self.flask.get("/inbox")
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)

    def get(self, url, **kwargs):
        return self.flask.get(url, **kwargs)

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf or "")
        return self.flask.post(url, data=data, **kwargs)

    def api(self, method: str, url: str, body=None):
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        return self.flask.open(url, method=method, json=body, headers=headers)


@pytest.fixture
def login(app):
    return lambda username=None: Client(app, username)


@pytest.fixture
def registered_case(seeded):
    """A fire-lane case from one sensor alert, registered by the dispatcher: its move_vehicle task is ready for the
    property company (inside a compound). Returns (instance id, the move_vehicle task)."""
    instance_id = seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    [register] = seeded.ready_tasks(instance_id=instance_id)
    assert register["bpmn_id"] == "register"
    seeded.complete_task(register["id"], {"decision": "registered"}, actor="dispatcher")
    [move] = seeded.ready_tasks(instance_id=instance_id)
    assert (move["bpmn_id"], move["team"]) == ("move_vehicle", "property_company")
    return instance_id, move


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


def png(width: int = 64, height: int = 48, rgb=(11, 92, 173)) -> bytes:
    """A real PNG image (a solid colour), so the browser can show it as evidence."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
