"""The intake shared by HTTP and MQTT, on SQLite and PostgreSQL: cases from first alarms, repeats, duplicates,
clears early or on time, flapping, dead letters, heartbeats and silent devices becoming maintenance cases."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.alarms import lifecycle as alarms
from engine.alarms.devices import list_devices, open_alarms
from engine.models import Alarm, DeadLetter
from sensors.intake import AcceptResult, accept_alert
from tests.bpmn.conftest import form
from tests.sensors.conftest import message


def alarm_rows(engine) -> list[dict]:
    with engine.store.read() as connection:
        return [dict(r) for r in connection.execute(select(Alarm).order_by(Alarm.id)).mappings()]


def test_a_first_alarm_starts_a_case_with_its_first_task_in_the_routed_teams_inbox(sensor_engine):
    engine = sensor_engine
    smoke = accept_alert(engine, json.dumps(message("SMK-1", "three_in_one", "alarm", detail={"severity": "high"})),
                         "http")
    assert smoke.status == "accepted" and smoke.alert_id and smoke.instance_id
    [task] = engine.ready_tasks(teams=["fire_station"])
    assert (task["bpmn_id"], task["instance_id"]) == ("rush_to_scene", smoke.instance_id)
    case = engine.get(smoke.instance_id).case
    assert (case["device_id"], case["scenario"], case["channel"], case["address"], case["urgent"]) == (
        "SMK-1", "three_in_one", "sensor", "广中路 268号 底商", True)

    door = accept_alert(engine, message("DCM-1", "door_open", "alarm"), "http")   # one door report: a person checks
    [task] = engine.ready_tasks(instance_id=door.instance_id)
    assert (task["bpmn_id"], task["team"]) == ("register", "command_centre")
    assert engine.get(door.instance_id).case["compound"] == "何家宅小区"


def test_repeats_count_on_the_open_case_and_the_same_msg_id_is_handled_once(sensor_engine, manual_clock):
    engine = sensor_engine
    first = accept_alert(engine, message("GEO-1", "fire_lane", "alarm", msg_id="geo-1"), "mqtt")
    for n in range(2, 5):
        manual_clock.advance(minutes=1)
        repeat = accept_alert(engine, message("GEO-1", "fire_lane", "alarm", msg_id=f"geo-{n}"), "mqtt")
        assert (repeat.status, repeat.instance_id) == ("accepted", first.instance_id)
    again = accept_alert(engine, message("GEO-1", "fire_lane", "alarm", msg_id="geo-4"), "mqtt")
    assert again == AcceptResult("duplicate", None, None, "msg_id already accepted")
    [alarm] = alarm_rows(engine)
    assert (alarm["count"], alarm["instance_id"], alarm["status"]) == (4, first.instance_id, "open")
    assert alarm["last_seen_at"] == manual_clock.now() and alarm["first_seen_at"] < alarm["last_seen_at"]
    assert len(engine.ready_tasks()) == 1
    [device] = list_devices(engine.store, with_open_alarms=True)
    assert (device["id"], device["open_alarms"], device["last_seen_at"]) == ("GEO-1", 1, manual_clock.now())


def test_a_clear_during_handling_verifies_the_case_when_it_reaches_verification(sensor_engine, manual_clock):
    engine = sensor_engine
    opened = accept_alert(engine, message("HYD-1", "hydrant_pressure", "alarm"), "mqtt")
    [task] = engine.ready_tasks(instance_id=opened.instance_id)
    assert (task["bpmn_id"], task["team"]) == ("check_hydrant", "water_company")
    manual_clock.advance(minutes=5)
    cleared = accept_alert(engine, message("HYD-1", "hydrant_pressure", "clear", value=0.32), "mqtt")
    assert cleared.status == "accepted" and engine.get(opened.instance_id).case["stage"] == "handle"
    assert alarm_rows(engine)[0]["clear_pending"] is True
    engine.complete_task(task["id"], form("check_hydrant"), actor="water-7")
    assert alarms.sweep(engine)["cleared"] == 1
    view = engine.get(opened.instance_id)
    assert (view.status, view.case["stage"], view.data["verified_by"]) == ("completed", "closed", "sensor")
    [alarm] = alarm_rows(engine)
    assert (alarm["status"], alarm["open_key"], alarm["clear_pending"]) == ("closed", None, False)

    again = accept_alert(engine, message("HYD-1", "hydrant_pressure", "alarm"), "mqtt")   # a new problem: new case
    assert again.instance_id not in (None, opened.instance_id)


def test_a_flapping_device_keeps_one_case(sensor_engine, manual_clock):
    engine = sensor_engine
    results = []
    for n in range(5):
        results.append(accept_alert(engine, message("GEO-1", "fire_lane", "alarm"), "mqtt"))
        manual_clock.advance(seconds=20)
        if n < 4:
            accept_alert(engine, message("GEO-1", "fire_lane", "clear"), "mqtt")
            manual_clock.advance(seconds=20)
    assert len({r.instance_id for r in results}) == 1
    [alarm] = alarm_rows(engine)
    assert (alarm["count"], alarm["flaps"], alarm["clear_pending"]) == (5, 4, False)
    assert len(engine.ready_tasks()) == 1


def test_garbage_is_kept_as_dead_letters_with_their_reasons(sensor_engine):
    engine = sensor_engine
    results = [
        accept_alert(engine, b"\x89PNG\r\n\x1a\n\x00", "mqtt"),
        accept_alert(engine, "{\"msg_id\": 1}", "http"),
        accept_alert(engine, message("GHOST-1", "three_in_one", "alarm"), "http"),
        accept_alert(engine, message("SMK-1", "fire_lane", "alarm"), "http"),
        accept_alert(engine, {**message("SMK-1", "three_in_one", "alarm"), "ts": "2026-01-05T09:00:00"}, "http"),
        accept_alert(engine, "x" * 10_000, "http"),
    ]
    assert [r.status for r in results] == ["dead_letter"] * 6
    assert [r.reason for r in results] == ["not_json", "schema", "unknown_device", "wrong_scenario",
                                           "bad_timestamp", "too_large"]
    with engine.store.read() as connection:
        rows = connection.execute(select(DeadLetter.reason, DeadLetter.source, DeadLetter.device_id,
                                         DeadLetter.detail).order_by(DeadLetter.id)).all()
    assert [r.reason for r in rows] == [r.reason for r in results]
    assert rows[2].device_id == "GHOST-1" and "not registered" in rows[2].detail
    assert alarm_rows(engine) == [] and engine.ready_tasks() == []


def test_heartbeats_keep_a_device_online_and_a_silent_one_becomes_a_maintenance_case(sensor_engine, manual_clock):
    engine = sensor_engine
    accept_alert(engine, message("SMK-1", "three_in_one", "heartbeat"), "mqtt")
    [device] = list_devices(engine.store, scenario="three_in_one")
    assert (device["status"], device["last_seen_at"]) == ("online", manual_clock.now())
    manual_clock.advance(seconds=150)                  # interval 60 s: two beats missed is not yet offline
    assert alarms.sweep(engine)["opened"] == 0
    manual_clock.advance(seconds=60)
    assert alarms.sweep(engine)["opened"] == 1
    assert list_devices(engine.store, status="offline")[0]["id"] == "SMK-1"
    [alarm] = open_alarms(engine.store, "SMK-1")
    [task] = engine.ready_tasks(instance_id=alarm["instance_id"])
    assert (task["bpmn_id"], task["team"]) == ("maintain_device", "fire_station")     # the device's owner team
    assert engine.get(alarm["instance_id"]).case["scenario"] == "device_offline"
    assert alarms.sweep(engine)["opened"] == 0                                          # one case, not one a sweep

    manual_clock.advance(minutes=10)
    accept_alert(engine, message("SMK-1", "three_in_one", "heartbeat"), "mqtt")       # it reports again
    view = engine.get(alarm["instance_id"])
    assert (view.status, view.case["outcome"], view.case["stage"]) == ("completed", "recovered_by_itself", "closed")
    assert list_devices(engine.store, scenario="three_in_one")[0]["status"] == "online"
    assert open_alarms(engine.store, "SMK-1") == []


def test_an_alarm_whose_process_is_not_deployed_waits_and_starts_once_it_is(engine, manual_clock):
    from engine.alarms.devices import import_devices
    from tests.sensors.conftest import DEVICES, deploy_all

    import_devices(engine.store, DEVICES)
    result = accept_alert(engine, message("HYD-1", "hydrant_pressure", "alarm"), "http")
    assert (result.status, result.instance_id) == ("accepted", None)        # stored, acknowledged, no case yet
    deploy_all(engine)
    manual_clock.advance(seconds=alarms.START_LEASE_S + 1)
    assert alarms.sweep(engine)["opened"] == 1
    [alarm] = alarm_rows(engine)
    assert engine.ready_tasks(instance_id=alarm["instance_id"])[0]["team"] == "water_company"
