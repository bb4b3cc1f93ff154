"""The transactional outbox: case events and notification requests, written in the step's own transaction, and their
deliveries to department webhooks and people's channels.

A step writes :class:`~engine.models.OutboxEvent` rows beside its audit events (:func:`record`, called by
``persistence.write_projection`` and ``assignment.assign``): a crash between the step and the sending loses nothing,
and a step that rolls back announces nothing. The ticker then has the edge fan each event out into one
:class:`~engine.models.Delivery` per subscriber (:meth:`Outbox.fan_out`), in event order, and send the due ones.

Order per case: a delivery is due only when no earlier delivery of the same case and subscriber is unsent (pending,
in flight, or dead), so a later event waits while an earlier one is failing, and a receiver that was down gets
everything afterwards in order. Each delivery has a fixed idempotency key (event id and subscriber) that travels as a
header, so a receiver can drop the copy a crash between its answer and our bookkeeping would make.

Retries back off exponentially (``delivery_backoff_s * 2 ** (attempts - 1)``, capped); after
``delivery_max_attempts`` a delivery is dead: an incident an admin retries (or replays) on /admin/failed.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import aliased

from . import clock, defaults
from .exceptions import Conflict, FormInvalid, NotFound
from .models import AuditEvent, Delivery, OutboxEvent, WebhookSubscription
from .notify import contact_by_username, person_deliveries
from .people import LEAD_SUFFIX

log = logging.getLogger(__name__)

_events, _deliveries, _hooks = OutboxEvent.__table__, Delivery.__table__, WebhookSubscription.__table__
_audit = AuditEvent.__table__
_INSERT_EVENT = insert(_events)   # built once: every engine step writes through it
PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
#: An admin skipped it (or its department was unsubscribed): never sent, and no longer holding later ones back.
DISCARDED = "discarded"
_DONE = (SENT, DISCARDED)
#: Audit kinds a department hears about, as the event kind it receives.
EVENT_KINDS = {
    "instance.started": "case.opened", "task.created": "task.created", "task.claimed": "task.claimed",
    "task.completed": "task.completed", "stage.changed": "case.stage_changed", "instance.completed": "case.closed",
    "instance.cancelled": "case.cancelled", "message.received": "case.message_received",
}
#: Every kind a subscription may ask for (``case.escalated``: a task created in a team's lead inbox;
#: ``task.reminder``: a task's reminder timer fired).
SUBSCRIBABLE = tuple(sorted({*EVENT_KINDS.values(), "case.escalated", "task.reminder"}))
NOTIFY_KIND = "notify"
#: Events the team's leads are notified of, with the template: escalations and SLA reminders.
_TO_LEADS = {"case.escalated": "escalation", "task.reminder": "reminder"}
#: Case columns an event carries (no reporter contact, no form data: those stay inside).
_CASE_KEYS = ("scenario", "channel", "address", "compound", "device_id", "severity", "stage")
#: Detail keys an event carries; form data (``data``) never leaves with it.
_DETAIL_KEYS = ("bpmn_id", "label", "reminds", "team", "due_at", "task_id", "assignee", "stage", "previous", "name", "reason")


def record(connection, instance_id: int | None, events: list[tuple[str, dict]], notifications: list[dict],
           case: dict, now: datetime) -> None:
    """Write the outbox rows of one step (its audit events and notification requests), in its transaction."""
    rows = []
    summary = {key: case.get(key) for key in _CASE_KEYS if case.get(key) is not None}
    for kind, detail in events:
        kept = {k: v for k, v in detail.items() if k in _DETAIL_KEYS}
        if kind in EVENT_KINDS:
            rows.append(_row(instance_id, EVENT_KINDS[kind], {"case": summary, "detail": kept}, now))
        if kind == "task.created" and str(detail.get("team") or "").endswith(LEAD_SUFFIX):
            rows.append(_row(instance_id, "case.escalated", {"case": summary, "detail": kept}, now))
        if kind == "timer.fired" and detail.get("reminds"):
            rows.append(_row(instance_id, "task.reminder", {"case": summary, "detail": kept}, now))
    for request in notifications:
        rows.append(_row(instance_id, NOTIFY_KIND, {"case": summary, "request": request}, now))
    if rows:
        connection.execute(_INSERT_EVENT, rows[0] if len(rows) == 1 else rows)


def _row(instance_id, kind: str, payload: dict, now: datetime) -> dict:
    return dict(instance_id=instance_id, kind=kind, payload=json.loads(json.dumps(payload, default=str)),
                created_at=now, fanned_out=False)


@dataclass(frozen=True)
class Settings:
    """How deliveries are retried (from Config; tests shorten the backoff)."""

    backoff_s: float = defaults.DELIVERY_BACKOFF_S
    max_backoff_s: float = defaults.DELIVERY_MAX_BACKOFF_S
    max_attempts: int = defaults.DELIVERY_MAX_ATTEMPTS
    lease_s: float = defaults.DELIVERY_LEASE_S


class Outbox:
    """The outbox's verbs, handed out by the engine (``engine.outbox``)."""

    def __init__(self, store, settings: Settings | None = None):
        self.store = store
        self.settings = settings or Settings()

    # -- subscriptions (department systems) ---------------------------------------------------------------------
    def subscribe(self, department: str, url: str, event_types: list[str], secret_env: str) -> int:
        department, url, secret_env = department.strip(), url.strip(), secret_env.strip()
        unknown = sorted(set(event_types) - set(SUBSCRIBABLE) - {"*"})
        if not department or not url.startswith(("http://", "https://")) or not secret_env or unknown \
                or not event_types:
            raise FormInvalid("a subscription needs a department, an http(s) URL, event types "
                              f"(* or some of {', '.join(SUBSCRIBABLE)}) and the name of the environment "
                              "variable holding its secret", {"unknown_event_types": unknown})
        with self.store.begin() as connection:
            if connection.scalar(select(_hooks.c.id).where(_hooks.c.department == department)) is not None:
                raise Conflict(f"{department} is subscribed already")
            return connection.execute(insert(_hooks).values(
                department=department, url=url, event_types=sorted(set(event_types)), secret_env=secret_env,
                active=True, created_at=clock.now())).inserted_primary_key[0]

    def unsubscribe(self, department: str) -> None:
        """Stop sending to a department: no new deliveries, and what was still waiting for it is discarded."""
        with self.store.begin() as connection:
            subscription = connection.scalar(select(_hooks.c.id).where(_hooks.c.department == department))
            if subscription is None:
                raise NotFound(f"{department} has no subscription")
            connection.execute(update(_hooks).where(_hooks.c.id == subscription).values(active=False))
            connection.execute(update(_deliveries).where(_deliveries.c.subscription_id == subscription,
                                                         _deliveries.c.status.in_((PENDING, DEAD)))
                               .values(status=DISCARDED))

    def subscriptions(self) -> list[dict]:
        with self.store.read() as connection:
            return [dict(r) for r in connection.execute(select(_hooks).order_by(_hooks.c.department)).mappings()]

    # -- fan-out and sending --------------------------------------------------------------------------------------
    def fan_out(self, limit: int = defaults.OUTBOX_BATCH) -> int:
        """Turn new outbox events into deliveries, in event order; returns how many events were handled."""
        now = clock.now()
        with self.store.begin() as connection:
            events = connection.execute(select(_events).where(_events.c.fanned_out.is_(False))
                                        .order_by(_events.c.id).limit(limit)).mappings().all()
            if not events:
                return 0
            hooks = connection.execute(select(_hooks).where(_hooks.c.active.is_(True))
                                       .order_by(_hooks.c.id)).mappings().all()
            rows = []
            for event in events:
                if event["kind"] == NOTIFY_KIND:
                    rows += person_deliveries(connection, event, event["payload"]["request"], now)
                    continue
                if event["kind"] in _TO_LEADS:  # the team's leads hear of it on their own channels
                    detail = event["payload"]["detail"]
                    team = str(detail.get("team") or detail.get("reminds") or "").removesuffix(LEAD_SUFFIX)
                    rows += person_deliveries(connection, event, {"to": f"lead:{team}",
                                                                  "template": _TO_LEADS[event["kind"]],
                                                                  "channel": "preferred"}, now)
                for hook in hooks:
                    if "*" in hook["event_types"] or event["kind"] in hook["event_types"]:
                        rows.append(_webhook_delivery(event, hook, now))
            connection.execute(update(_events).where(_events.c.id.in_([e["id"] for e in events]))
                               .values(fanned_out=True))
            if rows:
                connection.execute(insert(_deliveries), rows)
        return len(events)

    def due(self, limit: int = defaults.OUTBOX_BATCH) -> list[int]:
        """Deliveries to attempt now: pending and due (or in flight past their lease: a sender died), and first in
        line for their case and subscriber."""
        now = clock.now()
        earlier = aliased(Delivery.__table__)
        blocked = exists().where(earlier.c.instance_id == _deliveries.c.instance_id,
                                 earlier.c.subscriber == _deliveries.c.subscriber,
                                 earlier.c.id < _deliveries.c.id, earlier.c.status.not_in(_DONE))
        with self.store.read() as connection:
            return list(connection.scalars(
                select(_deliveries.c.id).where(_deliveries.c.status.in_((PENDING, SENDING)),
                                               _deliveries.c.next_attempt_at <= now, ~blocked)
                .order_by(_deliveries.c.id).limit(limit)))

    def claim(self, delivery_id: int) -> dict | None:
        """Take a due delivery for one attempt (None when someone else has it or it is no longer due), with what its
        sender needs: the subscription for a webhook."""
        now = clock.now()
        lease = now + timedelta(seconds=self.settings.lease_s)
        with self.store.begin() as connection:
            taken = connection.execute(update(_deliveries).where(
                _deliveries.c.id == delivery_id, _deliveries.c.status.in_((PENDING, SENDING)),
                _deliveries.c.next_attempt_at <= now).values(
                status=SENDING, next_attempt_at=lease, attempts=_deliveries.c.attempts + 1)).rowcount
            if taken != 1:
                return None
            row = dict(connection.execute(select(_deliveries).where(_deliveries.c.id == delivery_id)).mappings().one())
            if row["subscription_id"] is not None:
                hook = connection.execute(select(_hooks).where(_hooks.c.id == row["subscription_id"])).mappings().one()
                row["hook"] = dict(hook)
        return row

    def sent(self, delivery_id: int) -> None:
        with self.store.begin() as connection:
            connection.execute(update(_deliveries).where(_deliveries.c.id == delivery_id, _deliveries.c.status == SENDING)
                               .values(status=SENT, sent_at=clock.now(), last_error=None))

    def failed(self, delivery_id: int, error: str) -> str:
        """Record a failed attempt: pending again after the backoff, or dead when the attempts are used up."""
        now = clock.now()
        error = error[:2000]
        with self.store.begin() as connection:
            row = connection.execute(select(_deliveries.c.attempts, _deliveries.c.instance_id, _deliveries.c.subscriber)
                                     .where(_deliveries.c.id == delivery_id)).one()
            if row.attempts >= self.settings.max_attempts:
                connection.execute(update(_deliveries).where(_deliveries.c.id == delivery_id)
                                   .values(status=DEAD, last_error=error))
                connection.execute(insert(_audit).values(
                    instance_id=row.instance_id, at=now, actor="outbox", kind="delivery.failed",
                    detail={"delivery_id": delivery_id, "subscriber": row.subscriber, "attempts": row.attempts,
                            "error": error[:300]}))
                log.warning("delivery %s to %s failed for good after %s attempts: %s", delivery_id, row.subscriber,
                            row.attempts, error)
                return DEAD
            wait = min(self.settings.backoff_s * 2 ** (row.attempts - 1), self.settings.max_backoff_s)
            connection.execute(update(_deliveries).where(_deliveries.c.id == delivery_id).values(
                status=PENDING, last_error=error, next_attempt_at=now + timedelta(seconds=wait)))
            return PENDING

    # -- incidents, retry and replay (the admin) ------------------------------------------------------------------
    def incidents(self, limit: int = 200) -> list[dict]:
        """Dead deliveries, newest first, with how many later ones of their case and subscriber wait behind them."""
        later = aliased(Delivery.__table__)
        waiting = (select(func.count()).where(later.c.instance_id == _deliveries.c.instance_id,
                                              later.c.subscriber == _deliveries.c.subscriber,
                                              later.c.id > _deliveries.c.id, later.c.status.not_in(_DONE))
                   .correlate(_deliveries).scalar_subquery())
        with self.store.read() as connection:
            return [dict(r) for r in connection.execute(
                select(*_LISTED, waiting.label("waiting")).where(_deliveries.c.status == DEAD)
                .order_by(_deliveries.c.id.desc()).limit(limit)).mappings()]

    def retry(self, delivery_id: int, actor: str) -> None:
        """Put a dead delivery back in line, with its attempts counted afresh."""
        self._resolve(delivery_id, actor, "delivery.retried", status=PENDING, attempts=0, next_attempt_at=clock.now())

    def _resolve(self, delivery_id: int, actor: str, kind: str, **values) -> None:
        with self.store.begin() as connection:
            row = connection.execute(select(_deliveries.c.instance_id, _deliveries.c.status)
                                     .where(_deliveries.c.id == delivery_id)).one_or_none()
            if row is None:
                raise NotFound(f"delivery {delivery_id} does not exist")
            if row.status != DEAD:
                raise Conflict(f"delivery {delivery_id} is {row.status}, not failed")
            connection.execute(update(_deliveries).where(_deliveries.c.id == delivery_id).values(**values))
            connection.execute(insert(_audit).values(instance_id=row.instance_id, at=clock.now(), actor=actor,
                                                     kind=kind, detail={"delivery_id": delivery_id}))

    def skip(self, delivery_id: int, actor: str) -> None:
        """Give up on a dead delivery (its receiver will never take it), so the later ones of its case go on."""
        self._resolve(delivery_id, actor, "delivery.skipped", status=DISCARDED)

    def replay(self, subscription_id: int, since: datetime, actor: str) -> int:
        """Send a department again every event delivered to it since ``since`` (it lost them), in the same order and
        with the same idempotency keys; returns how many."""
        now = clock.now()
        with self.store.begin() as connection:
            if connection.scalar(select(_hooks.c.id).where(_hooks.c.id == subscription_id)) is None:
                raise NotFound(f"subscription {subscription_id} does not exist")
            count = connection.execute(update(_deliveries).where(
                _deliveries.c.subscription_id == subscription_id, _deliveries.c.status == SENT,
                _deliveries.c.created_at >= since).values(
                status=PENDING, attempts=0, next_attempt_at=now, replays=_deliveries.c.replays + 1)).rowcount
            connection.execute(insert(_audit).values(instance_id=None, at=now, actor=actor, kind="delivery.replayed",
                                                     detail={"subscription_id": subscription_id,
                                                             "since": since.isoformat(), "count": count}))
        return count

    def sent_log(self, limit: int = 200, recipient: str | None = None, channel: str | None = None) -> list[dict]:
        """Deliveries, newest first (the admin's list of what was sent; a person's own notifications)."""
        query = select(*_LISTED).order_by(_deliveries.c.id.desc()).limit(limit)
        if recipient is not None:
            query = query.where(_deliveries.c.recipient == recipient)
        if channel is not None:
            query = query.where(_deliveries.c.channel == channel)
        with self.store.read() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]

    def contact_of(self, username: str) -> dict:
        """A person's contact details, read at send time so a correction applies to the retries."""
        with self.store.read() as connection:
            return contact_by_username(connection, username)

    def events(self, instance_id: int | None = None) -> list[dict]:
        """Outbox events in order (for tests and support)."""
        query = select(_events).order_by(_events.c.id)
        if instance_id is not None:
            query = query.where(_events.c.instance_id == instance_id)
        with self.store.read() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]


_LISTED = (_deliveries.c.id, _deliveries.c.event_id, _deliveries.c.instance_id, _deliveries.c.subscriber,
           _deliveries.c.channel, _deliveries.c.recipient, _deliveries.c.subject, _deliveries.c.body,
           _deliveries.c.status, _deliveries.c.attempts, _deliveries.c.last_error, _deliveries.c.created_at,
           _deliveries.c.sent_at, _deliveries.c.replays, _deliveries.c.idempotency_key)


def _webhook_delivery(event, hook, now) -> dict:
    key = f"{event['id']}-hook{hook['id']}"
    body = {"id": key, "event_id": event["id"], "event": event["kind"], "case_id": event["instance_id"],
            "at": event["created_at"].isoformat(), **event["payload"]}
    return dict(event_id=event["id"], instance_id=event["instance_id"], subscriber=f"hook:{hook['id']}",
                channel="webhook", subscription_id=hook["id"], recipient=None, subject=event["kind"],
                body=json.dumps(body, ensure_ascii=False, sort_keys=True), status=PENDING, attempts=0,
                next_attempt_at=now, last_error=None, idempotency_key=key, created_at=now, sent_at=None, replays=0)

