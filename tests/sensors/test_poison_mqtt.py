"""Poison messages through the real Mosquitto and PostgreSQL: the ingester dead-letters them with their reasons,
stores and acknowledges everything around them, and never fails a batch - also when they were queued while it was
away and arrive together with good messages on its return."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from engine.models import Alarm, Alert, DeadLetter
from tests.sensors.conftest import message, settings, wait_for
from tests.sensors.test_payload import POISON
from tests.sensors.test_poison import poison_now


def count(engine, model, *where) -> int:
    with engine.store.read() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


def publish_all(publisher, messages: list[tuple[str, bytes]]) -> None:
    """Publish every message (QoS 1) before waiting for the acks, so they reach the ingester in few batches."""
    infos = [publisher.client.publish(f"{publisher.root}/{topic}", body, qos=1) for topic, body in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
        assert info.is_published()


def traffic() -> tuple[list[tuple[str, bytes]], list[str]]:
    """Good alarms and heartbeats with every poison in the middle; returns them and the poisons' reasons."""
    good = [message("GEO-1", "fire_lane", "alarm"), message("DCM-1", "door_open", "heartbeat"),
            message("SMK-1", "three_in_one", "alarm", detail={"severity": "high"})]
    good += [message("DCM-1", "door_open", "heartbeat") for _ in range(10)]
    as_topic = [(f"{m['device_id']}/{m['event']}", json.dumps(m, ensure_ascii=False).encode()) for m in good]
    poisons = [("SMK-1/alarm", poison_now(raw).encode("utf-8", "surrogatepass")) for _, raw, _, _ in POISON]
    return as_topic[:3] + poisons + as_topic[3:], [reason for _, _, reason, _ in POISON]


def test_poison_in_a_burst_is_dead_lettered_and_everything_else_stored_also_after_a_restart(
        pg_engine, ingesters, publisher, mqtt_names):
    engine = pg_engine
    ingester = ingesters(settings(mqtt_names))
    sent, reasons = traffic()
    publish_all(publisher, sent)
    wait_for(lambda: ingester.stats.received == len(sent), 60, what="every message")
    assert count(engine, Alert) == 13 and count(engine, DeadLetter) == len(POISON)
    with engine.store.read() as connection:
        assert sorted(connection.scalars(select(DeadLetter.reason))) == sorted(reasons)
    assert ingester.stats.failed_batches == 0 and ingester.stats.acked == len(sent)
    wait_for(lambda: count(engine, Alarm, Alarm.instance_id.is_not(None)) == 2, what="both cases")

    ingester.stop()          # away: the next burst waits on the broker and arrives at once when it is back
    again, _ = traffic()
    publish_all(publisher, again)
    ingester = ingesters(settings(mqtt_names))
    wait_for(lambda: ingester.stats.received == len(again), 60, what="the queued burst")
    assert count(engine, Alert) == 26 and count(engine, DeadLetter) == 2 * len(POISON)
    assert ingester.stats.failed_batches == 0 and ingester.stats.acked == len(again)
    with engine.store.read() as connection:   # the repeats counted on the open alarms, no second case
        assert sorted(connection.execute(select(Alarm.device_id, Alarm.count)).all()) == [("GEO-1", 2), ("SMK-1", 2)]
