"""`jingzhi ingest` against the real Mosquitto and PostgreSQL: cases from alarms, repeats, clears, dead letters,
restarts of the ingester and of the broker, and several ingesters sharing one subscription."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from engine.models import Alarm, Alert, DeadLetter
from tests.bpmn.conftest import form
from tests.sensors.conftest import MQTT_URL, ROOT, Publisher, message, settings, wait_for


def count(engine, model, *where) -> int:
    with engine.store.read() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


def work_until_verification(engine, instance_id: int) -> None:
    """Complete the playbook's tasks with valid forms until the case waits for verification."""
    for _ in range(10):
        ready = [t for t in engine.ready_tasks(instance_id=instance_id) if not t["bpmn_id"].endswith("_escalate")]
        if [t["bpmn_id"] for t in ready] == ["verify"]:
            return
        engine.complete_task(ready[0]["id"], form(ready[0]["bpmn_id"]), actor="handler-1")
    raise AssertionError(f"never reached verification: {engine.ready_tasks(instance_id=instance_id)}")


def alarm_of(engine, device_id: str) -> dict | None:
    with engine.store.read() as connection:
        row = connection.execute(select(Alarm).where(Alarm.device_id == device_id)
                                 .order_by(Alarm.id.desc())).mappings().first()
    return dict(row) if row else None


@pytest.mark.parametrize("on_rq", [False, True], ids=["jobs-in-process", "jobs-on-rq"])
def test_an_alarm_opens_a_case_repeats_count_on_it_and_the_clear_verifies_it(pg_engine, ingesters, publisher,
                                                                             mqtt_names, on_rq, request):
    """The case start and the clear run as jobs: on the ingester's background thread, or queued on the real Redis
    for an RQ worker (a burst worker here, run while the test waits)."""
    engine = pg_engine
    jobs = request.getfixturevalue("rq_jobs") if on_rq else None
    ingesters(settings(mqtt_names), jobs=jobs)

    def worker() -> None:
        if jobs is not None:
            jobs.work(burst=True)

    publisher.send(message("HYD-1", "hydrant_pressure", "alarm", value=0.05, unit="MPa",
                           detail={"severity": "high"}))
    if on_rq:   # stored, its start queued: no case until a worker runs the job
        wait_for(lambda: jobs.queue.count == 1, what="the case start job")
        assert alarm_of(engine, "HYD-1")["instance_id"] is None
    alarm = wait_for(lambda: worker() or (a := alarm_of(engine, "HYD-1")) and a["instance_id"] and a,
                     what="the case")
    [task] = engine.ready_tasks(instance_id=alarm["instance_id"])
    assert (task["bpmn_id"], task["team"]) == ("check_hydrant", "water_company")
    assert task["id"] in {t["id"] for t in engine.ready_tasks(teams=["water_company"])}

    for _ in range(3):
        publisher.send(message("HYD-1", "hydrant_pressure", "alarm", value=0.06, unit="MPa"))
    wait_for(lambda: alarm_of(engine, "HYD-1")["count"] == 4, what="the repeats to count")
    assert count(engine, Alarm) == 1 and len(engine.ready_tasks()) == 1
    case = engine.get(alarm["instance_id"]).case
    assert (case["device_id"], case["scenario"], case["channel"], case["severity"], case["urgent"]) == (
        "HYD-1", "hydrant_pressure", "sensor", "high", True)

    work_until_verification(engine, alarm["instance_id"])
    publisher.send(message("HYD-1", "hydrant_pressure", "clear", value=0.3, unit="MPa"))
    wait_for(lambda: worker() or engine.get(alarm["instance_id"]).status == "completed",
             what="the case to verify itself")
    view = engine.get(alarm["instance_id"])
    assert view.data["verified_by"] == "sensor" and view.case["stage"] == "closed"
    wait_for(lambda: alarm_of(engine, "HYD-1")["status"] == "closed", what="the alarm to close")
    assert count(engine, Alert, Alert.device_id == "HYD-1", Alert.instance_id == alarm["instance_id"]) == 5


def test_garbage_becomes_dead_letters_with_reasons_and_the_ingester_carries_on(pg_engine, ingesters, publisher,
                                                                               mqtt_names):
    engine = pg_engine
    ingester = ingesters(settings(mqtt_names))
    publisher.send(b"{not json", "SMK-1", "alarm")
    publisher.send(message("NOPE-9", "three_in_one", "alarm"))
    publisher.send(message("SMK-1", "fire_lane", "alarm"))
    publisher.send(dict(message("SMK-1", "three_in_one", "alarm"), ts="2026-02-30T25:61:00+08:00"))
    publisher.send(b"x" * 20_000, "SMK-1", "alarm")
    publisher.send(message("SMK-1", "three_in_one", "clear"), "SMK-1", "alarm")       # topic says alarm
    publisher.send(b"\xff\xfe\x00binary", "SMK-1", "heartbeat")
    duplicate = message("DCM-1", "door_open", "heartbeat")
    publisher.send(duplicate)
    publisher.send(duplicate)
    wait_for(lambda: ingester.stats.received == 9, what="all nine messages")
    with engine.store.read() as connection:
        reasons = sorted(connection.scalars(select(DeadLetter.reason)))
    assert reasons == sorted(["not_json", "unknown_device", "wrong_scenario", "bad_timestamp", "too_large",
                              "topic_mismatch", "not_json"])
    assert (ingester.stats.dead_letters, ingester.stats.accepted, ingester.stats.duplicates) == (7, 1, 1)
    assert count(engine, Alert) == 1 and count(engine, Alarm) == 0


