"""Alarms after their batch committed: starting their cases, delivering clears, closing, finding silent devices.

:func:`engine.alerts.record` stores alerts and alarms without touching SpiffWorkflow; this module does the engine
work that follows, each piece in its own transactions and safe to repeat: a new alarm is born claimed by the batch
that wrote it, which starts its case with :func:`open_case`; :func:`sweep` (every few seconds in the ticker) takes
over whatever a crash left, delivers clears once their case waits for them, closes alarms whose case ended and turns
silent devices into maintenance cases.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, text, update

from . import clock
from .alerts import (MAINTENANCE_PROCESS, OFFLINE_SCENARIO, ONLINE_MESSAGE, START_LEASE_S, SWEEP_BATCH, alarm_key,
                     close_alarms, insert_alarm, registry)
from .exceptions import JingzhiError, MessageNotCorrelated, NotFound
from .models import Alarm, Alert, Device, MessageSubscription, ProcessInstance

log = logging.getLogger(__name__)

_alerts, _alarms, _devices = Alert.__table__, Alarm.__table__, Device.__table__
_instances, _subscriptions = ProcessInstance.__table__, MessageSubscription.__table__
# The sweep's reads run every few seconds (every virtual five minutes in a simulation): built once.
_DELIVERABLE = (select(_alarms.c.id, _alarms.c.device_id, _alarms.c.clear_message, _alarms.c.cleared_at,
                       _alarms.c.instance_id)
                .join(_subscriptions, and_(_subscriptions.c.instance_id == _alarms.c.instance_id,
                                           _subscriptions.c.message_name == _alarms.c.clear_message))
                .where(_alarms.c.clear_pending.is_(True), _alarms.c.status == "open").distinct()
                .order_by(_alarms.c.id).limit(SWEEP_BATCH))
_DELIVERABLE_OF = _DELIVERABLE.where(_alarms.c.id.in_(bindparam("alarm_ids", expanding=True)))
_CLEAR_DELIVERED = (update(_alarms).where(_alarms.c.id == bindparam("alarm_id"),
                                          _alarms.c.cleared_at.is_not_distinct_from(bindparam("b_cleared_at")))
                    .values(clear_pending=False))
_ENDED = (select(_alarms.c.id).join(_instances, _instances.c.id == _alarms.c.instance_id)
          .where(_alarms.c.status == "open", _instances.c.status != "running").limit(SWEEP_BATCH))


def open_case(engine, alarm_id: int, retry: bool = False, actor: str = "sensor") -> int | None:
    """Start the case of a new alarm; returns the instance id, or None when it is not this caller's to start.

    A new alarm is born claimed by the batch that wrote it (``start_claimed_at``), so its writer starts the case
    with no claim of its own: one read, the start, the link. ``retry`` (the sweep) takes alarms nobody holds or whose
    lease ran out (the writer died), claims them, and first looks for a case an earlier attempt started but did not
    link.
    """
    now = clock.now()
    columns = (_alarms.c.device_id, _alarms.c.scenario, _alarms.c.process_id, _alarms.c.start_data, _alarms.c.count)
    open_unlinked = (_alarms.c.id == alarm_id, _alarms.c.status == "open", _alarms.c.instance_id.is_(None))
    started = None
    if not retry:
        with engine.store.read() as connection:
            alarm = connection.execute(select(*columns).where(*open_unlinked)).mappings().one_or_none()
        if alarm is None:
            return None
        business_key = f"{alarm['device_id']}/{alarm['scenario']}#{alarm_id}"
    else:
        lapsed = or_(_alarms.c.start_claimed_at.is_(None),
                     _alarms.c.start_claimed_at < now - timedelta(seconds=START_LEASE_S))
        with engine.store.begin() as connection:
            alarm = connection.execute(update(_alarms).where(*open_unlinked, lapsed).values(start_claimed_at=now)
                                       .returning(*columns)).mappings().one_or_none()
            if alarm is None:
                return None
            business_key = f"{alarm['device_id']}/{alarm['scenario']}#{alarm_id}"
            started = connection.scalar(select(_instances.c.id).where(_instances.c.business_key == business_key))
    if started is None:  # not started by an earlier attempt that died before linking
        data = dict(alarm["start_data"], alert_count=alarm["count"])
        try:
            started = engine.start(alarm["process_id"], data, business_key=business_key, actor=actor)
        except NotFound as err:  # the process is not deployed (yet): the lease runs out and a sweep retries
            log.warning("alarm %s: %s", alarm_id, err.message)
            return None
        except JingzhiError as err:  # the diagram refuses this data: park the alarm where an admin sees it
            log.error("alarm %s could not start %s: %s", alarm_id, alarm["process_id"], err.message)
            with engine.store.begin() as connection:
                connection.execute(update(_alarms).where(_alarms.c.id == alarm_id).values(
                    status="failed", open_key=None, error=err.message, closed_at=clock.now()))
            return None
    with engine.store.begin() as connection:
        if connection.dialect.name == "postgresql":
            # No WAL flush wait: lost in a crash, the link is found again by business key (the start was flushed).
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
        connection.execute(update(_alarms).where(_alarms.c.id == alarm_id).values(instance_id=started))
        connection.execute(update(_alerts).where(_alerts.c.alarm_id == alarm_id).values(instance_id=started))
    return started


@dataclass
class AfterCommit:
    """What the work after an alert batch did: the cases it started (alarm id -> instance id), the clears it
    delivered (alarm ids)."""

    started: dict[int, int] = field(default_factory=dict)
    cleared: list[int] = field(default_factory=list)


def after_commit(engine, new_alarms: list[int], pending_clears: list[int], actor: str = "sensor") -> AfterCommit:
    """The one step after an alert batch committed, for HTTP and MQTT alike (and the simulation): start the case of
    each new alarm, then deliver the batch's held clears to the cases that wait for them now. What fails here stays
    in the database (a claimed alarm, a pending clear) and the ticker's :func:`sweep` finishes it."""
    done = AfterCommit()
    for alarm_id in new_alarms:
        instance_id = open_case(engine, alarm_id, actor=actor)
        if instance_id is not None:
            done.started[alarm_id] = instance_id
    if pending_clears:
        done.cleared = deliver_clears(engine, pending_clears, actor=actor)
    return done


