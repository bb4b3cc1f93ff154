"""A worker killed mid-job (issue 11, class 9): a real ``jingzhi worker`` (an RQ worker) killed with SIGKILL while
its job waits inside the engine's step, on a Redis of the test's own. The abandoned job is queued again once its
lease runs out, and its effect happens exactly once."""
from __future__ import annotations

import pytest

from bench.jobs_faults import run_worker_kill
from tests.conftest import _empty_postgres


@pytest.mark.redis
def test_jobs_of_workers_killed_mid_job_are_retried_and_take_effect_once(postgres_url):
    _empty_postgres(postgres_url)
    outcome = run_worker_kill(postgres_url, jobs=10, kills=2, workers=2, timeout=90.0)
    assert outcome.killed == 2, outcome.line()                 # each kill landed inside a job
    assert outcome.stranded == 0 and outcome.failed == 0, outcome.line()
    assert (outcome.completed, outcome.missing, outcome.twice) == (10, 0, 0), outcome.line()


@pytest.mark.redis
def test_a_job_whose_verb_fails_is_not_rerun(engine, deploy):
    """Retries are for abandoned jobs: a verb that fails ends in the failed registry after one run."""
    from redis import Redis

    from bench.jobs_faults import RedisServer
    from engine.jobs import Jobs

    deploy("inspection.bpmn", "register.schema.json")
    server = RedisServer()
    try:
        redis = Redis.from_url(server.url)
        jobs = Jobs(engine, redis)
        engine.start("inspection", {"device_id": "D-9"})
        [task] = engine.ready_tasks()
        failed = jobs.submit("complete_task", task_id=task["id"], data={"valid": "not a boolean"})
        jobs.work(burst=True)
        assert jobs.queue.failed_job_registry.get_job_ids() == [failed.job_id]
        assert jobs.queue.count == 0 and not jobs.pending(failed.job_id)
        redis.close()
    finally:
        server.close()
