"""Throughput of Jingzhi against plain SpiffWorkflow, and whether it holds as the database fills up.

Run ``python -m bench.engine`` (``--quick`` for a smoke run). Three operations, each in operations per second:
start to the first user task, complete one user task, and a whole six-task lifecycle with a load and a save around
every step. Plain SpiffWorkflow (spec embedded, the library's JSON in memory) is the baseline; Jingzhi runs through
its verbs on PostgreSQL. Both are measured on an empty database, then with 1,000 and with 100,000 instances stored
(each size in a fresh database, filled by bulk copy), with "where the time goes" for the largest size.
Two more lifecycle figures put Jingzhi's in context: with the hot cache off (every step loads the state and reads the
inbox, subscription and case rows back, as a step on an instance another worker saved last does), and the floor: a
raw psycopg loop doing the same writes per step with no engine work (bench/floor.py; PostgreSQL only).
The last line, ``lifecycle_ratio=``, is Jingzhi's lifecycles per second over the baseline's at the largest size.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from time import perf_counter

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from engine.runtime import HotInstances
from engine.store import Store

from .floor import Floor
from .breakdown import DUMP, LOAD, PROJECT, RUN, SQL, TRANSACTION, Breakdown, jingzhi_seams, spiff_seams
from .populate import populate
from .workload import DIAGRAM, TASK_DATA, Jingzhi, PlainSpiff

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jingzhi_bench"
#: The database the admin connection uses to drop and create the benchmark's own.
ADMIN_DATABASE = "test"
STATEMENTS_SHOWN = 16
LABELS = {"start": "start to first task", "complete": "complete one task", "lifecycle": "6-task lifecycle"}
#: Lifecycle figures beside Jingzhi's, each against the plain lifecycle.
CONTEXT = {"cold": "  hot cache off", "floor": "  floor: raw psycopg"}


@dataclass(frozen=True)
class Plan:
    """How much to run. Rounds give a median and a spread; warm-up fills caches (parsed spec, compiled scripts)."""

    sizes: tuple[int, ...]          # instances stored before each repeat; 0 is an empty database
    warmup: int                     # start and complete-one-task
    rounds: int
    per_round: int
    lifecycle_warmup: int
    lifecycle_rounds: int
    lifecycle_per_round: int
    breakdown_lifecycles: int       # instrumented lifecycles for "where the time goes"

    def describe(self) -> str:
        return (f"start and complete: {self.rounds} rounds of {self.per_round} after {self.warmup} warm-up; "
                f"lifecycle: {self.lifecycle_rounds} rounds of {self.lifecycle_per_round} after "
                f"{self.lifecycle_warmup} warm-up; figures are the median round")


FULL = Plan((0, 1_000, 100_000), 20, 9, 120, 5, 9, 30, 40)
QUICK = Plan((0, 1_000, 5_000), 5, 3, 20, 2, 3, 4, 5)


@dataclass
class Rate:
    per_second: float               # median over rounds
    spread: float                   # half the range of the rounds, relative to the median
    outputs: list = field(default_factory=list, repr=False)   # what every call returned, warm-up included


def measure(operation, warmup: int, rounds: int, per_round: int) -> Rate:
    outputs = [operation() for _ in range(warmup)]
    rates = []
    for _ in range(rounds):
        start = perf_counter()
        outputs.extend(operation() for _ in range(per_round))
        rates.append(per_round / (perf_counter() - start))
    median = statistics.median(rates)
    return Rate(median, (max(rates) - min(rates)) / 2 / median, outputs)


def bench_plain(plain: PlainSpiff, plan: Plan) -> dict[str, Rate]:
    started = plain.start()
    return {
        "start": measure(plain.start, plan.warmup, plan.rounds, plan.per_round),
        "complete": measure(lambda: plain.complete(started, TASK_DATA[0]), plan.warmup, plan.rounds, plan.per_round),
        "lifecycle": measure(plain.lifecycle, plan.lifecycle_warmup, plan.lifecycle_rounds, plan.lifecycle_per_round),
    }


def bench_jingzhi(jingzhi: Jingzhi, plan: Plan) -> dict[str, Rate]:
    start = measure(jingzhi.start, plan.warmup, plan.rounds, plan.per_round)
    # The instances the start figure created wait at their first task: completing it is the second figure.
    tasks = iter([jingzhi.ready_task(instance_id) for instance_id in start.outputs])
    complete = measure(lambda: jingzhi.complete(next(tasks), TASK_DATA[0]), plan.warmup, plan.rounds, plan.per_round)
    lifecycle = measure(jingzhi.lifecycle, plan.lifecycle_warmup, plan.lifecycle_rounds, plan.lifecycle_per_round)
    return {"start": start, "complete": complete, "lifecycle": lifecycle}


def bench_context(jingzhi: Jingzhi, url: str, plan: Plan) -> dict[str, Rate]:
    """The lifecycle with the hot cache off, and the floor's (on PostgreSQL)."""
    runtime = jingzhi.engine.runtime
    hot, runtime.hot = runtime.hot, HotInstances(0)
    try:
        cold = measure(jingzhi.lifecycle, plan.lifecycle_warmup, plan.lifecycle_rounds, plan.lifecycle_per_round)
    finally:
        runtime.hot = hot
    rates = {"cold": cold}
    if not url.startswith("sqlite"):
        instance_id = jingzhi.lifecycle()
        floor = Floor(url, jingzhi.definition_id(), jingzhi.state_size(instance_id), *jingzhi.rows_written(instance_id))
        try:
            rates["floor"] = measure(floor.lifecycle, plan.lifecycle_warmup, plan.lifecycle_rounds,
                                     plan.lifecycle_per_round)
        finally:
            floor.close()
    return rates


