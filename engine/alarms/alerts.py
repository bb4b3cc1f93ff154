"""Sensor alerts turned into stored alerts, alarms and cases: the engine side of ingestion.

The edges (MQTT ingester, HTTP intake) parse and validate; they hand this module plain :class:`SensorEvent` values
and :class:`DeadLetterIn` rows. :func:`record` stores a whole batch in ONE transaction with a handful of statements
and never touches SpiffWorkflow: heartbeats and repeats are an INSERT of the alert and an UPDATE of a device or
alarm row. Only the first alarm of a (device, scenario) starts a process, and that happens after the commit
in a job (:func:`engine.alarms.lifecycle.open_cases`, many starts to a transaction), from the alarm row that the batch wrote:
the row is the durable intent, so a crash or a lost job between the commit and the start loses nothing
(:func:`engine.alarms.lifecycle.sweep` starts what is left once the batch's claim lapsed; a start and its link commit together,
so no case is started twice).

Alarm semantics (ThingsBoard, RFC 8632): one open alarm per (device, scenario) while its case runs; an alarm again
counts on it (``count``; after a clear it also counts as a ``flap``), so a flapping device never spawns a second
case. A clear marks the alarm ``clear_pending``; the clear is delivered as the BPMN message ``clear_message``
(``sensor_clear`` for the closed loop) as soon as the case waits for it, which may be at once or only when the case
reaches verification. An alarm closes when its case ends. A device silent past its heartbeat interval is marked
offline and opens a ``device_offline`` alarm on the maintenance process; its next message clears that alarm.

A batch is stored whole or not at all, so one message the database refuses would fail its batch every time it is
retried. The edges refuse such messages up front (``sensors.payload.unstorable``); what still fails is found by
splitting the batch (``sensors.intake``), which asks :func:`unavailable` whether a failure was the database's state
(retry the batch as it is) or the batch's data (split it). Dead letter rows are made storable here, whatever they
hold (:func:`dead_letter_row`).
"""
from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError

from ..models import RUNNING
from .. import clock
from .devices import DeviceInfo, Registry, dialect_insert
from ..models import OFFLINE_SCENARIO, Alarm, Alert, DeadLetter, Device, ProcessInstance

log = logging.getLogger(__name__)

_alerts, _alarms, _devices = Alert.__table__, Alarm.__table__, Device.__table__
_dead, _instances = DeadLetter.__table__, ProcessInstance.__table__

#: The process a sensor alarm starts, and the message its sensor's clear is delivered as.
CASE_PROCESS, CLEAR_MESSAGE = "closed_loop", "sensor_clear"
#: The process a silent device starts, the scenario of its alarm, and the message its return is delivered as.
#: Heartbeats a device may miss before it counts as offline (one late heartbeat is network jitter, three are not).
MISSED_HEARTBEATS = 3
#: How long one ingester holds the right to start an alarm's case before another may try (a start takes ms).
START_LEASE_S = 60
#: Alarms handled per sweep step (pending starts, clears, closes, silent devices).
SWEEP_BATCH = 200
ALARM, CLEAR, HEARTBEAT = "alarm", "clear", "heartbeat"
#: Characters kept of a dead letter's detail and raw text (the raw payload is at most 8 KB; the rest is noise).
DEAD_DETAIL_CHARS, DEAD_RAW_CHARS = 2000, 4096
#: SQLSTATE classes of failures that are the database's state, not the data: connection (08), a transaction rolled
#: back by a deadlock or serialization conflict (40), resources (53), a lock not available (55), operator
#: intervention or a statement timeout (57), system (58).
TRANSIENT_SQLSTATE = ("08", "40", "53", "55", "57", "58")


@dataclass(frozen=True)
class SensorEvent:
    """One validated sensor message, as the edges hand it over."""

    msg_id: str
    device_id: str
    scenario: str
    event: str                  # alarm | clear | heartbeat
    reported_at: datetime       # the device's timestamp
    received_at: datetime       # when Jingzhi got it
    source: str                 # mqtt | http | ...
    payload: dict | None = None  # value, unit, detail
    severity: str | None = None


@dataclass(frozen=True)
class DeadLetterIn:
    received_at: datetime
    source: str
    reason: str
    detail: str
    raw: str
    topic: str | None = None
    msg_id: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class Recorded:
    msg_id: str
    duplicate: bool
    alert_id: int | None = None
    alarm_id: int | None = None
    instance_id: int | None = None
    opened_alarm: bool = False


@dataclass
class BatchResult:
    recorded: list[Recorded] = field(default_factory=list)
    dead_letters: int = 0
    new_alarms: list[int] = field(default_factory=list)     # alarms whose case is still to be started
    pending_clears: list[int] = field(default_factory=list)  # alarms with a clear to deliver


