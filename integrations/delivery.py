"""Sending the outbox: the ticker's periodic sweep fans new events out and attempts the due deliveries, each one as
a job (RQ when ``REDIS_URL`` is set, in the ticker's own process otherwise).

Why the ticker: it is already the one owner of periodic work in every install (the embedded demo included), so
deliveries need no extra process and no second scheduler; the sweep itself is two indexed queries, and the sending,
which may wait on a slow department system, goes to RQ workers whenever there are any. The engine does not import
this module: ``jingzhi ticker`` (and the demo) hand :func:`sweep` to the ticker (engine.ticker ``periodic``).
"""
from __future__ import annotations

import logging

from engine import DEAD, Channels, Engine, Jobs, current_engine

from . import channels as send

log = logging.getLogger(__name__)


def attempt(engine: Engine, delivery_id: int, settings: Channels | None = None) -> str | None:
    """One attempt at one delivery: returns its new status, or None when it was not ours to send (taken, not due)."""
    settings = settings or engine.config.channels
    delivery = engine.outbox.claim(delivery_id)
    if delivery is None:
        return None
    try:
        if delivery["channel"] == "webhook":
            send.webhook(delivery)
        else:
            contact = engine.outbox.contact_of(delivery["recipient"] or "")
            field = {"email": "email", "wecom": "wecom_id", "dingtalk": "dingtalk_id", "sms": "phone"}.get(
                delivery["channel"])
            if field is None:
                raise send.SendFailed(f"unknown channel {delivery['channel']!r}")
            if not contact.get(field):
                raise send.SendFailed(f"{delivery['recipient']} has no {field} any more")
            send.PERSON_CHANNELS[delivery["channel"]](delivery, contact, settings)
    except send.SendFailed as failed:
        status = engine.outbox.failed(delivery_id, str(failed))
        (log.warning if status == DEAD else log.info)("delivery %s (%s) failed: %s", delivery_id,
                                                      delivery["subscriber"], failed)
        return status
    except Exception as err:  # a bug in a channel must not leave the delivery in flight until its lease ends
        engine.outbox.failed(delivery_id, f"{err.__class__.__name__}")
        log.exception("delivery %s failed unexpectedly", delivery_id)
        return None
    engine.outbox.sent(delivery_id)
    log.info("sent delivery %s to %s: %s", delivery_id, delivery["subscriber"], delivery["subject"] or "")
    return "sent"


def deliver_job(delivery_id: int) -> str | None:
    """The RQ job: one attempt with the worker's engine and the channel settings of its environment."""
    return attempt(current_engine(), delivery_id)


def sweep(jobs: Jobs, rounds: int = 20, settings: Channels | None = None) -> dict:
    """Fan out new outbox events, then attempt every due delivery (queued, or here); returns counts.

    Only the first unsent delivery of a case and subscriber is due at a time. Here, a round that sent something
    looks again (up to ``rounds``), so a case's events go out in one sweep; queued, the next ones go at the next look.
    """
    engine = jobs.engine
    counts = {"fanned_out": engine.outbox.fan_out(), "attempted": 0, "sent": 0}
    for _ in range(rounds):
        due = engine.outbox.due()
        for delivery_id in due:
            counts["attempted"] += 1
            if jobs.queue is None:
                counts["sent"] += attempt(engine, delivery_id, settings) == "sent"
            else:
                jobs.call(deliver_job, delivery_id, job_id=f"deliver-{delivery_id}")
        if jobs.queue is not None or not counts["sent"] or not due:
            break
    if counts["fanned_out"] or counts["attempted"]:
        log.info("outbox: %(fanned_out)s event(s) fanned out, %(attempted)s delivery attempt(s), %(sent)s sent",
                 counts)
    return counts
