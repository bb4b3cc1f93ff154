"""The designer's what-if as a job: queued on RQ (real Redis) it waits for a worker, which runs it to the
comparison; on embedded defaults it runs on the process's background thread, away from the caller, with the
caller's engine, and its simulation's virtual clock is that thread's alone."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine import clock, people
from engine.jobs import Jobs, current_engine, use_engine
from simulation.jobs import run_whatif
from tests.conftest import read_files
from tests.engine.test_jobs_and_ticker import redis  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = {"b": None, "routing": None, "staffing": {"grid_patrol": 0.2}, "seeds": [1],
        "period": {"source": "simulated", "days": 0.1, "scale": 0.3, "scenarios": ["door_open"]}}


@pytest.fixture
def district(engine):
    engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")
    people.seed_teams(engine.store, json.loads((ROOT / "seed" / "teams.json").read_text(encoding="utf-8"))["teams"])
    return engine


@pytest.mark.redis
def test_on_rq_a_run_waits_for_a_worker_which_runs_it_to_the_comparison(district, redis):  # noqa: F811
    run_id = district.whatif_runs.ask("designer", TINY)
    jobs = Jobs(district, redis)
    submitted = jobs.long_running(run_whatif, run_id, job_id=f"whatif-{run_id}")
    assert submitted.job_id == f"whatif-{run_id}" and jobs.long_queue.count == 1
    assert jobs.queue.count == 0       # not on the verbs' queue, where it would hold up timer ticks and case starts
    assert district.whatif_runs.get(run_id)["status"] == "queued"          # nothing ran in the caller
    try:
        jobs.work(burst=True)                                                   # the verbs' worker leaves it
        assert district.whatif_runs.get(run_id)["status"] == "queued"
        jobs.work(burst=True, long=True)
    finally:
        use_engine(None)
    run = district.whatif_runs.get(run_id)
    assert run["status"] == "done", run["error"]
    assert run["progress"]["done"] == run["progress"]["total"] == 2
    assert run["result"]["setups"] == ["A", "B"] and "grid_patrol" in run["result"]["teams"]
    assert run["started_at"] <= run["finished_at"]


def test_the_background_thread_runs_a_job_with_the_callers_engine_and_its_own_clock(engine, manual_clock):
    virtual = datetime(2030, 6, 1, tzinfo=timezone.utc)
    inside, release, seen = threading.Event(), threading.Event(), {}

    def job(name: str) -> None:
        with clock.in_this_thread(clock.ManualClock(virtual)):
            seen.update(name=name, thread=threading.current_thread().name, engine=current_engine(),
                        now=clock.now())
            inside.set()
            release.wait(60)

    submitted = Jobs(engine).long_running(job, "tiny", job_id="t-1")
    assert not submitted.done and submitted.job_id == "t-1"
    assert inside.wait(60)
    try:
        assert seen == {"name": "tiny", "thread": "jingzhi-background", "engine": engine, "now": virtual}
        assert clock.now() == manual_clock.now() != virtual      # the caller's clock did not move
    finally:
        release.set()
