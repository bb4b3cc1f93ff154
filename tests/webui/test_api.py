"""The JSON API: bearer tokens, the inbox scopes, claim/complete with form errors, cases, manual reports, sensor
alerts through sensors.intake, indicators, health, and the OpenAPI document covering every route."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import people
from engine.alarms.devices import import_devices
from jingzhi.cli import main
from tests.bpmn.conftest import form
from tests.webui.conftest import JPEG
from tests.sensors.conftest import DEVICES, message

MOVE = {"plate_number": "沪A12345", "owner_contacted": True, "vehicle_moved": True}


@pytest.fixture
def bearer(app, seeded):
    def client(username: str):
        token = people.create_token(seeded.store, username, "test")
        flask = app.test_client()

        def call(method, url, body=None):
            return flask.open(url, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        return call
    return client


def test_bearer_tokens_act_as_their_user_and_unknown_ones_are_refused(app, bearer, registered_case):
    _, move = registered_case
    tasks = bearer("property1")("GET", "/api/v1/tasks?scope=team").get_json()["tasks"]
    assert [t["id"] for t in tasks] == [move["id"]]
    assert tasks[0]["scenario"] == "fire_lane" and tasks[0]["due_at"].endswith("+00:00")
    refused = app.test_client().get("/api/v1/tasks", headers={"Authorization": "Bearer jz_forged"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert "Bearer" in refused.headers["WWW-Authenticate"]


def test_token_create_and_user_add_on_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(people, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    assert main(["user", "add", "li", "--role", "officer", "--role", "team_lead", "--team", "sanitation",
                 "--password", "long enough pw"]) == 0
    assert "added li: roles officer, team_lead; teams sanitation" in capsys.readouterr().out
    assert main(["user", "add", "li", "--password", "long enough pw"]) == 2          # exists already
    assert main(["user", "add", "wang", "--role", "chief", "--password", "long enough pw"]) == 2
    assert main(["token", "create", "li"]) == 0
    token = capsys.readouterr().out.strip()
    from engine import Config, Engine
    engine = Engine(Config(database_url=f"sqlite:///{tmp_path / 'cli.db'}"))
    assert people.user_for_token(engine.store, token)["inbox_teams"] == ["sanitation", "sanitation.lead"]
    assert people.authenticate(engine.store, "li", "long enough pw")["username"] == "li"
    engine.store.dispose()


def test_scopes_claim_and_complete_with_form_errors_and_the_next_step(app, bearer, seeded, registered_case):
    instance_id, move = registered_case
    officer = bearer("property1")
    assert officer("GET", "/api/v1/tasks?scope=mine").get_json()["count"] == 0
    assert officer("POST", f"/api/v1/tasks/{move['id']}/claim").get_json()["task"]["assignee"] == "property1"
    assert [t["id"] for t in officer("GET", "/api/v1/tasks?scope=mine").get_json()["tasks"]] == [move["id"]]
    assert officer("GET", "/api/v1/tasks?scope=team").get_json()["count"] == 0
    assert bearer("property2")("POST", f"/api/v1/tasks/{move['id']}/claim").status_code == 403
    assert officer("GET", "/api/v1/tasks?scope=everything").status_code == 422

    invalid = officer("POST", f"/api/v1/tasks/{move['id']}/complete", {"data": {"vehicle_moved": "yes"}})
    assert invalid.status_code == 422
    error = invalid.get_json()["error"]
    assert error["code"] == "form_invalid" and set(error["details"]) >= {"vehicle_moved", "plate_number"}
    photo = f"evidence/{instance_id}/" + "0123456789abcdef" * 2 + ".jpg"
    unstored = officer("POST", f"/api/v1/tasks/{move['id']}/complete", {"data": {**MOVE, "photos_before": [photo]}})
    assert unstored.status_code == 422 and set(unstored.get_json()["error"]["details"]) == {"photos_before"}
    elsewhere = officer("POST", f"/api/v1/tasks/{move['id']}/complete",
                        {"data": {**MOVE, "photos_before": ["media/not-ours.jpg"]}})
    assert elsewhere.status_code == 422                               # not a file of this case at all
    (Path(app.config["EVIDENCE_DIR"]) / str(instance_id)).mkdir(parents=True)
    (Path(app.config["EVIDENCE_DIR"]) / photo.removeprefix("evidence/")).write_bytes(JPEG)
    done = officer("POST", f"/api/v1/tasks/{move['id']}/complete", {"data": {**MOVE, "photos_before": [photo]}})
    assert done.status_code == 200
    body = done.get_json()
    assert body["task"]["status"] == "completed" and body["next_teams"] == ["grid_patrol"]
    assert body["next_tasks"] == []                                   # the next task is another team's
    again = officer("POST", f"/api/v1/tasks/{move['id']}/complete", {"data": MOVE})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "task_not_ready"
    [verify] = seeded.ready_tasks(instance_id=instance_id)
    assert bearer("patrol1")("POST", f"/api/v1/tasks/{verify['id']}/complete",
                             {"data": {"passed": True}}).status_code == 200
    case = bearer("dispatcher")("GET", f"/api/v1/cases/{instance_id}").get_json()
    assert case["case"]["stage"] in ("closed", "evaluate") and "verify" in case["completed_elements"]


def test_cases_are_listed_for_the_district_and_for_the_teams_involved(app, bearer, registered_case):
    instance_id, _ = registered_case
    assert [c["instance_id"] for c in bearer("dispatcher")("GET", "/api/v1/cases").get_json()["cases"]] == \
        [instance_id]
    assert [c["instance_id"] for c in bearer("property1")("GET", "/api/v1/cases").get_json()["cases"]] == \
        [instance_id]
    assert bearer("police1")("GET", "/api/v1/cases").get_json()["cases"] == []
    assert bearer("dispatcher")("GET", "/api/v1/cases?scenario=door_open").get_json()["count"] == 0


def test_a_manual_report_starts_the_closed_loop(app, bearer, seeded):
    dispatcher = bearer("dispatcher")
    created = dispatcher("POST", "/api/v1/cases", {"scenario": "illegal_dumping", "channel": "resident",
                                                   "address": "东江湾路 虹口足球场 南侧"})
    assert created.status_code == 201
    case = created.get_json()["case"]
    assert (case["channel"], case["stage"], case["process_id"]) == ("resident", "register", "closed_loop")
    bad = dispatcher("POST", "/api/v1/cases", {"scenario": "illegal_dumping", "channel": "sensor"})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["details"]) == {"channel", "address"}
    assert dispatcher("POST", "/api/v1/cases", ["not", "an", "object"]).status_code == 422


def test_sensor_alerts_are_accepted_once_and_bad_ones_dead_lettered(app, bearer, seeded):
    import_devices(seeded.store, DEVICES)
    gateway = bearer("dispatcher")
    alarm = message("GEO-1", "fire_lane", "alarm", msg_id="geo-http-1")
    accepted = gateway("POST", "/api/v1/alerts", alarm)
    assert accepted.status_code == 202
    body = accepted.get_json()
    assert body["status"] == "accepted" and body["alert_id"] and body["instance_id"]
    [register] = seeded.ready_tasks(instance_id=body["instance_id"])
    assert (register["bpmn_id"], register["team"]) == ("register", "command_centre")
    duplicate = gateway("POST", "/api/v1/alerts", alarm)
    assert duplicate.status_code == 200 and duplicate.get_json()["status"] == "duplicate"
    dead = gateway("POST", "/api/v1/alerts", {"device_id": "GEO-1"})
    assert dead.status_code == 422 and dead.get_json()["error"]["code"] == "dead_letter"
    assert bearer("property1")("POST", "/api/v1/alerts", alarm).status_code == 403
    case = gateway("GET", f"/api/v1/cases/{body['instance_id']}").get_json()
    assert case["case"]["device_id"] == "GEO-1"
    page = gateway("GET", f"/cases/{body['instance_id']}").get_data(as_text=True)
    assert page.count("· alarm") == 1 and 'id="alerts"' in page         # the duplicate is not a second alert


def test_the_case_and_task_pages_count_the_repeats_of_the_alarm(app, bearer, seeded):
    import re

    import_devices(seeded.store, DEVICES)
    gateway = bearer("dispatcher")
    opened = gateway("POST", "/api/v1/alerts", message("GEO-1", "fire_lane", "alarm")).get_json()
    for _ in range(2):                                                   # the blocked lane is reported again
        assert gateway("POST", "/api/v1/alerts", message("GEO-1", "fire_lane", "alarm")).status_code == 202
    [register] = seeded.ready_tasks(instance_id=opened["instance_id"])
    for url in (f"/cases/{opened['instance_id']}", f"/tasks/{register['id']}"):
        facts = gateway("GET", url).get_data(as_text=True)
        assert re.search(r"<dt>[^<]+</dt><dd>3</dd>", facts), url          # the first alarm and two repeats


def test_a_clear_posted_over_http_during_handling_verifies_the_case_driven_by_the_ticker_alone(
        app, bearer, seeded, manual_clock):
    """Embedded defaults: alerts over HTTP, no broker and no ingester. The clear arrives while the case is at
    handling, is held, and the ticker's sweep delivers it once the case waits at verification."""
    from engine.jobs import Jobs
    from engine.ticker import Ticker

    import_devices(seeded.store, DEVICES)
    gateway = bearer("dispatcher")
    opened = gateway("POST", "/api/v1/alerts", message("HYD-1", "hydrant_pressure", "alarm")).get_json()
    [check] = seeded.ready_tasks(instance_id=opened["instance_id"])
    assert (check["bpmn_id"], check["team"]) == ("check_hydrant", "water_company")
    manual_clock.advance(minutes=5)
    cleared = gateway("POST", "/api/v1/alerts", message("HYD-1", "hydrant_pressure", "clear", value=0.32))
    assert cleared.status_code == 202 and seeded.get(opened["instance_id"]).case["stage"] == "handle"
    seeded.complete_task(check["id"], form("check_hydrant"), actor="water-7")
    waiting = seeded.get(opened["instance_id"])
    assert (waiting.status, waiting.case["stage"]) == ("running", "verify")          # held, not yet delivered
    Ticker(Jobs(seeded)).run_once()
    view = seeded.get(opened["instance_id"])
    assert (view.status, view.case["stage"], view.data["verified_by"]) == ("completed", "closed", "sensor")


