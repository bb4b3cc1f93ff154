"""The engine's notion of now, shared with SpiffWorkflow's timers so tests can move time without sleeping.

SpiffWorkflow's timer events call ``datetime.now(timezone.utc)`` from their own module. That module's ``datetime`` is
replaced once, at import, by a subclass whose ``now`` asks the current clock; with the default system clock nothing
changes. A clock is process-wide by nature: the engine, its timers and its audit stamps must agree on it.
"""
from __future__ import annotations

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


def now() -> datetime:
    """Current UTC time of the engine's clock (timezone-aware)."""
    return _current.now()


def use(clock) -> None:
    """Make ``clock`` the process's clock (engine stamps and SpiffWorkflow timers alike)."""
    global _current
    _current = clock


def system() -> None:
    use(SystemClock())


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        moment = _current.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime
