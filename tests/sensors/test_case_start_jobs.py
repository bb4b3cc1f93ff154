"""Case starts from alerts as jobs: on a real RQ worker, recovered by the ticker's sweep when the job is lost, opened
once however often the job runs, and many to a transaction with every alarm on its own case."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import Jobs, Ticker

from engine.alarms import lifecycle as alarms
from engine.models import Alarm, Alert, ProcessInstance
from sensors.intake import Incoming, accept_alert, accept_batch
from tests.sensors.conftest import jobs_on_redis, message


@pytest.fixture
def redis_jobs(sensor_engine):
    yield from jobs_on_redis(sensor_engine)


def links(engine) -> dict[str, tuple[int, int | None]]:
    """device id -> (alarm id, instance id) of its open alarm."""
    with engine.store.read() as connection:
        rows = connection.execute(select(Alarm.device_id, Alarm.id, Alarm.instance_id).where(Alarm.status == "open"))
        return {device: (alarm_id, instance_id) for device, alarm_id, instance_id in rows}


def instances(engine) -> int:
    with engine.store.read() as connection:
        return connection.scalar(select(func.count()).select_from(ProcessInstance))


def batch_of(engine, *messages: dict):
    import json

    return accept_batch(engine, [Incoming(json.dumps(m, ensure_ascii=False), "mqtt") for m in messages])


@pytest.mark.redis
def test_a_case_start_runs_as_a_job_on_redis_and_an_rq_worker(sensor_engine, redis_jobs):
    engine = sensor_engine
    result = accept_alert(engine, message("HYD-1", "hydrant_pressure", "alarm"), "http", jobs=redis_jobs)
    assert (result.status, result.instance_id) == ("accepted", None)      # stored; the start waits in the queue
    assert redis_jobs.queue.count == 1 and links(engine)["HYD-1"][1] is None and instances(engine) == 0

    redis_jobs.work(burst=True)
    alarm_id, instance_id = links(engine)["HYD-1"]
    assert redis_jobs.queue.count == 0 and instance_id is not None
    [task] = engine.ready_tasks(instance_id=instance_id)
    assert task["team"] == "water_company"
    assert engine.get(instance_id).business_key == f"HYD-1/hydrant_pressure#{alarm_id}"


@pytest.mark.redis
def test_a_lost_start_job_is_recovered_by_the_tickers_sweep_once_its_claim_lapses(sensor_engine, redis_jobs,
                                                                                manual_clock):
    engine = sensor_engine
    accept_alert(engine, message("SMK-1", "three_in_one", "alarm", detail={"severity": "high"}), "http",
                 jobs=redis_jobs)
    redis_jobs.queue.empty()                          # the job is lost (Redis flushed, its worker gone for good)
    ticker = Ticker(Jobs(engine))
    assert ticker.sweep()["opened"] == 0              # the claim of its batch still holds: the job may yet run
    assert links(engine)["SMK-1"][1] is None

    manual_clock.advance(seconds=alarms.START_LEASE_S + 1)
    assert ticker.sweep()["opened"] == 1
    alarm_id, instance_id = links(engine)["SMK-1"]
    assert engine.ready_tasks(instance_id=instance_id)[0]["team"] == "fire_station"
    assert ticker.sweep()["opened"] == 0 and instances(engine) == 1


def test_a_start_lost_with_its_in_process_job_is_recovered_by_the_sweep(sensor_engine, manual_clock):
    """In-process jobs die with their process: the batch was stored and acknowledged, its job never ran."""
    engine = sensor_engine
    batch = batch_of(engine, message("DCM-1", "door_open", "alarm"), message("GEO-1", "fire_lane", "alarm"))
    assert len(batch.new_alarms) == 2 and instances(engine) == 0
    manual_clock.advance(seconds=alarms.START_LEASE_S + 1)
    assert Ticker(Jobs(engine)).sweep()["opened"] == 2
    assert all(instance_id for _, instance_id in links(engine).values()) and instances(engine) == 2


def test_a_start_job_that_runs_twice_opens_one_case(sensor_engine, manual_clock):
    engine = sensor_engine
    batch = batch_of(engine, message("HYD-1", "hydrant_pressure", "alarm"))
    first = engine.alarms.after_commit(batch.new_alarms, batch.pending_clears)
    again = engine.alarms.after_commit(batch.new_alarms, batch.pending_clears)   # an RQ rerun of the job
    manual_clock.advance(seconds=alarms.START_LEASE_S + 1)
    swept = engine.alarms.sweep()                                                # and the sweep after it
    assert len(first.started) == 1 and again.started == {} and swept["opened"] == 0
    assert instances(engine) == 1 and links(engine)["HYD-1"][1] == first.started[batch.new_alarms[0]]


def test_two_runs_of_one_start_job_at_once_open_one_case_each_alarm(pg_engine):
    """Two workers on the same job (a rerun while the first still runs): the second waits for the first's commit."""
    engine = pg_engine
    batch = batch_of(engine, *(message(d, s, "alarm") for d, s in (("SMK-1", "three_in_one"),
                                                                 ("DCM-1", "door_open"), ("GEO-1", "fire_lane"))))
    gate = threading.Barrier(2)
    started: list[dict[int, int]] = []

    def run() -> None:
        gate.wait()
        started.append(engine.alarms.after_commit(batch.new_alarms, []).started)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(s) for s in started) == [0, 3]
    assert instances(engine) == 3
    assert {a: i for a, i in links(engine).values()} == next(s for s in started if s)


