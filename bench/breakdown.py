"""Where an operation's time goes: exclusive time per category, measured by wrapping the seams it passes through.

Wrappers are installed only for the breakdown pass, never while the throughput is timed. Nested categories count
exclusively (a projection run inside ``run_engine`` is projection time, not SpiffWorkflow time), and what no seam
covers is reported as the remainder by the caller.
"""
from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from time import perf_counter

from sqlalchemy import event

from engine import api, runtime

RUN = "SpiffWorkflow run (scripts, gateways)"
LOAD = "state deserialize"
DUMP = "state serialize"
PROJECT = "projection (inbox, case, due times)"
SQL = "SQL statements"
TRANSACTION = "commit / rollback / pool ping"


class Breakdown:
    def __init__(self):
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()        # seconds per kind of SQL statement
        self.statement_calls: Counter[str] = Counter()
        self._open: list[list[float]] = []               # [start, time in nested categories] per open category
        self._patches: list[tuple[object, str, object, bool]] = []

    def begin(self) -> None:
        self._open.append([perf_counter(), 0.0])

    def end(self, category: str) -> float:
        """Close the innermost open measurement as ``category``; returns its whole (inclusive) time."""
        start, nested = self._open.pop()
        elapsed = perf_counter() - start
        self.seconds[category] += elapsed - nested
        self.calls[category] += 1
        if self._open:
            self._open[-1][1] += elapsed
        return elapsed

    def timed(self, category: str, function):
        def wrapper(*args, **kwargs):
            self.begin()
            try:
                return function(*args, **kwargs)
            finally:
                self.end(category)
        return wrapper

    def patch(self, owner, name: str, category: str) -> None:
        original = getattr(owner, name)
        self._patches.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, self.timed(category, original))

    def restore(self) -> None:
        while self._patches:
            owner, name, original, own_attribute = self._patches.pop()
            if own_attribute:
                setattr(owner, name, original)
            else:  # a method of the class: drop the instance's shadowing wrapper
                delattr(owner, name)


@contextmanager
def spiff_seams(breakdown: Breakdown, serializer):
    """Time SpiffWorkflow runs (both systems call ``run_engine``) and the baseline's serializer."""
    breakdown.patch(runtime, "run_engine", RUN)
    breakdown.patch(api, "run_engine", RUN)
    if serializer is not None:
        breakdown.patch(serializer, "deserialize_json", LOAD)
        breakdown.patch(serializer, "serialize_json", DUMP)
    try:
        yield breakdown
    finally:
        breakdown.restore()


@contextmanager
def jingzhi_seams(breakdown: Breakdown, sql_engine):
    """Time the engine's state (de)serialization, projection, SQL statements and transaction ends."""
    for name, category in (("load_state", LOAD), ("dump_state", DUMP), ("project", PROJECT)):
        breakdown.patch(runtime, name, category)
    dialect = sql_engine.dialect
    for name in ("do_commit", "do_rollback", "do_ping"):
        breakdown.patch(dialect, name, TRANSACTION)

    def before(*_):
        breakdown.begin()

    def after(_connection, _cursor, statement, *_):
        label = statement_label(statement)
        breakdown.statements[label] += breakdown.end(SQL)
        breakdown.statement_calls[label] += 1

    event.listen(sql_engine, "before_cursor_execute", before)
    event.listen(sql_engine, "after_cursor_execute", after)
    try:
        with spiff_seams(breakdown, None):
            yield breakdown
    finally:
        event.remove(sql_engine, "before_cursor_execute", before)
        event.remove(sql_engine, "after_cursor_execute", after)
        breakdown.restore()


def statement_label(sql: str) -> str:
    """A statement's shape without parameters, column lists or table prefixes, to group identical statements."""
    sql = " ".join(sql.split())
    sql = re.sub(r"%\(\w+\)s(::[\w ]+?(?=[ ,)]|$))?|\?", "?", sql)
    sql = re.sub(r"^SELECT (.+?) FROM", _select_list, sql)
    sql = re.sub(r"^INSERT INTO (\w+) .*", r"INSERT INTO \1", sql)
    sql = re.sub(r" SET (.+?) WHERE", lambda m: " SET " + ", ".join(
        part.split("=")[0] for part in m.group(1).split(", ")) + " WHERE", sql)
    sql = re.sub(r"(\w+)\.(\w+)", r"\2", sql)
    return re.sub(r" (LIMIT|ORDER BY) .*", "", sql)


def _select_list(match) -> str:
    columns = match.group(1).split(", ")
    return f"SELECT {columns[0] if len(columns) == 1 else f'{len(columns)} columns'} FROM"
