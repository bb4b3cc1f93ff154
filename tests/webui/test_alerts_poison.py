"""POST /api/v1/alerts with what the database would refuse, on SQLite and PostgreSQL: every such body is a dead
letter answered with a 4xx JSON error naming the reason, never a 500, and the good alarms around them open cases."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from engine import people
from engine.alarms.devices import import_devices
from engine.models import Alert, DeadLetter
from tests.sensors.conftest import DEVICES, message
from tests.sensors.test_payload import POISON
from tests.sensors.test_poison import poison_now


def gateway(app, seeded):
    token = people.create_token(seeded.store, "dispatcher", "poison-test")
    client = app.test_client()

    def post(body: bytes, content_type: str = "application/json"):
        return client.post("/api/v1/alerts", data=body, headers={"Authorization": f"Bearer {token}",
                                                                  "Content-Type": content_type})
    return post


def test_poison_bodies_are_dead_letters_with_a_4xx_json_error_and_good_alarms_open_cases(app, seeded):
    import_devices(seeded.store, DEVICES)
    post = gateway(app, seeded)
    first = post(json.dumps(message("GEO-1", "fire_lane", "alarm")).encode())
    assert first.status_code == 202 and first.get_json()["instance_id"]

    hostile = [(name, poison_now(raw).encode("utf-8", "surrogatepass"), reason) for name, raw, reason, _ in POISON]
    hostile += [("empty", b"", "not_json"), ("null", b"null", "schema"), ("a_string", b'"alarm"', "schema"),
                ("latin1", '{"msg_id": "é"}'.encode("latin-1"), "not_json"), ("huge", b"[" * 100_000, "too_large"),
                ("form", b"msg_id=1&device_id=SMK-1", "not_json"), ("nul_byte", b'{"msg_id": "a\x00"}', "not_json")]
    for name, body, reason in hostile:
        response = post(body, "text/plain" if name == "form" else "application/json")
        assert response.status_code == 422, (name, response.status_code, response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details"}, name
        assert (error["code"], error["details"]["reason"], error["details"]["status"]) == (
            "dead_letter", reason, "dead_letter"), (name, error)
        assert error["message"].startswith(f"{reason}: "), (name, error["message"])

    last = post(json.dumps(message("SMK-1", "three_in_one", "alarm", detail={"severity": "high"})).encode())
    assert last.status_code == 202
    [task] = seeded.ready_tasks(instance_id=last.get_json()["instance_id"])
    assert (task["bpmn_id"], task["team"]) == ("rush_to_scene", "fire_station")
    with seeded.store.read() as connection:
        reasons = connection.execute(select(DeadLetter.reason, DeadLetter.source).order_by(DeadLetter.id)).all()
        alerts = connection.scalar(select(func.count()).select_from(Alert))
    assert [tuple(r) for r in reasons] == [(reason, "http") for _, _, reason in hostile]
    assert alerts == 2