def test_one_batch_starts_every_new_alarms_case_in_one_go_each_on_its_own_case(sensor_engine):
    engine = sensor_engine
    sent = [message("SMK-1", "three_in_one", "alarm", detail={"severity": "high"}),
            message("HYD-1", "hydrant_pressure", "heartbeat"),
            message("DCM-1", "door_open", "alarm"),
            message("SMK-1", "three_in_one", "alarm"),                      # a repeat in the same batch
            message("HYD-1", "hydrant_pressure", "alarm"),
            message("GEO-1", "fire_lane", "alarm")]
    batch = batch_of(engine, *sent)
    assert len(batch.new_alarms) == 4
    done = engine.alarms.after_commit(batch.new_alarms, batch.pending_clears)
    assert sorted(done.started) == sorted(batch.new_alarms) and len(set(done.started.values())) == 4

    scenarios = {m["device_id"]: m["scenario"] for m in sent}
    for device, (alarm_id, instance_id) in links(engine).items():
        assert done.started[alarm_id] == instance_id
        view = engine.get(instance_id)
        assert view.business_key == f"{device}/{scenarios[device]}#{alarm_id}"
        assert (view.case["device_id"], view.case["scenario"]) == (device, scenarios[device])
        assert engine.ready_tasks(instance_id=instance_id)
    # routed on their own data: a high smoke alarm to the fire station, a hydrant to the water company
    assert engine.ready_tasks(instance_id=links(engine)["SMK-1"][1])[0]["team"] == "fire_station"
    assert engine.ready_tasks(instance_id=links(engine)["HYD-1"][1])[0]["team"] == "water_company"
    assert engine.get(links(engine)["SMK-1"][1]).data["alert_count"] == 2
    with engine.store.read() as connection:
        alerts = connection.execute(select(Alert.device_id, Alert.alarm_id, Alert.instance_id)
                                    .where(Alert.alarm_id.is_not(None))).all()
    assert len(alerts) == 5
    assert all(links(engine)[device] == (alarm_id, instance_id) for device, alarm_id, instance_id in alerts)


def test_an_alarm_the_diagram_refuses_is_parked_and_the_others_of_its_batch_start(sensor_engine):
    engine = sensor_engine
    batch = batch_of(engine, message("DCM-1", "door_open", "alarm"), message("GEO-1", "fire_lane", "alarm"))
    with engine.store.begin() as connection:   # start data past the engine's size limit: refused, not retried
        connection.execute(Alarm.__table__.update().where(Alarm.id == batch.new_alarms[0])
                           .values(start_data={"blob": "x" * 300_000}))
    done = engine.alarms.after_commit(batch.new_alarms, [])
    assert list(done.started) == [batch.new_alarms[1]]
    with engine.store.read() as connection:
        status, error = connection.execute(select(Alarm.status, Alarm.error)
                                           .where(Alarm.id == batch.new_alarms[0])).one()
    assert status == "failed" and error and instances(engine) == 1
