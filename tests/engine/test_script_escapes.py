"""Nothing a diagram raises stops the engine: SystemExit, KeyboardInterrupt, GeneratorExit from a script are step
failures (the instance is parked with the reason), and the ticker loop and an RQ worker go on with the next work.

timer_failure.bpmn waits at user task ``wait``; its one-hour deadline runs script task ``escalate``, swapped here.
"""
from __future__ import annotations

import os
import threading

import pytest
from redis import Redis

from engine.jobs import Jobs
from engine.ticker import Ticker
from tests.conftest import DIAGRAMS

REDIS_URL = os.environ.get("JINGZHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEMPLATE = (DIAGRAMS / "timer_failure.bpmn").read_text()
ESCAPES = {
    "SystemExit": "raise SystemExit(3)",
    "KeyboardInterrupt": "x = 1\nraise KeyboardInterrupt",
    "GeneratorExit": "raise GeneratorExit",
    "cpu": "import math\nratio = math.factorial(10 ** 7)",
    "memory": "ratio = '%10000000000s' % 1",
}
REASONS = {"cpu": "script exceeded its time limit of 0.5 s", "memory": "script exceeded its memory limit of 256 MB"}


def escalating(script: str) -> dict[str, bytes]:
    return {"timer_failure.bpmn": TEMPLATE.replace("ratio = handled / 0", script).encode()}


def start_two(engine, deploy, script: str) -> tuple[int, int]:
    """A timer instance whose escalation raises ``script``, and a healthy inspection with a due reminder."""
    engine.deploy(escalating(script), deployed_by="test")
    deploy("inspection.bpmn", "register.schema.json")
    broken = engine.start("timer_failure", {"handled": 3})
    healthy = engine.start("inspection", {"device_id": "D-esc"})
    engine.complete_task(engine.ready_tasks(instance_id=healthy)[0]["id"], {"valid": True})
    return broken, healthy


def assert_parked(engine, instance_id: int, name: str) -> None:
    view = engine.get(instance_id)
    assert view.status == "error", view
    assert "escalate" in view.error
    assert REASONS.get(name, f"script raised {name}") in view.error, view.error
    assert [t["status"] for t in view.tasks] == ["ready"]  # the failed step was not saved
    assert engine.due_instances() == []


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_the_ticker_loop_parks_the_instance_and_goes_on(engine, deploy, manual_clock, name):
    broken, healthy = start_two(engine, deploy, ESCAPES[name])
    manual_clock.advance(hours=2)
    ticker = Ticker(Jobs(engine), interval_s=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=ticker.run_forever, args=(stop,))
    thread.start()
    try:
        for _ in range(1000):  # bounded wait for the thread's looks
            if engine.get(broken).status == "error" and engine.get(healthy).data.get("reminders") == 1:
                break
            stop.wait(0.01)
        assert thread.is_alive()  # still looking
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert_parked(engine, broken, name)
    assert engine.get(healthy).data["reminders"] == 1


@pytest.mark.redis
@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt"])
def test_an_rq_worker_parks_the_instance_and_runs_the_next_job(engine, deploy, manual_clock, name):
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    try:
        jobs = Jobs(engine, redis)
        broken, healthy = start_two(engine, deploy, ESCAPES[name])
        manual_clock.advance(hours=2)
        bad = jobs.submit("tick", job_id=f"tick-{broken}", instance_id=broken)
        good = jobs.submit("tick", job_id=f"tick-{healthy}", instance_id=healthy)
        jobs.work(burst=True)  # returns: the worker was not stopped by the script
        assert bad.job_id in jobs.queue.failed_job_registry.get_job_ids()
        from rq.job import Job
        assert Job.fetch(good.job_id, connection=redis).return_value() == ["handle_reminder"]
        assert_parked(engine, broken, name)
        assert engine.get(healthy).data["reminders"] == 1
        # parked: the ticker hands it to nobody again, so no worker runs it every second
        assert Ticker(jobs).run_once() == []
    finally:
        redis.flushdb()
        redis.close()


def test_a_task_completion_whose_script_raises_systemexit_fails_and_saves_nothing(engine, deploy):
    from tests.engine.test_sandbox import sandbox_files

    engine.deploy(sandbox_files(after="raise SystemExit"), deployed_by="test")
    instance_id = engine.start("sandbox")
    [approve] = engine.ready_tasks()
    from engine.exceptions import InstanceFailed
    with pytest.raises(InstanceFailed) as failed:
        engine.complete_task(approve["id"], {"approved": True}, actor="approver")
    assert failed.value.details["element_id"] == "after"
    assert "script raised SystemExit" in failed.value.message
    assert engine.ready_tasks() == [approve] and engine.get(instance_id).status == "running"