def _storable(value: str | None, limit: int | None) -> str | None:
    """Text PostgreSQL accepts: NUL escaped as ``\\0``, lone surrogates as ``\\udXXX``, cut to ``limit``."""
    if value is None:
        return None
    value = str(value).replace("\x00", "\\0")
    if not value.isascii():
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value[:limit] if limit else value


_DEAD_LIMITS = {column.name: column.type.length for column in _dead.columns if isinstance(column.type, String)}
_DEAD_LIMITS.update(detail=DEAD_DETAIL_CHARS, raw=DEAD_RAW_CHARS)


def dead_letter_row(dead: DeadLetterIn, plain: bool = False) -> dict:
    """The row of a dead letter, storable whatever it holds: every text escaped and cut to its column.

    ``plain``: every text as ASCII (``ascii()``-escaped), for a dead letter the database refused even so.
    """
    row = vars(dead).copy()
    for name, limit in _DEAD_LIMITS.items():
        value = row.get(name)
        if plain and value is not None:
            value = ascii(str(value))[1:-1]
        row[name] = _storable(value, limit)
    return row


def unavailable(engine, error: BaseException) -> bool:
    """Whether a failed batch failed for the database's state (down, restarting, a deadlock), not for its data.

    Decided by the error's SQLSTATE class or SQLite's busy answer, then by asking the database a trivial question:
    if that fails too, the database is away and the batch must be retried as it is, not split.
    """
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if state and state[:2] in TRANSIENT_SQLSTATE:
            return True
        if engine.store.is_sqlite and any(w in str(error.orig).lower() for w in ("locked", "busy", "disk i/o")):
            return True
    try:
        with engine.store.read() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - whatever stops a trivial query, the database is not answering
        return True
    return False


_registries: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def registry(engine) -> Registry:
    """The device registry cache of an engine (one per engine object, shared by its threads)."""
    found = _registries.get(engine)
    if found is None:
        found = _registries[engine] = Registry(engine.store)
    return found


def alarm_key(device_id: str, scenario: str) -> str:
    return f"{device_id}|{scenario}"


def case_data(device: DeviceInfo, event: SensorEvent) -> dict:
    """Start data of the closed loop for a device's first alarm (the keys bpmn/closed_loop.bpmn reads)."""
    return {"device_id": device.id, "scenario": event.scenario, "channel": "sensor",
            "severity": event.severity or "medium", "address": device.address, "compound": device.compound,
            "inside_compound": bool(device.inside_compound), "lat": device.lat, "lon": device.lon,
            "alert_count": 1, "reported_at": event.reported_at.isoformat(), "device_type": device.device_type,
            "owner_team": device.owner_team}


@dataclass
class _Open:
    """An alarm as the batch changes it."""

    id: int | None
    instance_id: int | None
    cleared: bool                     # the last event seen on it was a clear
    new: bool = False
    count: int = 0                    # added by this batch
    flaps: int = 0
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    cleared_at: datetime | None = None
    severity: str | None = None
    start_data: dict | None = None
    alert_ids: list[int] = field(default_factory=list)
    msg_ids: list[str] = field(default_factory=list)


def record(engine, events: list[SensorEvent], dead_letters: list[DeadLetterIn] = (), plain: bool = False
           ) -> BatchResult:
    """Store a batch in one transaction: dead letters, alerts (idempotent on msg_id), device sightings, alarms.

    ``plain``: store the dead letters' texts ASCII-escaped (see :func:`dead_letter_row`).
    """
    result = BatchResult()
    devices = registry(engine)
    first: dict[str, SensorEvent] = {}
    for event in events:
        first.setdefault(event.msg_id, event)
    unique = list(first.values())
    with engine.store.begin() as connection:
        if dead_letters:
            connection.execute(_dead.insert(), [dead_letter_row(d, plain) for d in dead_letters])
            result.dead_letters = len(dead_letters)
        inserted = _insert_alerts(connection, unique)
        accepted = [e for e in unique if e.msg_id in inserted]
        back_online = _sightings(connection, accepted, devices)
        opens = _alarms_of(connection, accepted, inserted, devices, result)
        if back_online:
            _clear_offline(connection, back_online, result)
    recorded = {}
    for state in opens.values():
        for msg_id, alert_id in zip(state.msg_ids, state.alert_ids):
            recorded[msg_id] = Recorded(msg_id, False, alert_id, state.id, state.instance_id,
                                        state.new and msg_id == state.msg_ids[0])
    for event in events:
        if event.msg_id in recorded:
            result.recorded.append(recorded.pop(event.msg_id))
        elif event.msg_id in inserted:
            result.recorded.append(Recorded(event.msg_id, False, inserted.pop(event.msg_id)))
        else:
            result.recorded.append(Recorded(event.msg_id, True))
    return result


