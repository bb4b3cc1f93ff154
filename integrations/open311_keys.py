"""The reporter's contact as everyone but the call-back team sees it: masked names, numbers and addresses.

Open311 clients, their keys and the requests they filed are kept by the engine (``engine.open311``; ``jingzhi open311
key create CLIENT``). The reporter's contact is kept in ``open311_request`` only; the workflow gets a masked form
(see :func:`mask_contact`), so the case page, the API, the audit trail and exports never hold it.
"""
from __future__ import annotations

import re


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
