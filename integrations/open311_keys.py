"""Open311 client systems and their api keys, and the requests they filed.

A key is shown once (``jingzhi open311 key create CLIENT``) and stored only as its SHA-256, like the API's bearer
tokens. Each client is configured with the channel its requests open: ``hotline`` for the 12345 platform,
``resident`` for a resident app. The reporter's contact is kept in ``open311_request`` only; the workflow gets a
masked form (see :func:`mask_contact`), so the case page, the API, the audit trail and exports never hold it.
"""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import insert, select, update

from engine import clock
from engine.exceptions import FormInvalid, NotFound
from engine.models import Open311Client, Open311Request

CHANNELS = ("hotline", "resident")
_clients, _requests = Open311Client.__table__, Open311Request.__table__


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store, client: str, channel: str = "hotline") -> str:
    """A new api key for ``client`` (a client may hold several, e.g. while rotating). Returns the key itself."""
    client = (client or "").strip()
    if not client or len(client) > 120:
        raise FormInvalid("the client needs a name of 1 to 120 characters", {"client": client})
    if channel not in CHANNELS:
        raise FormInvalid(f"the channel is one of {', '.join(CHANNELS)}", {"channel": channel})
    key = secrets.token_urlsafe(32)
    with store.begin() as connection:
        connection.execute(insert(_clients).values(name=client, channel=channel, key_hash=_hash(key),
                                                   created_at=clock.now(), revoked=False))
    return key


def revoke(store, client: str) -> int:
    """Revoke every key of ``client``. Returns how many were revoked."""
    with store.begin() as connection:
        result = connection.execute(update(_clients).where(_clients.c.name == client, _clients.c.revoked.is_(False))
                                    .values(revoked=True))
    if not result.rowcount:
        raise NotFound(f"no active key for client {client!r}")
    return result.rowcount


def client_for_key(store, key: str | None) -> dict | None:
    """The client holding ``key``, or None when it is missing, unknown or revoked."""
    if not key:
        return None
    with store.read() as connection:
        row = connection.execute(select(_clients).where(_clients.c.key_hash == _hash(key),
                                                        _clients.c.revoked.is_(False))).mappings().one_or_none()
    return dict(row) if row else None


def client(store, client_id: int) -> dict:
    """A client's name and channel (never its key)."""
    with store.read() as connection:
        row = connection.execute(select(_clients.c.name, _clients.c.channel).where(_clients.c.id == client_id)
                                 ).mappings().one()
    return dict(row)


# -- requests ------------------------------------------------------------------------------------------------------
def record_request(store, client_id: int, values: dict) -> int:
    """Keep a request before its case starts, so a failed start loses nothing. Returns its service_request_id."""
    with store.begin() as connection:
        return connection.execute(insert(_requests).values(client_id=client_id, requested_at=clock.now(), **values)
                                  .returning(_requests.c.id)).scalar_one()


def link_instance(store, request_id: int, instance_id: int) -> None:
    with store.begin() as connection:
        connection.execute(update(_requests).where(_requests.c.id == request_id).values(instance_id=instance_id))


def requests(store, ids: list[int] | None = None, service_codes: list[str] | None = None, start=None, end=None,
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
    with store.read() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def request_for_instance(store, instance_id: int) -> dict | None:
    with store.read() as connection:
        row = connection.execute(select(_requests).where(_requests.c.instance_id == instance_id)).mappings().first()
    return dict(row) if row else None


# -- masking -------------------------------------------------------------------------------------------------------
def mask_phone(phone: str | None) -> str | None:
    """13812345678 -> 138****5678; short numbers keep only their last two digits."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None if not email else "***"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(first: str | None, last: str | None) -> str | None:
    """A Chinese name keeps its family name (张**); a Western one its first letter."""
    first, last = (first or "").strip(), (last or "").strip()
    if _is_cjk(last or first):
        name = last + first   # family name first
    else:
        name = " ".join(p for p in (first, last) if p)
    if not name:
        return None
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)


def _is_cjk(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= c <= "\u9fff" for c in text)


#: Telephone numbers inside free text (a mobile's 11 digits, a landline with its area code) and e-mail addresses;
#: dates (2026-01-05) and times are left alone.
_PHONE_IN_TEXT = re.compile(r"\+?\d{7,}|\d{3,4}[ -]\d{7,8}|\d{3}[ -]\d{4}[ -]\d{4}")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_text(text: str) -> str:
    """Free text (a note an officer typed) with every telephone number and e-mail address in it masked."""
    text = _EMAIL_IN_TEXT.sub(lambda found: mask_email(found.group()) or "***", text)
    return _PHONE_IN_TEXT.sub(lambda found: mask_phone(found.group()) or "***", text)


def mask_values(value):
    """``value`` (JSON data: an audit event's detail) with every string in it masked by :func:`mask_text`."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_values(item) for item in value]
    return value


def mask_contact(contact: dict) -> str | None:
    """The reporter as anyone but the call-back team sees them, e.g. "张** · 138****5678"."""
    parts = [mask_name(contact.get("first_name"), contact.get("last_name")), mask_phone(contact.get("phone")),
             mask_email(contact.get("email"))]
    parts = [p for p in parts if p]
    return " · ".join(parts) or None