_INSERT_ALERT = {}


def _insert_alerts(connection, events: list[SensorEvent]) -> dict[str, int]:
    """INSERT ... ON CONFLICT (msg_id) DO NOTHING RETURNING: the msg_ids stored now, with their alert ids.

    One executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues") from one cached compilation.
    """
    if not events:
        return {}
    dialect = connection.dialect.name
    statement = _INSERT_ALERT.get(dialect)
    if statement is None:
        statement = _INSERT_ALERT[dialect] = (dialect_insert(connection, _alerts)
                                              .on_conflict_do_nothing(index_elements=["msg_id"])
                                              .returning(_alerts.c.id, _alerts.c.msg_id))
    rows = [dict(msg_id=e.msg_id, device_id=e.device_id, scenario=e.scenario, event=e.event,
                 reported_at=e.reported_at, received_at=e.received_at, source=e.source, payload=e.payload)
            for e in events]
    return {msg_id: alert_id for alert_id, msg_id in connection.execute(statement, rows)}


_SEEN = (update(_devices).where(_devices.c.id == bindparam("b_id"),
                                or_(_devices.c.last_seen_at.is_(None), _devices.c.last_seen_at < bindparam("b_seen")))
         .values(last_seen_at=bindparam("b_seen"), offline_after=bindparam("b_after"), status="online"))


def _sightings(connection, events: list[SensorEvent], devices: Registry) -> dict[str, datetime]:
    """Every message is a sign of life: one UPDATE per device (sorted, so concurrent batches lock in one order).
    Returns the devices that were offline, with when they were seen again."""
    seen: dict[str, datetime] = {}
    for event in events:
        if event.device_id not in seen or seen[event.device_id] < event.received_at:
            seen[event.device_id] = event.received_at
    if not seen:
        return {}
    offline = set(connection.scalars(select(_devices.c.id).where(_devices.c.id.in_(list(seen)),
                                                                _devices.c.status == "offline")))
    rows = []
    for device_id in sorted(seen):
        info = devices.get(device_id)
        interval = info.heartbeat_interval_s if info else 300
        rows.append({"b_id": device_id, "b_seen": seen[device_id],
                     "b_after": seen[device_id] + timedelta(seconds=interval * MISSED_HEARTBEATS)})
    connection.execute(_SEEN, rows)
    return {device_id: seen[device_id] for device_id in offline}


def _alarms_of(connection, events: list[SensorEvent], alert_ids: dict[str, int], devices: Registry,
               result: BatchResult) -> dict[str, _Open]:
    alarm_events = sorted((e for e in events if e.event in (ALARM, CLEAR)), key=lambda e: e.reported_at)
    if not alarm_events:
        return {}
    keys = sorted({alarm_key(e.device_id, e.scenario) for e in alarm_events})
    opens = _lock_open(connection, keys)
    for event in alarm_events:
        key = alarm_key(event.device_id, event.scenario)
        state = opens.get(key)
        if event.event == CLEAR:
            if state is None:
                continue                       # a clear with no open alarm: stored as an alert, nothing else
            state.cleared, state.cleared_at = True, event.reported_at
        else:
            if state is None:
                state = opens[key] = _Open(None, None, False, new=True, severity=event.severity,
                                           first_seen_at=event.reported_at,
                                           start_data=case_data(devices.get(event.device_id), event))
            elif state.cleared:
                state.flaps += 1
            state.cleared = False
            state.count += 1
            state.last_seen_at = max(filter(None, (state.last_seen_at, event.reported_at)))
        state.alert_ids.append(alert_ids[event.msg_id])
        state.msg_ids.append(event.msg_id)
    _write_alarms(connection, opens, result)
    links = [{"b_alert": alert_id, "b_alarm": state.id, "b_instance": state.instance_id}
             for state in opens.values() for alert_id in state.alert_ids]
    if links:
        connection.execute(update(_alerts).where(_alerts.c.id == bindparam("b_alert"))
                           .values(alarm_id=bindparam("b_alarm"), instance_id=bindparam("b_instance")), links)
    return opens


