"""Patrol reports (integrations/patrol.py), video-analytics events (integrations/video.py) and "same problem?" across
channels (engine/same_problem.py, webui/same_problem.py), through the app on the real backends."""
from __future__ import annotations

import base64
import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Engine
from engine.models import Case
from tests.webui.conftest import JPEG, fire_lane_alert, png

NEAR = {"lat": "31.27015", "lon": "121.4812"}   # about 6 m from fire_lane_alert()'s place


def patrol(client, photo=(JPEG, "scene.jpg"), **fields):
    body = {"scenario": "fire_lane", "location_source": "gps", "accuracy": "8", "note": "消防通道停了一辆车",
            **NEAR, **fields}
    if photo is not None:
        body["photo"] = (io.BytesIO(photo[0]), photo[1])
    return client.post("/patrol", body, content_type="multipart/form-data")


def evidence_of(app, instance_id: int) -> list[Path]:
    folder = Path(app.config["EVIDENCE_DIR"]) / str(instance_id)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_patrol_report_becomes_a_case_with_its_photo_as_evidence(app, seeded, login):
    worker = login("patrol1")
    page = worker.get("/patrol").get_data(as_text=True)
    assert 'capture="environment"' in page and 'accept="image/*"' in page and "patrol-map" in page
    sent = patrol(worker)
    assert sent.status_code == 302, sent.get_data(as_text=True)[:400]
    with seeded.store.read() as connection:
        [case] = [dict(r) for r in connection.execute(select(Case.__table__)).mappings()]
    assert (case["channel"], case["scenario"], case["stage"]) == ("patrol", "fire_lane", "register")
    assert (round(case["lat"], 5), round(case["lon"], 5)) == (31.27015, 121.4812)
    view = seeded.get(case["instance_id"])
    assert view.data["description"] == "消防通道停了一辆车" and view.data["reporter"] == "patrol1"
    assert view.data["location_source"] == "gps" and view.data["location_accuracy_m"] == 8
    [photo] = evidence_of(app, case["instance_id"])
    assert photo.read_bytes() == JPEG
    history = seeded.history(case["instance_id"])
    assert ("instance.started", "patrol1") in {(e["kind"], e["actor"]) for e in history}
    [received] = [e for e in history if e["kind"] == "evidence.received"]
    assert received["detail"]["files"] == [f"evidence/{case['instance_id']}/{photo.name}"]
    # the dispatcher sees it in the inbox (registration) and its photo on the case page
    dispatcher = login("dispatcher")
    [register] = seeded.ready_tasks(instance_id=case["instance_id"])
    assert (register["bpmn_id"], register["team"]) == ("register", "command_centre")
    assert f'data-task="{register["id"]}"' in dispatcher.get("/inbox").get_data(as_text=True)
    assert photo.name in dispatcher.get(f"/cases/{case['instance_id']}").get_data(as_text=True)


def test_patrol_reports_are_checked_field_by_field_and_only_patrol_teams_report(app, seeded, login):
    worker = login("patrol1")
    refused = {
        "scenario": patrol(worker, scenario="no_such"),
        "location": patrol(worker, lat="31.1", lon="121.4"),              # Minhang, not this sub-district
        "lat": patrol(worker, lat="north"),
        "photo": patrol(worker, photo=None),
    }
    for field, response in refused.items():
        assert response.status_code == 422, field
        assert f'id="error-{field}"' in response.get_data(as_text=True), field
    not_an_image = patrol(worker, photo=(b"MZ\x90\x00 an executable", "photo.jpg"))
    assert not_an_image.status_code == 422 and 'id="error-photo"' in not_an_image.get_data(as_text=True)
    too_big = patrol(worker, photo=(JPEG + b"\x00" * app.config["EVIDENCE_MAX_BYTES"], "big.jpg"))
    assert too_big.status_code == 422 and 'id="error-photo"' in too_big.get_data(as_text=True)
    no_place = patrol(worker, lat="", lon="")
    assert no_place.status_code == 422 and 'id="error-location"' in no_place.get_data(as_text=True)
    assert seeded.ready_tasks() == []                                     # nothing refused opened a case
    assert login("property1").get("/patrol").status_code == 403
    assert patrol(login("property1")).status_code == 403
    assert patrol(login("dispatcher")).status_code == 302                 # dispatchers may report too


@pytest.fixture
def video(seeded, app):
    token = seeded.people.create_token("dispatcher", "video-platform")
    client = app.test_client()
    seeded.devices.import_rows([{"id": "CAM-00001", "device_type": "dumping_camera", "scenario": "illegal_dumping",
                                 "lat": 31.2712, "lon": 121.4801, "address": "水电路 120号 附近",
                                 "compound": "", "inside_compound": False, "owner_team": "urban_management",
                                 "heartbeat_interval_s": 300}])

    def post(**fields):
        return client.post("/api/v1/video/events", json=fields, headers={"Authorization": f"Bearer {token}"})
    return post


