"""What a period brought in, as recorded: every sensor message accepted (alarms, repeats, clears, heartbeats) and
every report (hotline, resident, patrol, video), for replaying the period elsewhere (the simulator's what-if).

A sensor message is given back as it came: its payload rebuilt from the ``alert`` row (message id, device, scenario,
event, the device's timestamp, value, unit and detail), with when Jingzhi received it. A report is given back as the
facts its case was opened with (the ``cases`` row: scenario, channel, severity, place) and when it was opened; its
free text, photo and reporter are not replayed. Both carry the outcome their case came to (``false_alarm`` when
registration found nothing, ...) so a replay can have its officers find the same. The devices the messages name
come with them, as registry rows, so a replay can register the same devices.

Reads take a connection (``Engine.recorded_arrivals`` and ``Engine.recorded_counts`` run them).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from .models import Alert, Case, Device
from .same_problem import REPORT_CHANNELS

_alerts, _cases, _devices = Alert.__table__, Case.__table__, Device.__table__
#: Alerts are read this many at a time (a month of heartbeats is millions of rows).
PAGE = 5000
#: The registry columns a device is registered with (engine.alarms.devices.import_devices).
DEVICE_COLUMNS = ("id", "device_type", "scenario", "lat", "lon", "address", "compound", "inside_compound",
                  "owner_team", "heartbeat_interval_s")
#: The case facts a report is opened with again.
REPORT_FACTS = ("scenario", "channel", "severity", "address", "compound", "lat", "lon", "device_id")


def sensor_messages(connection, since: datetime, until: datetime, heartbeats: bool = True):
    """Sensor messages received in [since, until), in the order they were received: dicts with ``received_at``,
    ``message`` (the payload as sent), ``alarm_id`` and ``outcome`` (of the case the message belongs to)."""
    outcome = select(_cases.c.outcome).where(_cases.c.instance_id == _alerts.c.instance_id).scalar_subquery()
    query = select(_alerts.c.id, _alerts.c.msg_id, _alerts.c.device_id, _alerts.c.scenario, _alerts.c.event,
                   _alerts.c.reported_at, _alerts.c.received_at, _alerts.c.payload, _alerts.c.alarm_id,
                   outcome.label("outcome")).where(_alerts.c.received_at >= since, _alerts.c.received_at < until)
    if not heartbeats:
        query = query.where(_alerts.c.event != "heartbeat")
    after = None
    while True:   # keyset pages on (received_at, id): no offset scans, and a page never splits a moment
        page = query if after is None else query.where(
            (_alerts.c.received_at > after[0]) | ((_alerts.c.received_at == after[0]) & (_alerts.c.id > after[1])))
        rows = connection.execute(page.order_by(_alerts.c.received_at, _alerts.c.id).limit(PAGE)).mappings().all()
        for row in rows:
            message = {"msg_id": row["msg_id"], "device_id": row["device_id"], "scenario": row["scenario"],
                       "event": row["event"], "ts": row["reported_at"].astimezone(timezone.utc).isoformat(),
                       **(row["payload"] or {})}
            yield {"id": row["id"], "received_at": row["received_at"], "message": message,
                   "alarm_id": row["alarm_id"], "outcome": row["outcome"]}
        if len(rows) < PAGE:
            return
        after = (rows[-1]["received_at"], rows[-1]["id"])


def reports(connection, since: datetime, until: datetime) -> list[dict]:
    """Reports whose case was opened in [since, until), oldest first: ``opened_at``, ``data`` (the facts the case
    was opened with), ``outcome``, ``instance_id``."""
    rows = connection.execute(select(_cases.c.instance_id, _cases.c.opened_at, _cases.c.outcome, _cases.c.urgent,
                                     *(_cases.c[name] for name in REPORT_FACTS))
                              .where(_cases.c.opened_at >= since, _cases.c.opened_at < until,
                                     _cases.c.channel.in_(REPORT_CHANNELS))
                              .order_by(_cases.c.opened_at, _cases.c.instance_id)).mappings()
    out = []
    for row in rows:
        data = {name: row[name] for name in REPORT_FACTS if row[name] is not None}
        if row["urgent"]:
            data["urgent"] = True
        data["reported_at"] = row["opened_at"].astimezone(timezone.utc).isoformat()
        out.append({"instance_id": row["instance_id"], "opened_at": row["opened_at"], "data": data,
                    "outcome": row["outcome"]})
    return out


def devices(connection, ids: set[str]) -> list[dict]:
    """Registry rows of the devices ``ids``, by id."""
    found, wanted = [], sorted(ids)
    for start in range(0, len(wanted), 500):
        found += [dict(row) for row in connection.execute(
            select(*(_devices.c[name] for name in DEVICE_COLUMNS)).where(
                _devices.c.id.in_(wanted[start:start + 500]))).mappings()]
    return sorted(found, key=lambda row: row["id"])


def counts(connection, since: datetime, until: datetime) -> dict:
    """How many cases the period's arrivals opened: from sensor alarms, and from reports by channel. Read from the
    cases (indexed by when they were opened), not the alerts, whose heartbeats are millions a month."""
    channels = dict(connection.execute(select(_cases.c.channel, func.count()).where(
        _cases.c.opened_at >= since, _cases.c.opened_at < until,
        _cases.c.channel.in_(("sensor", *REPORT_CHANNELS))).group_by(_cases.c.channel)).all())
    return {"sensor": int(channels.pop("sensor", 0)), "reports": {k: int(v) for k, v in sorted(channels.items())}}