@dataclass
class Profile:
    """Per lifecycle: milliseconds and calls by category, and (calls, milliseconds) by kind of SQL statement."""

    ms: dict[str, float]
    calls: dict[str, float]
    statements: dict[str, tuple[float, float]]


def profile(lifecycle, lifecycles: int, seams) -> Profile:
    """Run instrumented lifecycles; what no seam covers becomes "other"."""
    with seams as breakdown:
        start = perf_counter()
        for _ in range(lifecycles):
            lifecycle()
        total = perf_counter() - start
    ms = {category: seconds * 1000 / lifecycles for category, seconds in breakdown.seconds.items()}
    ms["other"] = total * 1000 / lifecycles - sum(ms.values())
    ms["total"] = total * 1000 / lifecycles
    statements = {label: (breakdown.statement_calls[label] / lifecycles, seconds * 1000 / lifecycles)
                  for label, seconds in breakdown.statements.items()}
    return Profile(ms, {category: n / lifecycles for category, n in breakdown.calls.items()}, statements)


@dataclass
class Level:
    size: int
    stored_before: int
    stored_after: int
    fill_seconds: float
    plain: dict[str, Rate]
    jingzhi: dict[str, Rate]
    profiles: dict[str, Profile] = field(default_factory=dict)
    context: dict[str, Rate] = field(default_factory=dict)


def run_level(url: str, admin_url: str, size: int, plan: Plan, plain: PlainSpiff, with_profile: bool) -> Level:
    """Both systems' figures with ``size`` instances stored in a fresh database."""
    fresh_database(url, admin_url)
    jingzhi = Jingzhi(url)
    try:
        start = perf_counter()
        if size:
            populate(jingzhi, size)
        fill_seconds = perf_counter() - start
        settle(jingzhi.engine.store)
        stored_before = jingzhi.stored()
        level = Level(size, stored_before, 0, fill_seconds, bench_plain(plain, plan), bench_jingzhi(jingzhi, plan))
        level.stored_after = jingzhi.stored()
        level.context = bench_context(jingzhi, url, plan)
        if with_profile:
            level.profiles = {
                "plain": profile(plain.lifecycle, plan.breakdown_lifecycles,
                                 spiff_seams(Breakdown(), plain.serializer)),
                "jingzhi": profile(jingzhi.lifecycle, plan.breakdown_lifecycles,
                                   jingzhi_seams(Breakdown(), jingzhi.engine.store.engine)),
            }
        return level
    finally:
        jingzhi.close()


def settle(store: Store) -> None:
    """Write out what creating and filling the database left in memory, so the timed runs don't share the disk
    with a checkpoint. Needs superuser or pg_checkpoint; without it the figures are only noisier."""
    if store.is_sqlite:
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        try:
            connection.execute(text("CHECKPOINT"))
        except DBAPIError as err:
            print(f"no checkpoint before timing: {err.orig}", file=sys.stderr)


def fresh_database(url: str, admin_url: str) -> None:
    """Drop and create the benchmark's database and migrate it. Refuses any database not named for benchmarks."""
    target = make_url(url)
    name = target.database or ""
    if "bench" not in Path(name).name:
        raise SystemExit(f"refusing to wipe database {name!r}: the benchmark's database name must contain 'bench'")
    if target.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
    else:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    store = Store(url)
    store.upgrade()
    store.dispose()


# -- the report -------------------------------------------------------------------------------------------------------
def _rate(rate: Rate) -> str:
    return f"{rate.per_second:9,.1f}/s ±{rate.spread:4.0%}"


def server_name(jingzhi: Jingzhi) -> str:
    dialect = jingzhi.engine.store.engine.dialect
    return f"{dialect.name} " + ".".join(str(part) for part in dialect.server_version_info or ())


