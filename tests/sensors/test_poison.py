"""Poison messages on SQLite and PostgreSQL: whatever the database would refuse is a dead letter with its reason,
alone; the rest of its batch is stored and opens its cases; a batch the database refuses anyway is split until
the refused message is alone; only a database that is away fails a batch (and then nothing of it is kept)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select, text

from engine import Config, Engine

from engine.alarms import alerts

from engine.alarms import lifecycle as alarms
from engine.models import Alarm, Alert, DeadLetter, Device
from sensors.intake import Incoming, accept_alert, accept_batch
from tests.sensors.conftest import message
from tests.sensors.test_payload import POISON


def dead_letters(engine) -> list[dict]:
    with engine.store.read() as connection:
        return [dict(r) for r in connection.execute(select(DeadLetter).order_by(DeadLetter.id)).mappings()]


def count(engine, model, *where) -> int:
    with engine.store.read() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


def poison_now(raw: str) -> str:
    """A poison payload of test_payload with this test's device and a timestamp of the engine's clock."""
    good = message("SMK-1", "three_in_one", "alarm")
    for field in ("msg_id", "ts"):
        raw = raw.replace(json.dumps(POISON_GOOD[field])[1:-1], good[field], 1)
    return raw


POISON_GOOD = {"msg_id": "m-1", "ts": "2026-01-05T17:00:00+08:00"}


def test_each_poison_is_a_dead_letter_with_its_reason_and_a_storable_row(sensor_engine):
    for name, raw, reason, words in POISON:
        result = accept_alert(sensor_engine, poison_now(raw).encode("utf-8", "surrogatepass"), "mqtt")
        assert (result.status, result.reason) == ("dead_letter", reason), name
        assert words in result.detail, (name, result.detail)
    rows = dead_letters(sensor_engine)
    assert [(r["reason"], r["source"]) for r in rows] == [(reason, "mqtt") for _, _, reason, _ in POISON]
    for row, (name, _, _, words) in zip(rows, POISON):
        assert words in row["detail"], name
        assert "\x00" not in row["raw"] and row["raw"].encode("utf-8"), name
        assert len(row["msg_id"] or "") <= 120 and len(row["device_id"] or "") <= 80, name
    assert count(sensor_engine, Alert) == 0 and count(sensor_engine, Alarm) == 0


def test_a_poison_in_the_middle_of_a_batch_leaves_every_good_message_stored_and_their_cases_opened(sensor_engine):
    engine = sensor_engine
    good = [message("SMK-1", "three_in_one", "alarm", msg_id="g-smk", detail={"severity": "high"}),
            message("GEO-1", "fire_lane", "alarm", msg_id="g-geo"),
            message("HYD-1", "hydrant_pressure", "heartbeat", msg_id="g-hyd"),
            message("DCM-1", "door_open", "alarm", msg_id="g-dcm"),
            message("GEO-1", "fire_lane", "alarm", msg_id="g-geo-2")]
    poisons = [poison_now(raw) for _, raw, _, _ in POISON]
    items = [Incoming(json.dumps(m, ensure_ascii=False), "mqtt") for m in good[:2]]
    items += [Incoming(p.encode("utf-8", "surrogatepass"), "mqtt") for p in poisons]
    items += [Incoming(json.dumps(m, ensure_ascii=False), "mqtt") for m in good[2:]]
    batch = accept_batch(engine, items)

    statuses = [r.status for r in batch.results]
    assert statuses == ["accepted"] * 2 + ["dead_letter"] * len(POISON) + ["accepted"] * 3
    assert [r.reason for r in batch.results[2:-3]] == [reason for _, _, reason, _ in POISON]
    assert count(engine, Alert) == 5 and len(dead_letters(engine)) == len(POISON)
    assert len(batch.new_alarms) == 3
    opened = [alarms.open_case(engine, alarm_id) for alarm_id in batch.new_alarms]
    assert all(opened)
    with engine.store.read() as connection:
        rows = connection.execute(select(Alarm.device_id, Alarm.count, Alarm.instance_id).order_by(Alarm.device_id))
        by_device = {r.device_id: (r.count, r.instance_id) for r in rows}
    assert {d: c for d, (c, _) in by_device.items()} == {"DCM-1": 1, "GEO-1": 2, "SMK-1": 1}
    assert sorted(i for _, i in by_device.values()) == sorted(opened)
    [smoke] = engine.ready_tasks(instance_id=by_device["SMK-1"][1])
    assert (smoke["bpmn_id"], smoke["team"]) == ("rush_to_scene", "fire_station")


def test_a_message_the_database_refuses_despite_the_checks_is_found_by_splitting_its_batch(sensor_engine):
    """The registry still knows a device whose row was deleted: its alarm breaks the alarm table's foreign key."""
    engine = sensor_engine
    with engine.store.begin() as connection:
        connection.execute(Device.__table__.insert().values(
            id="GONE-1", device_type="smoke_alarm", scenario="three_in_one", heartbeat_interval_s=60,
            status="unknown", registered_at=func.now()))
    alerts.registry(engine).forget()
    assert alerts.registry(engine).get("GONE-1") is not None
    with engine.store.begin() as connection:
        connection.execute(delete(Device.__table__).where(Device.__table__.c.id == "GONE-1"))

    items = [Incoming(json.dumps(message("SMK-1", "three_in_one", "alarm", msg_id=f"ok-{n}")), "mqtt")
             for n in range(6)]
    items.insert(4, Incoming(json.dumps(message("GONE-1", "three_in_one", "alarm", msg_id="ghost")), "mqtt",
                             "jingzhi/sensors/GONE-1/alarm"))
    items.append(Incoming(json.dumps(message("GEO-1", "fire_lane", "alarm", msg_id="ok-geo")), "mqtt"))
    batch = accept_batch(engine, items)

    assert [r.status for r in batch.results] == ["accepted"] * 4 + ["dead_letter"] + ["accepted"] * 3
    refused = batch.results[4]
    assert refused.reason == "store_refused" and "refused" in refused.detail
    [row] = dead_letters(engine)
    assert (row["reason"], row["msg_id"], row["device_id"], row["topic"]) == (
        "store_refused", "ghost", "GONE-1", "jingzhi/sensors/GONE-1/alarm")
    assert json.loads(row["raw"])["msg_id"] == "ghost"
    assert count(engine, Alert) == 7 and count(engine, Alert, Alert.msg_id == "ghost") == 0
    with engine.store.read() as connection:
        counts = dict(connection.execute(select(Alarm.device_id, Alarm.count)).all())
    assert counts == {"SMK-1": 6, "GEO-1": 1}
    assert all(alarms.open_case(engine, alarm_id) for alarm_id in batch.new_alarms)
    assert len(batch.new_alarms) == 2

    again = accept_batch(engine, items)   # redelivered: stored ones are duplicates, the ghost a dead letter again
    assert [r.status for r in again.results] == ["duplicate"] * 4 + ["dead_letter"] + ["duplicate"] * 3