def event(manual_clock, **changes) -> dict:
    body = {"event_id": "vid-1", "camera_id": "CAM-00001", "event_type": "garbage_dumping",
            "occurred_at": (manual_clock.now() - timedelta(minutes=2)).isoformat(),
            "snapshot": base64.b64encode(png()).decode(), "description": "路边堆放建筑垃圾"}
    body.update(changes)
    return body


def test_a_video_event_opens_a_case_once_with_its_snapshot(app, seeded, video, manual_clock):
    first = video(**event(manual_clock))
    assert first.status_code == 201, first.get_data(as_text=True)
    answer = first.get_json()
    assert answer["status"] == "created" and answer["event_id"] == "vid-1"
    case = seeded.get(answer["instance_id"]).case
    assert (case["channel"], case["scenario"], case["stage"]) == ("video", "illegal_dumping", "register")
    assert (case["lat"], case["lon"], case["address"]) == (31.2712, 121.4801, "水电路 120号 附近")   # the camera's
    [snapshot] = evidence_of(app, answer["instance_id"])
    assert snapshot.read_bytes() == png()
    again = video(**event(manual_clock, description="posted twice"))
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "event_id": "vid-1", "instance_id": answer["instance_id"]}
    assert len([t for t in seeded.ready_tasks() if t["bpmn_id"] == "register"]) == 1
    placed = video(**event(manual_clock, event_id="vid-2", camera_id="CAM-99999", event_type="fire_lane",
                           lat=31.2701, lon=121.4812))
    assert placed.status_code == 201
    assert seeded.get(placed.get_json()["instance_id"]).case["scenario"] == "fire_lane"


def test_malformed_video_events_get_a_4xx_naming_the_reason(video, manual_clock):
    cases = {
        "event_type": event(manual_clock, event_type="alien_landing"),
        "location": event(manual_clock, camera_id="CAM-99999"),            # unregistered camera, no lat/lon
        "snapshot": event(manual_clock, snapshot="not base64!"),
        "occurred_at": event(manual_clock, occurred_at="2026-01-05 09:00"),   # no zone
        "lat": event(manual_clock, lat="north", lon=121.48),
        "event_id": event(manual_clock, event_id=""),
    }
    for field, body in cases.items():
        response = video(**body)
        assert response.status_code == 422, (field, response.get_data(as_text=True))
        assert field in response.get_json()["error"]["details"], (field, response.get_json())
    pdf = video(**event(manual_clock, snapshot=base64.b64encode(b"%PDF-1.4 a document").decode()))
    assert pdf.status_code == 422 and "snapshot" in pdf.get_json()["error"]["details"]
    outside = video(**event(manual_clock, lat=31.1, lon=121.4))
    assert "location" in outside.get_json()["error"]["details"]
    future = video(**event(manual_clock, occurred_at=(manual_clock.now() + timedelta(hours=1)).isoformat()))
    assert future.status_code == 422 and "occurred_at" in future.get_json()["error"]["details"]
    assert video(snapshot=[1, 2]).status_code == 422


def test_a_patrol_report_near_an_open_sensor_case_is_merged_with_its_photo(app, seeded, login):
    sensor_case = seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    assert patrol(login("patrol1")).status_code == 302
    [report] = [t["instance_id"] for t in seeded.ready_tasks() if t["instance_id"] != sensor_case]
    dispatcher = login("dispatcher")
    inbox = dispatcher.get("/inbox").get_data(as_text=True)
    assert 'id="same-problem-link"' in inbox and 'href="/same"' in inbox
    case_page = dispatcher.get(f"/cases/{report}").get_data(as_text=True)
    assert f'href="/same/{report}"' in case_page
    page = dispatcher.get("/same").get_data(as_text=True)
    assert f'id="same-{report}"' in page and f"/same/{report}/merge/{sensor_case}" in page
    [report_photo] = evidence_of(app, report)
    assert f"/cases/{report}/evidence/{report_photo.name}" in page                 # the photo helps decide
    merged = dispatcher.post(f"/same/{report}/merge/{sensor_case}")
    assert merged.status_code == 302 and merged.headers["Location"].endswith(f"/cases/{sensor_case}")
    assert seeded.get(report).case["outcome"] == "duplicate"
    kinds = {e["kind"]: e for e in seeded.history(sensor_case)}
    assert kinds["report.merged"]["detail"]["channel"] == "patrol"
    [photo] = evidence_of(app, sensor_case)
    assert photo.read_bytes() == JPEG and kinds["evidence.attached"]["detail"]["from_case"] == report
    assert dispatcher.get(f"/cases/{sensor_case}").status_code == 200


def test_the_distance_per_scenario_is_configuration(seeded):
    sensor_case = seeded.start("closed_loop", fire_lane_alert())
    report = seeded.start("closed_loop", fire_lane_alert(channel="video", lat=31.27015, device_id=None))
    assert [n["instance_id"] for n in seeded.same_problem(report)[1]] == [sensor_case]   # 6 m, default 30 m
    strict = Engine(replace(seeded.config, same_problem_metres="fire_lane=5,bogus=x"), store=seeded.store)
    assert strict.same_problem(report)[1] == [] and strict.same_problem_waiting() == []
    assert [item["case"]["instance_id"] for item in seeded.same_problem_waiting()] == [report]
