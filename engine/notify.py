"""Notifications to people: who a request names, on which channels, with which text; templates and contact details.

A request (from a diagram's ``notify`` service task, see engine.operators, or the escalation rule in
engine.outbox) names ``team:CODE``, ``lead:CODE``, ``user:NAME`` or ``role:ROLE``, a template and a channel. Each
person named gets one delivery per channel: the channel asked for, or with ``preferred`` the channels the person chose
on their contact page (those they gave details for), and always the web inbox, so nothing is only in an e-mail.
The text is rendered here, when the deliveries are made, in the person's language, and stored with the delivery: the
list of what was sent shows exactly what went out.

Templates are data: built-in ones below, overridden by an admin's version (``notification_template``). ``{name}``
fields are filled from the case and the task; an unknown field stays as written.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, insert, select

from . import clock
from .exceptions import FormInvalid, NotFound
from .models import ContactDetails, Membership, NotificationTemplate, Team, User
from .operators import CHANNELS, check_target
from .people import LEAD_SUFFIX

_users, _members, _teams = User.__table__, Membership.__table__, Team.__table__
_contacts, _templates = ContactDetails.__table__, NotificationTemplate.__table__
PENDING, SENT = "pending", "sent"
#: channel -> the contact field it needs (the inbox needs none)
CONTACT_FIELD = {"email": "email", "wecom": "wecom_id", "dingtalk": "dingtalk_id", "sms": "phone"}
LANGUAGES = ("zh", "en")

BUILT_IN = {
    "escalation": {
        "subject_zh": "【督办】案件 #{case_id} {task}", "subject_en": "[Escalated] case #{case_id}: {task}",
        "body_zh": "案件 #{case_id}（{address}）已超时，已升级至 {team} 督办：{task}。请及时处理。",
        "body_en": "Case #{case_id} ({address}) is overdue and was escalated to {team}: {task}. "
                   "Please act on it."},
    "reminder": {
        "subject_zh": "【提醒】案件 #{case_id} {task} 即将超时", "subject_en": "[Reminder] case #{case_id}: {task} is nearly due",
        "body_zh": "案件 #{case_id}（{address}）的任务“{task}”（{team}）即将超时，请督促尽快处理。",
        "body_en": "The task \"{task}\" ({team}) of case #{case_id} ({address}) is nearly due. Please see that it is done."},
    "task_created": {
        "subject_zh": "【新任务】案件 #{case_id}", "subject_en": "[New task] case #{case_id}",
        "body_zh": "案件 #{case_id}（{address}）有新任务待处理。",
        "body_en": "Case #{case_id} ({address}) has a new task for you."},
    "case_closed": {
        "subject_zh": "【结案】案件 #{case_id}", "subject_en": "[Closed] case #{case_id}",
        "body_zh": "案件 #{case_id}（{address}）已结案。",
        "body_en": "Case #{case_id} ({address}) is closed."},
}
_FIELD = re.compile(r"\{(\w+)\}")
TEMPLATE_CODE = re.compile(r"[a-z0-9_]{1,80}")


def render(text: str, fields: dict) -> str:
    """``{name}`` replaced by the field's value; nothing else is interpreted (no attribute access, no format spec)."""
    return _FIELD.sub(lambda m: str(fields[m.group(1)]) if fields.get(m.group(1)) is not None else m.group(0), text)


def _fields(event, request: dict) -> dict:
    payload = event["payload"]
    detail = payload.get("detail") or {}
    return {"case_id": event["instance_id"], "event": event["kind"], **(payload.get("case") or {}),
            "task": detail.get("label") or detail.get("bpmn_id"), "team": detail.get("team") or detail.get("reminds"),
            "due_at": detail.get("due_at"),
            "template": request.get("template"), **{k: v for k, v in detail.items() if isinstance(v, (str, int))}}


