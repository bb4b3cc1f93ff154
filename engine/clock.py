"""The engine's notion of now, shared with SpiffWorkflow's timers so tests can move time without sleeping.

SpiffWorkflow's timer events call ``datetime.now(timezone.utc)`` from their own module. That module's ``datetime`` is
replaced once, at import, by a subclass whose ``now`` asks the current clock; with the default system clock nothing
changes. A clock is process-wide by nature: the engine, its timers and its audit stamps must agree on it. The one
exception is a thread that runs a world of its own (a what-if simulation in the web process's background thread,
:func:`in_this_thread`): its virtual clock must not move the time of the requests served beside it.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

#: The district's own time zone (Shanghai, UTC+8, no daylight saving): days, shifts and dates people type are
#: counted in it; everything stored is UTC.
DISTRICT_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that stands still until told to move (tests, simulations, benchmarks)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


_current: SystemClock | ManualClock = SystemClock()
_here = threading.local()


def now() -> datetime:
    """Current UTC time of the engine's clock (timezone-aware): this thread's own, else the process's."""
    return (getattr(_here, "clock", None) or _current).now()


@contextmanager
def in_this_thread(clock):
    """Make ``clock`` the clock of this thread only while the block runs (engine stamps and SpiffWorkflow timers
    of the work done in this thread); other threads keep the process's clock."""
    previous = getattr(_here, "clock", None)
    _here.clock = clock
    try:
        yield clock
    finally:
        _here.clock = previous


def use(clock) -> None:
    """Make ``clock`` the process's clock (engine stamps and SpiffWorkflow timers alike)."""
    global _current
    _current = clock


def system() -> None:
    use(SystemClock())


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        moment = now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime
