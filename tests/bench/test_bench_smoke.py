"""The benchmark's code still works: a handful of iterations on a temporary SQLite file, counts only.

Timings are never asserted here (they belong to ``python -m bench.engine`` on the real server); what is checked is
that every timed call really did its work, so a figure can never come from operations that silently failed.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bench import engine as bench
from bench.engine import Plan, bench_jingzhi, bench_plain, fresh_database, run_level
from bench.populate import SEEDS, populate
from bench.workload import Jingzhi, PlainSpiff
from engine.models import HumanTask, ProcessInstance

#: start/complete: 1 warm-up + 2 rounds of 2 = 5 calls; lifecycle: 1 + 2 rounds of 1 = 3 calls.
TINY = Plan(sizes=(0, 25), warmup=1, rounds=2, per_round=2, lifecycle_warmup=1, lifecycle_rounds=2,
            lifecycle_per_round=1, breakdown_lifecycles=1)
CALLS, LIFECYCLES = 5, 3


@pytest.fixture
def url(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'bench.db'}"
    fresh_database(database_url, admin_url="")
    return database_url


@pytest.fixture
def jingzhi(url):
    system = Jingzhi(url)
    yield system
    system.close()


def count(jingzhi: Jingzhi, query) -> int:
    with jingzhi.engine.store.session() as session:
        return session.scalar(query)


def by_status(jingzhi: Jingzhi, status: str) -> int:
    return count(jingzhi, select(func.count()).select_from(ProcessInstance).where(ProcessInstance.status == status))


def test_plain_lifecycles_end_completed():
    plain = PlainSpiff()
    rates = bench_plain(plain, TINY)
    assert len(rates["start"].outputs) == len(rates["complete"].outputs) == CALLS
    assert len(rates["lifecycle"].outputs) == LIFECYCLES
    assert all(plain.is_completed(state) for state in rates["lifecycle"].outputs)
    assert not any(plain.is_completed(state) for state in rates["complete"].outputs)


def test_jingzhi_figures_come_from_completed_work(jingzhi):
    rates = bench_jingzhi(jingzhi, TINY)
    assert all(rate.per_second > 0 for rate in rates.values())
    assert by_status(jingzhi, "completed") == LIFECYCLES
    assert by_status(jingzhi, "running") == CALLS          # started, then their first task completed
    registered = select(func.count()).select_from(HumanTask).where(
        HumanTask.bpmn_id == "register", HumanTask.status == "completed", HumanTask.completed_by == "bench")
    assert count(jingzhi, registered) == CALLS + LIFECYCLES


def test_populate_reaches_the_size_and_leaves_the_engine_working(jingzhi):
    copied = populate(jingzhi, 60)
    assert copied == 60 - len(SEEDS)
    assert jingzhi.stored() == 60
    running = by_status(jingzhi, "running")
    ready = select(func.count()).select_from(HumanTask).where(HumanTask.status == "ready")
    assert count(jingzhi, ready) == running > 0               # every copied open case has its inbox row
    assert jingzhi.status(jingzhi.lifecycle()) == "completed"  # new ids do not collide with the copies


def test_the_whole_run_prints_the_ratio_last(url, monkeypatch, capsys):
    monkeypatch.setattr(bench, "QUICK", TINY)
    bench.main(["--quick", "--database-url", url])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"lifecycle_ratio=\d+\.\d\d", lines[-1])
    assert sum("6-task lifecycle" in line and "/s" in line for line in lines) == len(TINY.sizes)


def test_a_level_counts_what_it_stored(url):
    level = run_level(url, "", 25, TINY, PlainSpiff(), with_profile=True)
    assert level.stored_before == 25
    assert level.stored_after == 25 + CALLS + LIFECYCLES
    assert level.profiles["jingzhi"].calls["SQL statements"] > 0


def test_the_hot_cache_off_lifecycles_complete(jingzhi, url):
    rates = bench.bench_context(jingzhi, url, TINY)
    assert set(rates) == {"cold"}                              # the floor is PostgreSQL's
    assert len(rates["cold"].outputs) == LIFECYCLES
    assert all(jingzhi.status(instance_id) == "completed" for instance_id in rates["cold"].outputs)
    jingzhi.start()
    assert len(jingzhi.engine.runtime.hot) == 1                # the hot cache is back on afterwards


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_FLOOR = "postgresql+psycopg://postgres@127.0.0.1:5432/jingzhi_bench_floor_smoke"


def test_the_floor_writes_what_an_engine_lifecycle_writes():
    fresh_database(PG_FLOOR, PG_ADMIN)
    system = Jingzhi(PG_FLOOR)
    try:
        rates = bench.bench_context(system, PG_FLOOR, TINY)
        engine_instance = rates["cold"].outputs[0]
        floor_instance = rates["floor"].outputs[0]
        assert len(rates["floor"].outputs) == LIFECYCLES
        assert system.rows_written(floor_instance) == system.rows_written(engine_instance)
        tasks = select(func.count()).select_from(HumanTask).where(HumanTask.instance_id == floor_instance,
                                                                   HumanTask.status == "completed")
        assert count(system, tasks) == 6
    finally:
        system.close()
