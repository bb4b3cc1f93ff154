"""A stream exported from a real database: what a period brought in, as the engine recorded it
(:meth:`engine.Engine.recorded_arrivals`), in the :class:`simulation.stream.Stream` the simulator replays.

Every sensor message is replayed at the moment it was received, its payload as it was sent (heartbeats and clears
too, unless left out); every report at the moment its case was opened, with the facts it was opened with. What the
officers will find is what the recorded case came to: a case registration closed as a false alarm or a duplicate
makes its report or first alarm ``false``, later alarms of the same alarm are ``repeat``. The stream names the
devices its messages come from, so the replay registers those devices rather than the generated district's.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from engine import Engine

from .stream import Event, Stream

#: Outcomes of a recorded case that mean there was nothing to handle.
NOT_A_CASE = ("false_alarm", "duplicate", "out_of_scope")
#: Order of kinds arriving at the same moment: reports first, as the generated streams have no rule either.
_KIND_ORDER = {"report": 0, "sensor": 1}


def _truth(outcome: str | None) -> str:
    return "false" if outcome in NOT_A_CASE else "real"


def from_database(engine: Engine, since: datetime, until: datetime, heartbeats: bool = True) -> Stream:
    """The recorded arrivals of [since, until) as a stream starting at ``since`` (seed 0: nothing was drawn)."""
    found = engine.recorded_arrivals(since, until, heartbeats)
    raw: list[tuple[float, int, int, str, dict, str]] = []
    first_of_alarm: set[int] = set()
    for message in found["sensor"]:
        body, event = message["message"], message["message"]["event"]
        if event == "alarm":
            alarm = message["alarm_id"]
            truth = "repeat" if alarm is not None and alarm in first_of_alarm else _truth(message["outcome"])
            if alarm is not None:
                first_of_alarm.add(alarm)
        else:
            truth = event          # clear | heartbeat: nothing for an officer to find
        at = (message["received_at"] - since).total_seconds()
        raw.append((at, _KIND_ORDER["sensor"], message["id"], "sensor", body, truth))
    for report in found["reports"]:
        at = (report["opened_at"] - since).total_seconds()
        raw.append((at, _KIND_ORDER["report"], report["instance_id"], "report", report["data"],
                    _truth(report["outcome"])))
    raw.sort(key=lambda item: item[:3])
    events = [Event(at, seq, kind, body, truth) for seq, (at, _, _, kind, body, truth) in enumerate(raw)]
    return Stream(since, (until - since) / timedelta(days=1), 0, events, found["devices"])


def last_days(engine: Engine, days: float, until: datetime, heartbeats: bool = True) -> Stream:
    """The ``days`` before ``until``."""
    return from_database(engine, until - timedelta(days=days), until, heartbeats)