def _ingest_process(names: dict, database_url: str, url: str = MQTT_URL) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, MQTT_URL=url, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "jingzhi.cli", "ingest", "--topic-root", names["root"],
                             "--client-id", f"{names['client']}-proc"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_messages_published_while_the_ingester_is_down_are_handled_when_it_returns(pg_engine, publisher,
                                                                                     mqtt_names):
    engine = pg_engine
    process = _ingest_process(mqtt_names, engine.store.url)
    try:
        first = message("DCM-1", "door_open", "heartbeat")
        # The first run creates the persistent session: publish until the ingester has one stored.
        wait_for(lambda: publisher.send(first) or count(engine, Alert) == 1, 30, 0.5, "the ingester to start")
        process.send_signal(signal.SIGKILL)     # a crash, not a clean stop
        process.wait(10)
        sent = [message("DCM-1", "door_open", "heartbeat") for _ in range(50)]
        sent += [message("GEO-1", "fire_lane", "alarm") for _ in range(3)]
        for payload in sent:
            publisher.send(payload)
        assert count(engine, Alert) == 1
        process = _ingest_process(mqtt_names, engine.store.url)
        wait_for(lambda: count(engine, Alert) == 1 + len(sent), 60, 0.2, "the queued messages")
        alarm = wait_for(lambda: (a := alarm_of(engine, "GEO-1")) and a["instance_id"] and a, what="the case")
        assert alarm["count"] == 3
        # registered by the command centre, or by rule when the repeats were counted before the case started
        [task] = engine.ready_tasks(instance_id=alarm["instance_id"])
        assert (task["bpmn_id"], task["team"]) in {("register", "command_centre"), ("move_vehicle", "property_company")}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_a_restarted_broker_loses_nothing(pg_engine, ingesters, own_broker, mqtt_names):
    engine = pg_engine
    ingester = ingesters(settings(mqtt_names, url=own_broker.url))
    publisher = Publisher(own_broker.url, mqtt_names["root"])
    sent = [message("DCM-1", "door_open", "heartbeat") for _ in range(20)]
    for payload in sent[:10]:
        publisher.send(payload)
    wait_for(lambda: count(engine, Alert) == 10, what="the first ten")
    ingester.stop()                     # ingester away, then the broker restarts with queued messages
    for payload in sent[10:]:
        publisher.send(payload)
    publisher.close()
    own_broker.stop()
    own_broker.start()
    ingesters(settings(mqtt_names, url=own_broker.url))
    wait_for(lambda: count(engine, Alert) == 20, 60, what="the messages queued across the broker restart")
    publisher = Publisher(own_broker.url, mqtt_names["root"])
    publisher.send(message("DCM-1", "door_open", "heartbeat"))
    wait_for(lambda: count(engine, Alert) == 21, what="a message after the restart")
    publisher.close()


def test_two_ingesters_share_the_load_and_handle_every_message_exactly_once(pg_engine, ingesters, publisher,
                                                                            mqtt_names):
    engine = pg_engine
    one = ingesters(settings(mqtt_names, 1, partition=0, partitions=2))
    two = ingesters(settings(mqtt_names, 2, partition=1, partitions=2))
    sent = [message(d, s, "heartbeat") for d, s in (("DCM-1", "door_open"), ("SMK-1", "three_in_one"))
            for _ in range(100)]
    sent += [message("GEO-1", "fire_lane", "alarm") for _ in range(10)]
    for payload in sent:
        publisher.send(payload)
    wait_for(lambda: one.stats.received + two.stats.received >= len(sent), 60, what="every message")
    assert count(engine, Alert) == len(sent)
    assert one.stats.received + two.stats.received == len(sent)     # no message went to both
    assert one.stats.received > 0 and two.stats.received > 0        # the load was shared
    assert one.stats.not_ours == two.stats.received and two.stats.not_ours == one.stats.received
    assert one.stats.duplicates == two.stats.duplicates == 0
    alarm = wait_for(lambda: (a := alarm_of(engine, "GEO-1")) and a["instance_id"] and a, what="the case")
    assert alarm["count"] == 10 and count(engine, Alarm) == 1
