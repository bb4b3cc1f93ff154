"""Engine verbs as jobs (in-process and on the real Redis with RQ) and the ticker that fires due timers."""
from __future__ import annotations

import os
import threading

import pytest
from redis import Redis

from engine.exceptions import InstanceFailed, TaskNotReady
from engine.jobs import Jobs
from engine.ticker import Ticker

REDIS_URL = os.environ.get("JINGZHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis():
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def inspection(deploy):
    return deploy("inspection.bpmn", "register.schema.json")


def test_in_process_jobs_run_the_verb_and_return_its_result(engine, inspection):
    jobs = Jobs(engine)
    submitted = jobs.submit("start", process_id="inspection", data={"device_id": "D-1"})
    assert submitted.done and engine.get(submitted.result).status == "running"
    with pytest.raises(ValueError):
        jobs.submit("store", instance_id=1)


@pytest.mark.redis
def test_rq_jobs_are_queued_and_run_by_a_worker(engine, inspection, redis):
    jobs = Jobs(engine, redis)
    submitted = jobs.submit("start", process_id="inspection", data={"device_id": "D-2"}, business_key="D-2/1")
    assert not submitted.done and jobs.queue.count == 1
    assert engine.ready_tasks() == []                     # nothing ran yet: it waits for a worker
    jobs.work(burst=True)
    [task] = engine.ready_tasks()
    assert task["bpmn_id"] == "register"
    completed = jobs.submit("complete_task", task_id=task["id"], data={"valid": True}, actor="dispatcher1")
    jobs.work(burst=True)
    from rq.job import Job
    assert Job.fetch(completed.job_id, connection=redis).return_value() == task["instance_id"]
    assert [t["bpmn_id"] for t in engine.ready_tasks()] == ["handle"]


@pytest.mark.redis
def test_a_failing_job_is_kept_in_the_failed_registry(engine, inspection, redis):
    jobs = Jobs(engine, redis)
    instance_id = engine.start("inspection", {"device_id": "D-3"})
    [task] = engine.ready_tasks()
    failed = jobs.submit("complete_task", task_id=task["id"], data={"valid": "not a boolean"})
    jobs.work(burst=True)
    assert failed.job_id in jobs.queue.failed_job_registry.get_job_ids()
    assert engine.get(instance_id).tasks[0]["status"] == "ready"


def test_ticker_fires_due_timers_once(engine, inspection, manual_clock):
    ticker = Ticker(Jobs(engine))
    instance_id = engine.start("inspection", {"device_id": "D-4"})
    engine.complete_task(engine.ready_tasks()[0]["id"], {"valid": True})
    assert ticker.run_once() == []
    manual_clock.advance(minutes=91)
    assert ticker.run_once() == [instance_id]
    assert engine.get(instance_id).data["reminders"] == 1
    assert ticker.run_once() == []                         # fired once, the index moved on


@pytest.mark.redis
def test_ticker_does_not_queue_a_second_tick_while_one_waits(engine, inspection, manual_clock, redis):
    jobs = Jobs(engine, redis)
    ticker = Ticker(jobs)
    instance_id = engine.start("inspection", {"device_id": "D-5"})
    engine.complete_task(engine.ready_tasks()[0]["id"], {"valid": True})
    manual_clock.advance(hours=2)
    assert ticker.run_once() == [instance_id]
    assert ticker.run_once() == []
    assert jobs.queue.count == 1
    jobs.work(burst=True)
    assert engine.get(instance_id).data["reminders"] == 1
    assert ticker.run_once() == []


def test_a_timer_whose_script_fails_parks_the_instance_and_the_ticker_goes_on(engine, deploy, manual_clock):
    deploy("timer_failure.bpmn", "inspection.bpmn", "register.schema.json")
    broken = engine.start("timer_failure", {"handled": 3})
    healthy = engine.start("inspection", {"device_id": "D-6"})
    engine.complete_task(engine.ready_tasks(instance_id=healthy)[0]["id"], {"valid": True})
    manual_clock.advance(hours=2)
    assert sorted(Ticker(Jobs(engine)).run_once()) == sorted([broken, healthy])
    view = engine.get(broken)
    assert view.status == "error" and "escalate" in view.error and "ZeroDivisionError" in view.error
    assert view.next_timer_at is None and engine.due_instances() == []
    assert [t["status"] for t in view.tasks] == ["ready"]          # the failed step was not saved
    assert engine.get(healthy).data["reminders"] == 1
    assert "instance.failed" in [e["kind"] for e in engine.history(broken)]
    with pytest.raises(TaskNotReady):                             # parked: no one completes it by accident
        engine.complete_task(view.tasks[0]["id"], {})
    with pytest.raises(InstanceFailed):                           # same diagram, same data: fails again
        engine.retry(broken)
    assert engine.get(broken).status == "error"


def test_ticker_thread_fires_a_due_timer_and_stops_when_told(engine, inspection, manual_clock):
    instance_id = engine.start("inspection", {"device_id": "D-7"})
    engine.complete_task(engine.ready_tasks()[0]["id"], {"valid": True})
    manual_clock.advance(hours=2)
    ticker = Ticker(Jobs(engine), interval_s=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=ticker.run_forever, args=(stop,))
    thread.start()
    try:
        for _ in range(500):                                  # bounded wait for the thread's first looks
            if engine.get(instance_id).data.get("reminders") == 1:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert engine.get(instance_id).data["reminders"] == 1