def test_a_dead_letter_row_holds_whatever_it_is_given(sensor_engine):
    """Topics beyond their column, NUL and lone surrogates in any field: escaped and cut, the reason kept."""
    engine = sensor_engine
    topic = "jingzhi/sensors/" + "烟" * 400 + "\x00\ud800/alarm"
    batch = accept_batch(engine, [Incoming("x\x00\udfff{", "mqtt", topic),
                                  Incoming(json.dumps(message("SMK-1", "three_in_one", "heartbeat")), "mqtt")])
    assert [r.status for r in batch.results] == ["dead_letter", "accepted"]
    [row] = dead_letters(engine)
    assert row["reason"] == "not_json" and len(row["topic"]) == 300 and row["topic"].startswith("jingzhi/sensors/烟")
    assert row["raw"] == "x\\0\\udfff{"
    row = alerts.dead_letter_row(alerts.DeadLetterIn(row["received_at"], "s" * 99, "r\x00" * 30, "d\ud800",
                                                     "raw\x00", "t", "m\x00" * 99, "d" * 99))
    assert (len(row["source"]), len(row["reason"]), row["detail"], row["raw"], len(row["msg_id"]),
            len(row["device_id"])) == (40, 40, "d\\ud800", "raw\\0", 120, 80)
    with engine.store.begin() as connection:
        connection.execute(DeadLetter.__table__.insert(), [row])
    assert len(dead_letters(engine)) == 2


def test_a_database_that_is_away_fails_the_batch_whole_and_dead_letters_nothing(sensor_engine, postgres_url):
    """Only the database's own state may fail a batch: then the caller retries it as it is (nothing acknowledged)."""
    engine = sensor_engine
    items = [Incoming(json.dumps(message("SMK-1", "three_in_one", "heartbeat")), "mqtt") for _ in range(3)]
    away = Engine(Config(database_url=postgres_url.replace(":5432/", ":1/")))
    with pytest.raises(Exception) as raised:
        accept_batch(away, items)
    assert alerts.unavailable(away, raised.value)
    away.store.dispose()
    assert accept_batch(engine, items).results[0].status == "accepted"


def test_a_lock_timeout_is_the_databases_state_not_the_messages(postgres_url, pg_engine):
    """On PostgreSQL a batch that times out waiting for a lock is retried whole, not split and dead-lettered (SQLite
    has no lock timeout to hit: it waits for its busy timeout)."""
    sensor_engine = pg_engine
    impatient = Engine(Config(database_url=f"{postgres_url}?options=-c%20lock_timeout%3D300"))
    items = [Incoming(json.dumps(message("SMK-1", "three_in_one", "heartbeat")), "mqtt") for _ in range(4)]
    with sensor_engine.store.begin() as holder:
        holder.execute(text("LOCK TABLE alert IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(Exception) as raised:
            accept_batch(impatient, items)
    assert alerts.unavailable(impatient, raised.value)
    assert dead_letters(sensor_engine) == [] and count(sensor_engine, Alert) == 0
    assert [r.status for r in accept_batch(impatient, items).results] == ["accepted"] * 4
    impatient.store.dispose()