def _lock_open(connection, keys: list[str]) -> dict[str, _Open]:
    """The open alarms of these keys, locked; alarms whose case has ended are closed here and not returned."""
    rows = connection.execute(
        select(_alarms.c.id, _alarms.c.open_key, _alarms.c.instance_id, _alarms.c.cleared_at,
               _alarms.c.last_seen_at, _instances.c.status)
        .outerjoin(_instances, _instances.c.id == _alarms.c.instance_id)
        .where(_alarms.c.open_key.in_(keys)).order_by(_alarms.c.open_key).with_for_update(of=_alarms)).all()
    opens, ended = {}, []
    for row in rows:
        # No status with an instance id: the link committed while this statement waited for the row lock, and the
        # instance row is newer than the statement's snapshot. It has just started; it has not ended.
        if row.instance_id is not None and row.status is not None and row.status != RUNNING:
            ended.append(row.id)
            continue
        cleared = row.cleared_at is not None and row.cleared_at >= row.last_seen_at
        opens[row.open_key] = _Open(row.id, row.instance_id, cleared)
    if ended:
        close_alarms(connection, ended)
    return opens


def close_alarms(connection, alarm_ids: list[int]) -> None:
    connection.execute(update(_alarms).where(_alarms.c.id.in_(alarm_ids), _alarms.c.status == "open")
                       .values(status="closed", open_key=None, closed_at=clock.now(), clear_pending=False))


_INSERT_ALARM = {}


def insert_alarm(connection):
    """INSERT ... ON CONFLICT (open_key) DO NOTHING RETURNING id, open_key (compiled once per dialect)."""
    dialect = connection.dialect.name
    if dialect not in _INSERT_ALARM:
        _INSERT_ALARM[dialect] = (dialect_insert(connection, _alarms).on_conflict_do_nothing(index_elements=["open_key"])
                                  .returning(_alarms.c.id, _alarms.c.open_key))
    return _INSERT_ALARM[dialect]


def _write_alarms(connection, opens: dict[str, _Open], result: BatchResult) -> None:
    new = [(key, s) for key, s in opens.items() if s.new]
    now = clock.now()   # new alarms are born claimed by this batch's caller, which starts their cases next
    if new:
        rows = [dict(device_id=key.rsplit("|", 1)[0], scenario=key.rsplit("|", 1)[1], open_key=key, status="open",
                     process_id=CASE_PROCESS, clear_message=CLEAR_MESSAGE, severity=s.severity, count=s.count,
                     flaps=s.flaps, first_seen_at=s.first_seen_at, last_seen_at=s.last_seen_at,
                     cleared_at=s.cleared_at, clear_pending=s.cleared, start_data=s.start_data,
                     start_claimed_at=now) for key, s in new]
        for alarm_id, key in connection.execute(insert_alarm(connection), rows):
            opens[key].id = alarm_id
            result.new_alarms.append(alarm_id)
    raced = [key for key, s in new if s.id is None]
    if raced:  # another ingester opened these keys since our look: count on its alarms instead
        for key, state in _lock_open(connection, raced).items():
            mine = opens[key]
            mine.id, mine.instance_id, mine.new = state.id, state.instance_id, False
    updates = [s for s in opens.values() if not s.new and s.id is not None]
    counted = [{"b_id": s.id, "b_count": s.count, "b_flaps": s.flaps, "b_last": s.last_seen_at,
                "b_cleared_at": s.cleared_at, "b_pending": s.cleared} for s in updates if s.last_seen_at is not None]
    if counted:
        connection.execute(update(_alarms).where(_alarms.c.id == bindparam("b_id")).values(
            count=_alarms.c.count + bindparam("b_count"), flaps=_alarms.c.flaps + bindparam("b_flaps"),
            last_seen_at=bindparam("b_last"), cleared_at=func.coalesce(bindparam("b_cleared_at"), _alarms.c.cleared_at),
            clear_pending=bindparam("b_pending")), counted)
    cleared = [{"b_id": s.id, "b_cleared_at": s.cleared_at} for s in updates if s.last_seen_at is None]
    if cleared:  # only clears for this alarm in the batch
        connection.execute(update(_alarms).where(_alarms.c.id == bindparam("b_id")).values(
            cleared_at=bindparam("b_cleared_at"), clear_pending=True), cleared)
    result.pending_clears.extend(s.id for s in opens.values() if s.cleared and s.id is not None)


def _clear_offline(connection, back_online: dict[str, datetime], result: BatchResult) -> None:
    keys = {alarm_key(device_id, OFFLINE_SCENARIO): seen for device_id, seen in back_online.items()}
    rows = connection.execute(select(_alarms.c.id, _alarms.c.open_key).where(_alarms.c.open_key.in_(list(keys))))
    for alarm_id, key in rows:
        connection.execute(update(_alarms).where(_alarms.c.id == alarm_id)
                           .values(clear_pending=True, cleared_at=keys[key]))
        result.pending_clears.append(alarm_id)
