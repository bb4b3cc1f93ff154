"""Moving running instances to a new version: Jingzhi's ``migrate_version`` against SpiffWorkflow doing the same
steps in memory.

Run ``python -m bench.migration`` (``--quick`` for a smoke run, ``--url`` for another database). Instances of the
benchmark's six-task diagram wait at its third task ("handle") when a new version changes the deadline of a later
one ("verify"): a move every instance may make. The baseline takes each instance's library JSON (spec embedded),
loads it, compares it with the new version and migrates it (``engine.migration.assess`` and ``apply``, SpiffWorkflow's
``diff_workflow`` and ``migrate_workflow`` with what Jingzhi puts back) and dumps it again. Jingzhi does that through
``Engine.migrate_version`` on PostgreSQL: per instance one transaction with the row lock, the state by reference,
the inbox rows, subscriptions, timer and audit. Prints instances moved per second for both; the last line is
``migration_ratio=`` (Jingzhi over the baseline).
"""
from __future__ import annotations

import argparse
import statistics
from time import perf_counter

from engine import migration
from engine.deploy.validation import validate_files

from .engine import ADMIN_DATABASE, DEFAULT_URL, fresh_database
from .workload import PROCESS_ID, TASK_DATA, Jingzhi, PlainSpiff, diagram_files

#: The change of the new version: "verify" gets two hours instead of one (a task no waiting instance has reached).
OLD, NEW = b'value="&quot;PT1H&quot;"', b'value="&quot;PT2H&quot;"'
WAIT_AFTER = 2          # tasks completed before the move: the instances wait at "handle"


def new_version() -> dict[str, bytes]:
    files = diagram_files()
    [name] = files
    assert files[name].count(OLD) == 1, "the benchmark diagram changed: pick another deadline to change"
    return {name: files[name].replace(OLD, NEW)}


def plain_moves(count: int) -> float:
    """Instances moved per second by SpiffWorkflow alone, JSON in and out."""
    plain = PlainSpiff()
    states = []
    for _ in range(count):
        state = plain.start()
        for data in TASK_DATA[:WAIT_AFTER]:
            state = plain.complete(state, data)
        states.append(state)
    parsed = validate_files(new_version())
    spec, subprocess_specs = parsed.specs[PROCESS_ID], parsed.subprocess_specs[PROCESS_ID]
    began = perf_counter()
    for state in states:
        workflow = plain.load(state)
        assessment = migration.assess(workflow, spec, subprocess_specs)
        assert assessment.safe, assessment.reason
        migration.apply(assessment, workflow, spec, subprocess_specs)
        plain.serializer.serialize_json(workflow)
    return count / (perf_counter() - began)


def jingzhi_moves(url: str, count: int) -> tuple[float, int]:
    """Instances moved per second by ``Engine.migrate_version`` on ``url``, and how many were refused."""
    jingzhi = Jingzhi(url)
    try:
        for _ in range(count):
            jingzhi.walk(TASK_DATA[:WAIT_AFTER])
        jingzhi.engine.deploy(new_version(), deployed_by="bench")
        began = perf_counter()
        outcomes = jingzhi.engine.migrate_version(PROCESS_ID, 1, 2, actor="bench")
        elapsed = perf_counter() - began
        assert len(outcomes) == count
        return count / elapsed, sum(not o.migrated for o in outcomes)
    finally:
        jingzhi.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count, rounds = (50, 1) if args.quick else (500, 3)
    admin = "" if args.url.startswith("sqlite") else args.url.rsplit("/", 1)[0] + "/" + ADMIN_DATABASE

    plain, ours, refused = [], [], 0
    for _ in range(rounds):
        plain.append(plain_moves(count))
        fresh_database(args.url, admin)
        rate, not_moved = jingzhi_moves(args.url, count)
        ours.append(rate)
        refused += not_moved
    plain_rate, our_rate = statistics.median(plain), statistics.median(ours)
    print(f"# moving {count} instances waiting at 'handle' to a version with a later deadline changed; "
          f"median of {rounds} round(s); database: {server_name_of(args.url)}")
    print(f"plain SpiffWorkflow (JSON in memory): {plain_rate:8.1f} instances/s")
    print(f"Jingzhi migrate_version:              {our_rate:8.1f} instances/s  (refused: {refused})")
    print(f"migration_ratio={our_rate / plain_rate:.2f}")


def server_name_of(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


if __name__ == "__main__":
    main()