def deliver_clears(engine, alarm_ids: list[int] | None = None, actor: str = "sensor") -> list[int]:
    """Deliver pending clears to the cases that wait for them now; returns the alarms delivered."""
    if alarm_ids is not None and not alarm_ids:
        return []
    with engine.store.read() as connection:
        if alarm_ids is None:
            pending = connection.execute(_DELIVERABLE).all()
        else:
            pending = connection.execute(_DELIVERABLE_OF, {"alarm_ids": alarm_ids}).all()
    delivered = []
    for alarm_id, device_id, message, cleared_at, instance_id in pending:
        try:
            engine.send_message(message, {"device_id": device_id},
                                {"cleared_at": cleared_at.isoformat() if cleared_at else None,
                                 "alarm_id": alarm_id}, actor=actor)
        except MessageNotCorrelated:
            continue
        with engine.store.begin() as connection:
            connection.execute(_CLEAR_DELIVERED, {"alarm_id": alarm_id, "b_cleared_at": cleared_at})
        delivered.append(alarm_id)
    if delivered:
        close_ended(engine)
    return delivered


def devices_of(engine, alarm_ids: list[int]) -> dict[int, str]:
    """Alarm id -> the device that raised it."""
    with engine.store.read() as connection:
        return dict(connection.execute(select(_alarms.c.id, _alarms.c.device_id)
                                       .where(_alarms.c.id.in_(alarm_ids))).all())


def close_ended(engine) -> int:
    """Close the open alarms whose case has ended (completed, cancelled, failed)."""
    with engine.store.begin() as connection:
        ended = list(connection.scalars(_ENDED))
        if ended:
            close_alarms(connection, ended)
    return len(ended)


def mark_offline(engine, now: datetime | None = None) -> list[int]:
    """Devices silent past their interval become offline, each with a maintenance alarm; returns new alarm ids."""
    now = now or clock.now()
    devices = registry(engine)
    with engine.store.begin() as connection:
        query = (select(_devices.c.id, _devices.c.last_seen_at).where(
            _devices.c.offline_after < now, _devices.c.status == "online")
            .order_by(_devices.c.offline_after).limit(SWEEP_BATCH).with_for_update(skip_locked=True))
        silent = connection.execute(query).all()
        if not silent:
            return []
        connection.execute(update(_devices).where(_devices.c.id.in_([d for d, _ in silent]))
                           .values(status="offline"))
        rows = []
        for device_id, last_seen in silent:
            info = devices.get(device_id)
            data = {"device_id": device_id, "scenario": OFFLINE_SCENARIO, "channel": "sensor", "severity": "low",
                    "device_type": info.device_type if info else None,
                    "owner_team": (info.owner_team if info else None) or "grid_patrol",
                    "address": info.address if info else None, "compound": info.compound if info else None,
                    "lat": info.lat if info else None, "lon": info.lon if info else None,
                    "inside_compound": bool(info.inside_compound) if info else False,
                    "last_seen_at": last_seen.isoformat() if last_seen else None, "reported_at": now.isoformat()}
            rows.append(dict(device_id=device_id, scenario=OFFLINE_SCENARIO, open_key=alarm_key(device_id, OFFLINE_SCENARIO),
                             status="open", process_id=MAINTENANCE_PROCESS, clear_message=ONLINE_MESSAGE,
                             severity="low", count=1, flaps=0, first_seen_at=now, last_seen_at=now,
                             cleared_at=None, clear_pending=False, start_data=data))
        return [alarm_id for alarm_id, _ in connection.execute(insert_alarm(connection), rows)]


def pending_starts(engine, limit: int = SWEEP_BATCH) -> list[int]:
    """Open alarms without a case whose lease is free (left by a crash, or a process not deployed then)."""
    cutoff = clock.now() - timedelta(seconds=START_LEASE_S)
    with engine.store.read() as connection:
        return list(connection.scalars(select(_alarms.c.id).where(
            _alarms.c.status == "open", _alarms.c.instance_id.is_(None),
            or_(_alarms.c.start_claimed_at.is_(None), _alarms.c.start_claimed_at < cutoff))
            .order_by(_alarms.c.id).limit(limit)))


def sweep(engine, now: datetime | None = None) -> dict:
    """The periodic pass of an ingester: silent devices, cases left unstarted, clears now deliverable, ended cases."""
    candidates = dict.fromkeys(mark_offline(engine, now) + pending_starts(engine))
    opened = [a for a in candidates if open_case(engine, a, retry=True) is not None]
    delivered = deliver_clears(engine)
    closed = close_ended(engine)
    return {"opened": len(opened), "cleared": len(delivered), "closed": closed}