def recipients(connection, target: str) -> list[dict]:
    """The active people a ``kind:name`` target names, with their contact details (empty when nobody)."""
    if check_target(target):
        return []
    kind, _, name = target.partition(":")
    query = select(_users.c.id, _users.c.username, _users.c.roles).where(_users.c.active.is_(True))
    if kind in ("team", "lead"):
        query = query.join(_members, _members.c.user_id == _users.c.id).where(_members.c.team_code == name)
    elif kind == "user":
        query = query.where(_users.c.username == name)
    people = [dict(r) for r in connection.execute(query.order_by(_users.c.username)).mappings()]
    if kind == "lead":
        people = [p for p in people if "team_lead" in (p["roles"] or [])]
    elif kind == "role":
        people = [p for p in people if name in (p["roles"] or [])]
    details = {r["user_id"]: dict(r) for r in connection.execute(select(_contacts).where(
        _contacts.c.user_id.in_([p["id"] for p in people]))).mappings()} if people else {}
    for person in people:
        person["contact"] = details.get(person["id"]) or {"channels": [], "language": "zh"}
    return people


def channels_for(person: dict, asked: str) -> list[str]:
    """The channels one person gets a request on: always the inbox, plus the asked or preferred ones they can get."""
    contact = person["contact"]
    wanted = list(contact.get("channels") or []) if asked == "preferred" else [asked]
    usable = [c for c in wanted if c in CONTACT_FIELD and contact.get(CONTACT_FIELD[c])]
    return [*dict.fromkeys(usable), "inbox"]


def person_deliveries(connection, event, request: dict, now: datetime) -> list[dict]:
    """The delivery rows of one notification request (called by the outbox fan-out, in its transaction)."""
    rows = []
    fields = _fields(event, request)
    team_names = _team_names(connection, fields.get("team"))
    template = template_text(connection, request["template"])
    for person in recipients(connection, request["to"]):
        language = person["contact"].get("language") or "zh"
        named = {**fields, "team": team_names.get(language, fields.get("team"))}
        subject = render(template[f"subject_{language}"], named)
        body = render(template[f"body_{language}"], named)
        for channel in channels_for(person, request["channel"]):
            subscriber = f"{channel}:{person['username']}"
            rows.append(dict(
                event_id=event["id"], instance_id=event["instance_id"], subscriber=subscriber, channel=channel,
                subscription_id=None, recipient=person["username"], subject=subject[:300], body=body,
                status=SENT if channel == "inbox" else PENDING, attempts=0, next_attempt_at=now, last_error=None,
                idempotency_key=f"{event['id']}-{subscriber}"[:120], created_at=now,
                sent_at=now if channel == "inbox" else None, replays=0))
    return rows


def _team_names(connection, inbox: str | None) -> dict:
    """A team inbox's name per language: the roster's name, with the lead inbox named as such."""
    if not inbox:
        return {}
    code = inbox.removesuffix(LEAD_SUFFIX)
    row = connection.execute(select(_teams.c.name_zh, _teams.c.name_en).where(_teams.c.code == code)).first()
    if row is None:
        return {}
    lead = inbox.endswith(LEAD_SUFFIX)
    return {"zh": row.name_zh + ("负责人" if lead else ""), "en": row.name_en + (" lead" if lead else "")}


# -- templates ------------------------------------------------------------------------------------------------------
def template_text(connection, code: str) -> dict:
    """A template's texts: the admin's version, else the built-in one, else a plain fallback naming the code."""
    row = connection.execute(select(_templates).where(_templates.c.code == code)).mappings().one_or_none()
    if row is not None:
        return dict(row)
    return BUILT_IN.get(code) or {"subject_zh": f"案件 #{{case_id}}：{code}", "body_zh": f"案件 #{{case_id}}：{code}",
                                  "subject_en": f"Case #{{case_id}}: {code}", "body_en": f"Case #{{case_id}}: {code}"}


