"""Alarms after their batch committed: starting their cases, delivering clears, closing, finding silent devices.

:func:`engine.alarms.alerts.record` stores alerts and alarms without touching SpiffWorkflow; this module does the engine
work that follows, each piece in its own transactions and safe to repeat: a new alarm is born claimed by the batch
that wrote it, whose after-commit job (:func:`after_commit`, run by :class:`engine.Jobs`: in-process, or on RQ with
``REDIS_URL``) starts the cases of the batch's new alarms, many in one transaction (:func:`open_cases`);
:func:`sweep` (every few seconds in the ticker) takes over whatever a lost job or a crash left, delivers clears once
their case waits for them, closes alarms whose case ended and turns silent devices into maintenance cases.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, text, update

from ..models import RUNNING
from .. import clock
from .alerts import START_LEASE_S, SWEEP_BATCH, alarm_key, close_alarms, insert_alarm, registry
from ..exceptions import JingzhiError, MessageNotCorrelated, NotFound
from ..deploy.forms import check_size
from ..models import (MAINTENANCE_PROCESS, OFFLINE_SCENARIO, ONLINE_MESSAGE, Alarm, Alert, Device, MessageSubscription,
                      ProcessInstance)

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
          .where(_alarms.c.status == "open", _instances.c.status != RUNNING).limit(SWEEP_BATCH))


#: Case starts per transaction. One commit for many starts is what lets an ingester keep up with a burst of first
#: alarms; a batch is still small enough that a batch the database refuses costs little to redo one by one.
START_BATCH = 100


def open_case(engine, alarm_id: int, retry: bool = False, actor: str = "sensor") -> int | None:
    """Start the case of one alarm (:func:`open_cases` of one); the instance id, or None when none was started here."""
    return open_cases(engine, [alarm_id], retry=retry, actor=actor).get(alarm_id)


def open_cases(engine, alarm_ids: list[int], retry: bool = False, actor: str = "sensor") -> dict[int, int]:
    """Start the cases of these alarms, many in one transaction; returns alarm id -> instance id of those started.

    Safe to run twice, at once or one after the other (a job rerun after its worker died, the sweep beside a late
    job): each alarm is locked (an advisory lock on PostgreSQL; SQLite has one writer), checked to have no case yet,
    its case started and the link written in ONE transaction, so a second run waits for the first and then finds
    the link. A new alarm is born claimed by its
    batch (``start_claimed_at``) for the job that batch hands its new alarms to; ``retry`` (the sweep) takes only
    alarms whose claim lapsed, so it does not race a job still waiting in its queue.
    """
    started: dict[int, int] = {}
    for n in range(0, len(alarm_ids), START_BATCH):
        chunk = alarm_ids[n:n + START_BATCH]
        try:
            started.update(_open_batch(engine, chunk, retry, actor))
        except Exception as err:
            if len(chunk) == 1 or engine.alarms.unavailable(err):
                raise
            # One alarm the database refuses must not keep the others from their cases: each on its own.
            log.warning("starting %d cases in one transaction failed (%s); starting them one by one", len(chunk), err)
            for alarm_id in chunk:
                try:
                    started.update(_open_batch(engine, [alarm_id], retry, actor))
                except Exception:
                    log.exception("starting the case of alarm %s failed; the sweep retries it", alarm_id)
    return started


#: The advisory lock space of case starts (pg_advisory_xact_lock(space, alarm id)): "JZ".
START_LOCK_SPACE = 0x4A5A
_LOCK_STARTS = text("SELECT pg_advisory_xact_lock(:space, CAST(id % 2147483647 AS integer)) "
                    "FROM (SELECT unnest(CAST(:ids AS bigint[])) AS id ORDER BY 1) AS alarm")
_START_COLUMNS = (_alarms.c.id, _alarms.c.device_id, _alarms.c.scenario, _alarms.c.process_id, _alarms.c.start_data,
                  _alarms.c.count)


def _open_batch(engine, alarm_ids: list[int], retry: bool, actor: str) -> dict[int, int]:
    now = clock.now()
    unlinked = (_alarms.c.id.in_(alarm_ids), _alarms.c.status == "open", _alarms.c.instance_id.is_(None))
    if retry:
        unlinked += (or_(_alarms.c.start_claimed_at.is_(None),
                         _alarms.c.start_claimed_at < now - timedelta(seconds=START_LEASE_S)),)
    started, failed = {}, {}
    with engine.store.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A second start of these alarms waits here until the first committed, then reads its links. Advisory
            # locks, not row locks: the writer's next batch counts repeats on these alarm rows and must not wait for
            # SpiffWorkflow. Taken in id order, so overlapping runs queue up instead of deadlocking.
            connection.execute(_LOCK_STARTS, {"space": START_LOCK_SPACE, "ids": sorted(alarm_ids)})
        rows = connection.execute(select(*_START_COLUMNS).where(*unlinked).order_by(_alarms.c.id)).mappings().all()
        if not rows:
            return {}
        keys = {row["id"]: f"{row['device_id']}/{row['scenario']}#{row['id']}" for row in rows}
        # A case started by code that linked it in a second transaction (before this module started and linked
        # in one) may exist without its link: found by business key, never started twice.
        known = dict(connection.execute(select(_instances.c.business_key, _instances.c.id)
                                        .where(_instances.c.business_key.in_(list(keys.values())))).all())
        for row in rows:
            alarm_id, key = row["id"], keys[row["id"]]
            if key in known:
                started[alarm_id] = known[key]
                continue
            data = dict(row["start_data"], alert_count=row["count"])
            try:
                check_size(data)
                started[alarm_id], _, _ = engine.runtime.start_in(connection, row["process_id"], data, key, actor)
            except NotFound as err:  # the process is not deployed (yet): the claim lapses and a sweep retries
                log.warning("alarm %s: %s", alarm_id, err.message)
            except JingzhiError as err:  # the diagram refuses this data: park the alarm where an admin sees it
                # (start_in refuses before it writes anything, so the rest of the batch commits without a trace)
                log.error("alarm %s could not start %s: %s", alarm_id, row["process_id"], err.message)
                failed[alarm_id] = err.message
        waiting = [row["id"] for row in rows if row["id"] not in started and row["id"] not in failed]
        if waiting:  # claimed again, so the next sweep waits a lease before it retries them
            connection.execute(update(_alarms).where(_alarms.c.id.in_(waiting)).values(start_claimed_at=now))
        if started:
            links = [{"b_alarm": a, "b_instance": i} for a, i in started.items()]
            connection.execute(update(_alarms).where(_alarms.c.id == bindparam("b_alarm"))
                               .values(instance_id=bindparam("b_instance")), links)
            connection.execute(update(_alerts).where(_alerts.c.alarm_id == bindparam("b_alarm"))
                               .values(instance_id=bindparam("b_instance")), links)
        for alarm_id, message in failed.items():
            connection.execute(update(_alarms).where(_alarms.c.id == alarm_id).values(
                status="failed", open_key=None, error=message, closed_at=now))
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
    if new_alarms:
        done.started = open_cases(engine, list(new_alarms), actor=actor)
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
    candidates = list(dict.fromkeys(mark_offline(engine, now) + pending_starts(engine)))
    opened = open_cases(engine, candidates, retry=True)
    delivered = deliver_clears(engine)
    closed = close_ended(engine)
    return {"opened": len(opened), "cleared": len(delivered), "closed": closed}
