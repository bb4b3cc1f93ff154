"""Video analytics events by their own event id: ``engine.video`` (the table ``video_event``).

``POST /api/v1/video/events`` (``integrations.video``) keeps each event before its case starts: a repeated id is a
no-op answering the first one's case, and an event whose case could not start is forgotten so that posting it again
starts it.
"""
from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import clock
from .models import VideoEvent
from .store import Store

_events = VideoEvent.__table__


class VideoEvents:
    def __init__(self, store: Store):
        self._store = store

    def known(self, event_id: str) -> dict | None:
        """The event stored under ``event_id`` (with the case it opened), or None."""
        with self._store.read() as connection:
            row = connection.execute(select(_events).where(_events.c.event_id == event_id)).mappings().first()
        return dict(row) if row else None

    def record(self, event: dict) -> bool:
        """Keep a new event (event_id, camera_id, event_type, occurred_at); False when its id is taken already
        (the same event posted twice at once: the other request opens the case)."""
        try:
            with self._store.begin() as connection:
                connection.execute(insert(_events).values(**event, received_at=clock.now()))
        except IntegrityError:
            return False
        return True

    def link(self, event_id: str, instance_id: int) -> None:
        with self._store.begin() as connection:
            connection.execute(update(_events).where(_events.c.event_id == event_id).values(instance_id=instance_id))

    def forget(self, event_id: str) -> None:
        """Drop an event whose case did not start, so that posting it again starts it."""
        with self._store.begin() as connection:
            connection.execute(delete(_events).where(_events.c.event_id == event_id))