def test_kpis_health_and_the_openapi_document(app, bearer, registered_case):
    kpis = bearer("dispatcher")("GET", "/api/v1/kpis?from=2026-01-01&to=2026-01-31").get_json()
    assert kpis["cases"] == 1 and kpis["by_stage"] == {"handle": 1} and kpis["closed"] == 0
    assert bearer("dispatcher")("GET", "/api/v1/kpis?from=2026-02-01&to=2026-01-01").status_code == 422
    client = app.test_client()
    assert client.get("/api/v1/healthz").get_json()["status"] == "ok"
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
    json.dumps(document)


def test_the_command_line_refuses_evidence_references_that_name_no_stored_file(seeded, registered_case, monkeypatch,
                                                                              tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", seeded.config.database_url)
    monkeypatch.setenv("JINGZHI_EVIDENCE_DIR", str(tmp_path / "cli-evidence"))
    _, move = registered_case
    photo = f"evidence/{move['instance_id']}/" + "ab" * 16 + ".jpg"
    command = ["complete", str(move["id"]), "--actor", "property1", "--data",
               json.dumps({**MOVE, "photos_before": [photo]})]
    assert main(command) == 2 and "photos_before" in capsys.readouterr().err
    (tmp_path / "cli-evidence" / str(move["instance_id"])).mkdir(parents=True)
    (tmp_path / "cli-evidence" / photo.removeprefix("evidence/")).write_bytes(JPEG)
    assert main(command) == 0 and seeded.task(move["id"])["status"] == "completed"