def templates(connection) -> list[dict]:
    """Every template, built-in ones with the admin's version where there is one."""
    stored = {r["code"]: dict(r) for r in connection.execute(select(_templates)).mappings()}
    codes = sorted({*BUILT_IN, *stored})
    return [{"code": c, "built_in": c in BUILT_IN, "edited": c in stored, **(stored.get(c) or BUILT_IN[c])}
            for c in codes]


def save_template(store, code: str, texts: dict, actor: str) -> None:
    code = (code or "").strip()
    if not TEMPLATE_CODE.fullmatch(code):
        raise FormInvalid("a template code is 1-80 lower-case letters, digits or _", {"code": "invalid"})
    values = {}
    for key in ("subject_zh", "body_zh", "subject_en", "body_en"):
        value = (texts.get(key) or "").replace("\x00", "").strip()
        limit = 300 if key.startswith("subject") else 4000
        if not value or len(value) > limit:
            raise FormInvalid(f"{key} is required (at most {limit} characters)", {key: "required"})
        values[key] = value
    with store.begin() as connection:
        connection.execute(delete(_templates).where(_templates.c.code == code))
        connection.execute(insert(_templates).values(code=code, updated_by=actor, updated_at=clock.now(), **values))


# -- contact details ------------------------------------------------------------------------------------------------
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,20}$")
_IDENT = re.compile(r"^[\w.@-]{1,120}$")


def contacts(connection) -> list[dict]:
    """Everyone's contact details with their user name (for admins)."""
    return [dict(r) for r in connection.execute(
        select(_users.c.username, _users.c.display_name, _contacts).join(_users, _users.c.id == _contacts.c.user_id)
        .order_by(_users.c.username)).mappings()]


def contact(store, user_id: int) -> dict:
    with store.read() as connection:
        row = connection.execute(select(_contacts).where(_contacts.c.user_id == user_id)).mappings().one_or_none()
        if row is None and connection.scalar(select(_users.c.id).where(_users.c.id == user_id)) is None:
            raise NotFound(f"user {user_id} does not exist")
    return dict(row) if row else {"user_id": user_id, "phone": None, "email": None, "wecom_id": None,
                                  "dingtalk_id": None, "channels": [], "language": "zh"}


def contact_by_username(connection, username: str) -> dict:
    row = connection.execute(select(_contacts).join(_users, _users.c.id == _contacts.c.user_id)
                             .where(_users.c.username == username)).mappings().one_or_none()
    return dict(row) if row else {}


def save_contact(store, user_id: int, values: dict) -> dict:
    """Check and store a person's contact details and channel choice; refuses a channel without its detail."""
    clean, problems = {}, {}
    for key, pattern, longest in (("phone", _PHONE, 40), ("email", _EMAIL, 200), ("wecom_id", _IDENT, 120),
                                  ("dingtalk_id", _IDENT, 120)):
        value = (values.get(key) or "").strip()
        if value and (len(value) > longest or not pattern.match(value) or not value.isprintable()):
            problems[key] = "invalid"
        clean[key] = value or None
    channels = [c for c in dict.fromkeys(values.get("channels") or []) if c]
    unknown = [c for c in channels if c not in CHANNELS or c == "inbox"]
    if unknown:
        problems["channels"] = f"unknown: {', '.join(unknown)}"
    for channel in channels:
        if channel in CONTACT_FIELD and not clean.get(CONTACT_FIELD[channel]) and CONTACT_FIELD[channel] not in problems:
            problems[CONTACT_FIELD[channel]] = f"needed for {channel}"
    language = values.get("language") or "zh"
    if language not in LANGUAGES:
        problems["language"] = "zh or en"
    if problems:
        raise FormInvalid("some contact details are not valid", problems)
    with store.begin() as connection:
        if connection.scalar(select(_users.c.id).where(_users.c.id == user_id)) is None:
            raise NotFound(f"user {user_id} does not exist")
        connection.execute(delete(_contacts).where(_contacts.c.user_id == user_id))
        connection.execute(insert(_contacts).values(user_id=user_id, channels=channels, language=language, **clean))
    return contact(store, user_id)
