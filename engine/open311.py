"""Open311 client systems, their api keys and the requests they filed: ``engine.open311`` (the tables
``open311_client`` and ``open311_request``).

The GeoReport v2 routes (``integrations.open311``) and the contact page call these; the masking of the reporter's
contact, which is about what people may see, stays with them (``integrations.open311_keys``). A key is shown once
and stored only as its SHA-256, like the API's bearer tokens. Each client is configured with the channel its
requests open: ``hotline`` for the 12345 platform, ``resident`` for a resident app.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import insert, select, update

from .models import TASK_READY
from . import clock
from .exceptions import FormInvalid, NotFound
from .models import Case, HumanTask, Open311Client, Open311Request
from .store import Store

#: The case channels an Open311 client may open.
CHANNELS = ("hotline", "resident")
_clients, _requests = Open311Client.__table__, Open311Request.__table__


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Open311:
    def __init__(self, store: Store):
        self._store = store

    # -- clients and keys -----------------------------------------------------------------------------------------
    def create_key(self, client: str, channel: str = "hotline") -> str:
        """A new api key for ``client`` (a client may hold several, e.g. while rotating). Returns the key itself."""
        client = (client or "").strip()
        if not client or len(client) > 120:
            raise FormInvalid("the client needs a name of 1 to 120 characters", {"client": client})
        if channel not in CHANNELS:
            raise FormInvalid(f"the channel is one of {', '.join(CHANNELS)}", {"channel": channel})
        key = secrets.token_urlsafe(32)
        with self._store.begin() as connection:
            connection.execute(insert(_clients).values(name=client, channel=channel, key_hash=_hash(key),
                                                       created_at=clock.now(), revoked=False))
        return key

    def revoke(self, client: str) -> int:
        """Revoke every key of ``client``. Returns how many were revoked."""
        with self._store.begin() as connection:
            result = connection.execute(update(_clients).where(_clients.c.name == client,
                                                               _clients.c.revoked.is_(False)).values(revoked=True))
        if not result.rowcount:
            raise NotFound(f"no active key for client {client!r}")
        return result.rowcount

    def client_for_key(self, key: str | None) -> dict | None:
        """The client holding ``key``, or None when it is missing, unknown or revoked."""
        if not key:
            return None
        with self._store.read() as connection:
            row = connection.execute(select(_clients).where(_clients.c.key_hash == _hash(key),
                                                            _clients.c.revoked.is_(False))).mappings().one_or_none()
        return dict(row) if row else None

    def client(self, client_id: int) -> dict:
        """A client's name and channel (never its key)."""
        with self._store.read() as connection:
            row = connection.execute(select(_clients.c.name, _clients.c.channel).where(_clients.c.id == client_id)
                                     ).mappings().one()
        return dict(row)

    # -- requests -------------------------------------------------------------------------------------------------
    def record_request(self, client_id: int, values: dict) -> int:
        """Keep a request before its case starts, so a failed start loses nothing. Returns its service_request_id."""
        with self._store.begin() as connection:
            return connection.execute(insert(_requests).values(client_id=client_id, requested_at=clock.now(),
                                                               **values).returning(_requests.c.id)).scalar_one()

    def link_instance(self, request_id: int, instance_id: int) -> None:
        with self._store.begin() as connection:
            connection.execute(update(_requests).where(_requests.c.id == request_id).values(instance_id=instance_id))

    def requests(self, ids: list[int] | None = None, service_codes: list[str] | None = None, start=None, end=None,
                 limit: int = 1000) -> list[dict]:
        """Requests newest first, filtered as Open311's GET requests asks (status is filtered by the caller)."""
        query = select(_requests)
        if ids is not None:
            query = query.where(_requests.c.id.in_(ids))
        else:
            if service_codes:
                query = query.where(_requests.c.service_code.in_(service_codes))
            if start is not None:
                query = query.where(_requests.c.requested_at >= start)
            if end is not None:
                query = query.where(_requests.c.requested_at <= end)
        query = query.order_by(_requests.c.requested_at.desc(), _requests.c.id.desc()).limit(limit)
        with self._store.read() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]

    def request_for_instance(self, instance_id: int) -> dict | None:
        with self._store.read() as connection:
            row = connection.execute(select(_requests).where(_requests.c.instance_id == instance_id)
                                     ).mappings().first()
        return dict(row) if row else None

    # -- the cases behind requests ----------------------------------------------------------------------------------
    def cases_of(self, instance_ids: list[int]) -> tuple[dict[int, dict], dict[int, list[str]]]:
        """Case rows, and the teams holding each case's ready tasks (or the last team that held one), by instance."""
        if not instance_ids:
            return {}, {}
        with self._store.read() as connection:
            cases = {r["instance_id"]: dict(r) for r in connection.execute(
                select(Case.__table__).where(Case.instance_id.in_(instance_ids))).mappings()}
            holding: dict[int, list[str]] = {}
            last: dict[int, str] = {}
            for instance_id, team, status in connection.execute(
                    select(HumanTask.instance_id, HumanTask.team, HumanTask.status)
                    .where(HumanTask.instance_id.in_(instance_ids)).order_by(HumanTask.id)):
                if not team:
                    continue
                last[instance_id] = team
                if status == TASK_READY and team not in holding.setdefault(instance_id, []):
                    holding[instance_id].append(team)
        return cases, {i: holding.get(i) or ([last[i]] if i in last else []) for i in instance_ids}

    def task_holders(self, instance_id: int, bpmn_id: str) -> list[tuple[str | None, str | None, str | None]]:
        """(team, assignee, completed_by) of every task ``bpmn_id`` of the case (who may see the reporter)."""
        with self._store.read() as connection:
            return [tuple(row) for row in connection.execute(
                select(HumanTask.team, HumanTask.assignee, HumanTask.completed_by).where(
                    HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id))]
