"""Intake of sensor messages, the one path shared by MQTT and HTTP.

``accept_alert(engine, raw, source)`` is what ``POST /api/v1/alerts`` calls; the MQTT ingester hands its batches to
:func:`accept_batch`, which is the same code for many messages at once (one transaction per batch is how an
ingester reaches thousands of messages a second). Both validate with :mod:`sensors.payload`, hand the valid
messages and the dead letters to :func:`engine.alarms.alerts.record`, and only then report back - so when a caller
acknowledges (MQTT PUBACK, HTTP 2xx or the 422 of a dead letter) the message is stored.

No message can hold up the others: what the database would refuse is a dead letter before anything is written
(:func:`sensors.payload.unstorable`), and a batch the database refuses all the same is split until the refused
messages are alone (:func:`accept_batch`). Only a database that is away fails a batch, which is then retried whole.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from engine import DeadLetterIn, Jobs, SensorEvent, clock

from . import payload

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, DEAD_LETTER = "accepted", "duplicate", "dead_letter"


@dataclass(frozen=True)
class AcceptResult:
    status: str               # accepted | duplicate | dead_letter
    alert_id: int | None
    instance_id: int | None
    reason: str | None        # a dead letter's reason code (sensors.payload), or why it is a duplicate
    detail: str | None = None  # a dead letter's explanation


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


def accept_alert(engine, raw: bytes | str | dict, source: str, jobs: Jobs | None = None) -> AcceptResult:
    """Validate and store one message, then run its after-commit work as an ``alarms.after_commit`` job.

    In-process jobs (no ``REDIS_URL``, or no ``jobs``) run it before this returns, so a first alarm's answer names
    its case; on RQ it is queued for `jingzhi worker` and the answer's ``instance_id`` is None until a worker ran it.
    """
    batch = accept_batch(engine, [Incoming(raw, source)])
    result = batch.results[0]
    instance_id = result.instance_id
    if batch.new_alarms or batch.pending_clears:
        work = dict(new_alarms=batch.new_alarms, pending_clears=batch.pending_clears)
        done = (jobs or Jobs(engine)).submit("alarms.after_commit", **work)
        if done.done:
            instance_id = next(iter(done.result.started.values()), instance_id)
    return AcceptResult(result.status, result.alert_id, instance_id, result.reason, result.detail)


def accept_batch(engine, items: list[Incoming]) -> Batch:
    """Validate every item and store the batch; cases of new alarms are left to the caller.

    One transaction for the whole batch. Should the database still refuse it although every message passed the
    checks, the batch is split in halves until the messages it refuses are alone; each of those becomes a dead letter
    (``store_refused``) and everything else is stored: a batch never fails as a whole for its data. It raises only
    when the database itself is away (:func:`engine.alarms.alerts.unavailable`), and then nothing of it was acknowledged.
    """
    now = clock.now()
    registry = engine.alarms.registry()
    entries = [_Entry(item, *_verdict(engine, item, now, registry)) for item in items]
    batch = Batch([], [], [])
    _store(engine, entries, batch, now)
    batch.results = [entry.result for entry in entries]
    return batch


@dataclass
class _Entry:
    item: Incoming
    event: SensorEvent | None
    dead: DeadLetterIn | None
    result: AcceptResult | None = None


def _verdict(engine, item: Incoming, now, registry) -> tuple[SensorEvent | None, DeadLetterIn | None]:
    """The message as a sensor event to store, or the dead letter it becomes."""
    try:
        parsed = payload.parse(item.raw, now, item.topic)
    except Exception as err:  # a bug of the checks must not fail the batch: the message is kept, with the error
        log.exception("checking a %s message failed; it is dead-lettered", item.source)
        parsed = payload.Rejection(payload.CHECK_FAILED, _first_line(err), payload.printable(item.raw))
    if isinstance(parsed, payload.Message):
        try:
            device = registry.get(parsed.device_id)     # a query on a miss
        except Exception as err:
            if engine.alarms.unavailable(err):
                raise
            log.exception("looking up device %r failed; the message is dead-lettered", parsed.device_id)
            rejection = payload.Rejection(payload.CHECK_FAILED, _first_line(err), "")
        else:
            rejection = payload.check_device(parsed, device, "")
        if rejection is not None:
            parsed = payload.Rejection(rejection.reason, rejection.detail, payload.printable(item.raw),
                                       parsed.msg_id, parsed.device_id)
    if isinstance(parsed, payload.Rejection):
        return None, DeadLetterIn(now, item.source, parsed.reason, parsed.detail, parsed.raw, item.topic,
                                  parsed.msg_id, parsed.device_id)
    return SensorEvent(parsed.msg_id, parsed.device_id, parsed.scenario, parsed.event, parsed.ts, now, item.source,
                       parsed.extra(), parsed.severity), None


def _store(engine, entries: list[_Entry], batch: Batch, now) -> None:
    """Store ``entries`` in one transaction; if the database refuses them, each half on its own, down to one."""
    if not entries:
        return
    events = [entry.event for entry in entries if entry.event is not None]
    dead = [entry.dead for entry in entries if entry.dead is not None]
    try:
        recorded = engine.alarms.record(events, dead)
    except Exception as err:
        if engine.alarms.unavailable(err):
            raise
        if len(entries) > 1:
            log.info("the database refused a batch of %d messages (%s); splitting it to find which",
                     len(entries), _first_line(err))
            middle = len(entries) // 2
            _store(engine, entries[:middle], batch, now)
            _store(engine, entries[middle:], batch, now)
            return
        _refused(engine, entries[0], err, now)
        return
    by_msg = iter(recorded.recorded)
    for entry in entries:
        if entry.dead is not None:
            entry.result = AcceptResult(DEAD_LETTER, None, None, entry.dead.reason, entry.dead.detail)
            continue
        done = next(by_msg)
        if done.duplicate:
            entry.result = AcceptResult(DUPLICATE, None, None, "msg_id already accepted")
        else:
            entry.result = AcceptResult(ACCEPTED, done.alert_id, done.instance_id, None)
    batch.new_alarms.extend(recorded.new_alarms)
    batch.pending_clears.extend(recorded.pending_clears)


def _refused(engine, entry: _Entry, err: Exception, now) -> None:
    """One message the database refused on its own: it becomes a dead letter naming the database's answer.

    A dead letter refused even so (its rows are made storable, so this is a surprise) is stored once more with every
    text ASCII-escaped; if that fails too, the database is the problem and the error goes up.
    """
    item = entry.item
    if entry.dead is not None:
        log.error("the database refused a dead letter (%s); storing it ASCII-escaped", _first_line(err))
        dead = entry.dead
        engine.alarms.record([], [dead], plain=True)
    else:
        event = entry.event
        log.error("the database refused message %r of device %r (%s); dead-lettered", event.msg_id,
                  event.device_id, _first_line(err))
        dead = DeadLetterIn(now, item.source, payload.STORE_REFUSED, f"the database refused it: {_first_line(err)}",
                            payload.printable(item.raw), item.topic, event.msg_id, event.device_id)
        try:
            engine.alarms.record([], [dead])
        except Exception as again:  # noqa: BLE001 - any refusal: the ASCII-escaped row is the last resort
            log.error("the database refused its dead letter too (%s); storing it ASCII-escaped", _first_line(again))
            engine.alarms.record([], [dead], plain=True)
    entry.event, entry.dead = None, dead
    entry.result = AcceptResult(DEAD_LETTER, None, None, dead.reason, dead.detail)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:500]