def print_header(url: str, plan: Plan, plain: PlainSpiff, jingzhi_state: int, server: str) -> None:
    print(f"Jingzhi engine benchmark: plain SpiffWorkflow (spec embedded, JSON in memory) vs Jingzhi on {server}")
    print(f"SpiffWorkflow {version('SpiffWorkflow')}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"database {make_url(url).render_as_string(hide_password=True)}")
    print(f"diagram {DIAGRAM.name}: 6 user tasks in 3 lanes, 2 script tasks, 1 exclusive gateway, dueIn on tasks")
    print("plain: the library's serializer, JSON string between steps; Jingzhi: its verbs, each next task found "
          "with ready_tasks(instance_id) as a client must")
    print(f"stored state of a closed case: {len(plain.lifecycle()):,} B plain (spec embedded), "
          f"{jingzhi_state:,} B Jingzhi (spec by reference)")
    print(plan.describe())


def print_levels(levels: list[Level]) -> None:
    print()
    print(f"{'stored instances':<22} {'operation':<20} {'plain SpiffWorkflow':>19} {'Jingzhi':>19} {'Jingzhi/plain':>14}")
    for level in levels:
        stored = f"{level.stored_before:,} -> {level.stored_after:,}"
        for operation, label in LABELS.items():
            plain, jingzhi = level.plain[operation], level.jingzhi[operation]
            print(f"{stored:<22} {label:<20} {_rate(plain):>19} {_rate(jingzhi):>19} "
                  f"{jingzhi.per_second / plain.per_second:>14.2f}")
            stored = ""
        for key, label in CONTEXT.items():
            if key in level.context:
                rate, plain = level.context[key], level.plain["lifecycle"]
                print(f"{'':<22} {label:<20} {'':>19} {_rate(rate):>19} {rate.per_second / plain.per_second:>14.2f}")
        if level.size:
            print(f"{'':<22} (filled in {level.fill_seconds:.1f} s by bulk copy)")
    small, large = levels[-2], levels[-1]
    changes = ", ".join(f"{LABELS[op]} {large.jingzhi[op].per_second / small.jingzhi[op].per_second - 1:+.1%}"
                        for op in LABELS)
    print(f"Jingzhi from {small.size:,} to {large.size:,} stored: {changes}")
    if "floor" in large.context:
        floor, lifecycle = large.context["floor"].per_second, large.jingzhi["lifecycle"].per_second
        print(f"Jingzhi's lifecycle at {large.size:,} stored: {1000 / lifecycle:.1f} ms, the floor's "
              f"{1000 / floor:.1f} ms (Jingzhi/floor {lifecycle / floor:.2f})")


def print_profile(level: Level, lifecycles: int) -> None:
    plain, jingzhi = level.profiles["plain"], level.profiles["jingzhi"]
    print()
    print(f"where a 6-task lifecycle's time goes ({level.size:,} stored, {lifecycles} instrumented lifecycles, "
          f"ms per lifecycle)")
    rows = [(RUN, RUN), (LOAD, LOAD), (DUMP, DUMP), (PROJECT, PROJECT),
            (f"{SQL} ({jingzhi.calls.get(SQL, 0):.0f} per lifecycle)", SQL),
            (f"{TRANSACTION} ({jingzhi.calls.get(TRANSACTION, 0):.0f})", TRANSACTION),
            ("other: BpmnWorkflow setup, ORM, sessions, glue", "other"), ("total", "total")]
    print(f"{'':<48} {'plain':>8} {'Jingzhi':>8}")
    for label, key in rows:
        print(f"{label:<48} {_ms(plain.ms, key):>8} {_ms(jingzhi.ms, key):>8}")
    print()
    print("Jingzhi's SQL per lifecycle, costliest first (calls, ms; the bench finds each task with ready_tasks)")
    for label, (calls, ms) in sorted(jingzhi.statements.items(), key=lambda item: -item[1][1])[:STATEMENTS_SHOWN]:
        print(f"{calls:5.0f} x {ms:6.2f}  {label[:100]}")


def _ms(ms: dict[str, float], key: str) -> str:
    return f"{ms[key]:.2f}" if key in ms else "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("JINGZHI_BENCH_PG_URL", DEFAULT_URL),
                        help="database to (re)create and run on; its name must contain 'bench'")
    parser.add_argument("--admin-url", help="connection used to drop and create it (default: database "
                                            f"'{ADMIN_DATABASE}' on the same server)")
    parser.add_argument("--quick", action="store_true", help="few iterations, 1,000 and 5,000 stored")
    args = parser.parse_args(argv)
    url = args.database_url
    admin_url = args.admin_url or make_url(url).set(database=ADMIN_DATABASE).render_as_string(hide_password=False)
    plan = QUICK if args.quick else FULL

    plain = PlainSpiff()
    levels = []
    for size in plan.sizes:
        print(f"... {size:,} stored instances", file=sys.stderr, flush=True)
        levels.append(run_level(url, admin_url, size, plan, plain, with_profile=size == plan.sizes[-1]))
    jingzhi = Jingzhi(url)
    try:
        print_header(url, plan, plain, jingzhi.state_size(jingzhi.lifecycle()), server_name(jingzhi))
    finally:
        jingzhi.close()
    print_levels(levels)
    print_profile(levels[-1], plan.breakdown_lifecycles)
    lifecycles = levels[-1].jingzhi["lifecycle"].per_second / levels[-1].plain["lifecycle"].per_second
    print(f"lifecycle_ratio={lifecycles:.2f}")


if __name__ == "__main__":
    main()
