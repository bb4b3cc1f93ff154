"""Intake of sensor messages, the one path shared by MQTT and HTTP.

``accept_alert(engine, raw, source)`` is what ``POST /api/v1/alerts`` calls; the MQTT ingester hands its batches to
:func:`accept_batch`, which is the same code for many messages at once (one transaction per batch is how an
ingester reaches thousands of messages a second). Both validate with :mod:`sensors.payload`, hand the valid
messages and the dead letters to :func:`engine.alerts.record`, and only then report back - so when a caller
acknowledges (MQTT PUBACK, HTTP 2xx) the message is stored.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from engine import alarms, alerts, clock
from engine.alerts import DeadLetterIn, SensorEvent

from . import payload

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, DEAD_LETTER = "accepted", "duplicate", "dead_letter"


@dataclass(frozen=True)
class AcceptResult:
    status: str               # accepted | duplicate | dead_letter
    alert_id: int | None
    instance_id: int | None
    reason: str | None


@dataclass(frozen=True)
class Incoming:
    raw: bytes | str | dict
    source: str
    topic: str | None = None


@dataclass
class Batch:
    """What :func:`accept_batch` did: a result per message, in order, and the follow-up work after the commit."""

    results: list[AcceptResult]
    new_alarms: list[int]
    pending_clears: list[int]


def accept_alert(engine, raw: bytes | str | dict, source: str) -> AcceptResult:
    """Validate and store one message; a first alarm starts its case before this returns (HTTP wants the id)."""
    batch = accept_batch(engine, [Incoming(raw, source)])
    result = batch.results[0]
    instance_id = result.instance_id
    for alarm_id in batch.new_alarms:
        instance_id = alarms.open_case(engine, alarm_id) or instance_id
    if batch.pending_clears:
        alarms.deliver_clears(engine, batch.pending_clears)
    return AcceptResult(result.status, result.alert_id, instance_id, result.reason)


def accept_batch(engine, items: list[Incoming]) -> Batch:
    """Validate every item and store the batch in one transaction. Cases of new alarms are left to the caller."""
    now = clock.now()
    registry = alerts.registry(engine)
    verdicts: list[tuple[str, object]] = []
    events, dead = [], []
    for item in items:
        parsed = payload.parse(item.raw, now, item.topic)
        if isinstance(parsed, payload.Message):
            raw_text = None
            rejection = payload.check_device(parsed, registry.get(parsed.device_id), "")
            if rejection is not None:
                raw_text = payload.printable(item.raw)
                parsed = payload.Rejection(rejection.reason, rejection.detail, raw_text, parsed.msg_id,
                                           parsed.device_id)
        if isinstance(parsed, payload.Rejection):
            dead.append(DeadLetterIn(now, item.source, parsed.reason, parsed.detail, parsed.raw, item.topic,
                                     parsed.msg_id, parsed.device_id))
            verdicts.append(("dead", parsed.reason))
            continue
        events.append(SensorEvent(parsed.msg_id, parsed.device_id, parsed.scenario, parsed.event, parsed.ts, now,
                                  item.source, parsed.extra(), parsed.severity))
        verdicts.append(("event", parsed.msg_id))
    recorded = alerts.record(engine, events, dead)
    by_msg = iter(recorded.recorded)
    results = []
    for kind, value in verdicts:
        if kind == "dead":
            results.append(AcceptResult(DEAD_LETTER, None, None, value))
            continue
        done = next(by_msg)
        if done.duplicate:
            results.append(AcceptResult(DUPLICATE, None, None, "msg_id already accepted"))
        else:
            results.append(AcceptResult(ACCEPTED, done.alert_id, done.instance_id, None))
    return Batch(results, recorded.new_alarms, recorded.pending_clears)
