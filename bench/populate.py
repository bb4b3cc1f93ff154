"""Filling the database with many stored instances fast: a few real ones, then server-side copies of their rows.

Running 100,000 instances through the engine would take hours, and what the benchmark needs is only that
the tables and their indexes are as large as a district's database after a while. So a handful of seed instances are
walked to different points of the case for real, and ``INSERT ... SELECT`` copies their ``process_instance``,
``cases`` and ``human_task`` rows as often as needed, in the database, without a round trip per row. The copies are
valid rows (unique ids, task uuids and business keys) but share their seed's state; the engine never loads them.
"""
from __future__ import annotations

import logging

from sqlalchemy import BigInteger, Integer, String, cast, func, insert, literal, literal_column, select, text, true

from engine.models import Case, HumanTask, ProcessInstance

from .workload import REJECT_DATA, TASK_DATA, Jingzhi

log = logging.getLogger(__name__)

#: Seed instances: which tasks are completed before copying, and the seed's share of the copies. Most stored
#: cases of a district are closed; the rest wait at the various stages.
SEEDS = [
    (TASK_DATA, 5),         # closed
    ([REJECT_DATA], 1),     # not registered
    ([], 1),                # waiting to be registered
    (TASK_DATA[:1], 1),     # waiting for dispatch
    (TASK_DATA[:2], 1),     # on site
    (TASK_DATA[:4], 1),     # waiting for verification
]


def populate(jingzhi: Jingzhi, total: int) -> int:
    """Make the database hold ``total`` instances (seeds included); returns how many rows were copied."""
    seeds = [jingzhi.walk(steps) for steps, _ in SEEDS]
    store = jingzhi.engine.store
    with store.transaction() as session:
        stored = session.scalar(select(func.count()).select_from(ProcessInstance))
        next_id = session.scalar(select(func.max(ProcessInstance.id))) + 1
        missing = max(total - stored, 0)
        for seed, share in zip(seeds, _shares(missing, [weight for _, weight in SEEDS])):
            copy_instance(session, seed, next_id, share)
            next_id += share
    if not store.is_sqlite:
        _after_bulk_load_postgres(store.engine)
    return missing


def _shares(total: int, weights: list[int]) -> list[int]:
    shares = [total * weight // sum(weights) for weight in weights]
    shares[0] += total - sum(shares)
    return shares


def copy_instance(session, seed_id: int, first_id: int, copies: int) -> None:
    """Copy one instance's rows ``copies`` times, as instances ``first_id`` onwards."""
    if copies <= 0:
        return
    numbers = _numbers(copies)
    new_id = literal(first_id - 1, Integer) + numbers.c.i
    key = literal("BULK-") + cast(new_id, String)
    _copy(session, ProcessInstance.__table__, "id", seed_id, numbers, id=new_id, business_key=key)
    _copy(session, Case.__table__, "instance_id", seed_id, numbers, instance_id=new_id, business_key=key)
    # A uuid stays a uuid: the seed task's first 24 characters, then the new instance id as 12 decimal digits.
    padded = func.substr(cast(literal(10 ** 12, BigInteger) + new_id, String), 2, 12, type_=String)
    _copy(session, HumanTask.__table__, "instance_id", seed_id, numbers, instance_id=new_id,
          task_uuid=func.substr(HumanTask.__table__.c.task_uuid, 1, 24, type_=String) + padded)


def _numbers(count: int):
    """1..count as a recursive CTE: portable between PostgreSQL and SQLite (no generate_series there)."""
    numbers = select(literal_column("1").label("i")).cte("numbers", recursive=True)
    return numbers.union_all(select(numbers.c.i + 1).where(numbers.c.i < count))


def _copy(session, table, seed_column: str, seed_id: int, numbers, **overrides) -> None:
    """INSERT INTO table SELECT its seed rows, once per number, with ``overrides`` for the columns that differ."""
    names = [c.name for c in table.columns if c.name != "id" or "id" in overrides]
    columns = [overrides.get(name, table.c[name]) for name in names]
    query = select(*columns).select_from(table.join(numbers, true())).where(table.c[seed_column] == seed_id)
    session.execute(insert(table).from_select(names, query))


def _after_bulk_load_postgres(sql_engine) -> None:
    """What a live database would have by now: the id sequence past the copies, statistics, a vacuum."""
    with sql_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT setval(pg_get_serial_sequence('process_instance', 'id'), "
                                "(SELECT max(id) FROM process_instance))"))
        for table in ("process_instance", "cases", "human_task"):
            connection.execute(text(f"VACUUM ANALYZE {table}"))
