"""The tables. This module owns the schema; Alembic migrations in engine/migrations follow it."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, false, text,
                        UniqueConstraint, func)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .deploy import sizes


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values and forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)  # SQLite keeps no zone: store every moment as UTC

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON(), list: JSON()}


def trigram_index(name: str, column) -> Index:
    """A pg_trgm GIN index, so ``LIKE``/``ILIKE '%...%'`` on ``column`` (a name or an expression) is an index scan.
    PostgreSQL only (``ddl_if``), and only where migration 0009 could create the extension; SQLite scans."""
    key = column if isinstance(column, str) else "expression"
    ops = {key: "gin_trgm_ops"}
    return Index(name, column, postgresql_using="gin", postgresql_ops=ops).ddl_if(dialect="postgresql")


def exists_on(dialect: str):
    """Alembic's ``include_object`` for ``dialect``: leaves out the indexes that exist on other backends only."""
    def include(item, name, type_, reflected, compare_to) -> bool:
        condition = getattr(item, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)
    return include


class Deployment(Base):
    """One deployed file set (BPMN, DMN, form schemas), stored whole so it can be parsed again anywhere."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # equal for a roll back's copy
    files: Mapped[dict]
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[datetime]


class ProcessDefinition(Base):
    """A version of one executable process; its spec and called processes come from its deployment."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(sizes.PROCESS_ID), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(sizes.PROCESS_NAME))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    deployed_at: Mapped[datetime]


class DesignDraft(Base):
    """A designer's unfinished edit of one process: the whole file set as it stands, not validated (a draft may be
    broken; that is why it is a draft). One per designer and process; deploying it removes it."""

    __tablename__ = "design_draft"
    __table_args__ = (UniqueConstraint("process_id", "author"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    author: Mapped[str] = mapped_column(String(120))
    base_deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    files: Mapped[dict]
    saved_at: Mapped[datetime]


#: The status of a process instance (``ProcessInstance.status``): the one home of these words in the engine.
RUNNING, COMPLETED, CANCELLED, ERROR = "running", "completed", "cancelled", "error"
#: The status of a task in an inbox (``HumanTask.status``).
TASK_READY, TASK_COMPLETED, TASK_CANCELLED = "ready", "completed", "cancelled"


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | completed | cancelled
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)  # why the last automatic step failed (status 'error')


class HumanTask(Base):
    """The inbox index: one row per user/manual task that became ready, kept after it is done."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_inbox", "status", "team", "due_at"),
        Index("ix_human_task_assignee", "status", "assignee"),
        # the indicators' tasks of a period (cases per officer per day, each team's completions): on PostgreSQL an
        # index-only scan, the officer and case carried in the index
        Index("ix_human_task_ended", "status", "ended_at", postgresql_include=["completed_by", "instance_id"]),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(sizes.ELEMENT_ID))
    label: Mapped[str | None] = mapped_column(String(sizes.ELEMENT_NAME))
    process_id: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(sizes.LANE_NAME))
    team: Mapped[str | None] = mapped_column(String(120))
    assignee: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    due_at: Mapped[datetime | None]
    form_schema: Mapped[str | None] = mapped_column(String(sizes.FORM_FILE_NAME))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(120))


#: The columns the indicators read of a period's cases, besides ``opened_at`` (ix_cases_figures carries them).
FIGURES_INCLUDED = ("urgent", "stage", "channel", "scenario", "rework_count", "resolved_at", "handling_s", "verified",
                    "late")
#: The cases that can be overdue: not closed, with a deadline (ix_cases_open_sla holds only these).
OPEN_WITH_SLA = "resolved_at IS NULL AND sla_due_at IS NOT NULL"


class Case(Base):
    """The domain view of an instance for people and indicators."""

    __tablename__ = "cases"
    #: the command centre's heat map counts cases of a period per place from this index alone (engine/map_reads.py);
    #: the case search's free text matches these three columns by ILIKE (engine/case_search.py)
    #: the indicators (engine/indicators.py) count a period's cases from ix_cases_figures alone on PostgreSQL (an
    #: index-only scan, however the period's rows lie in the table) and find its overdue cases among the open ones
    __table_args__ = (Index("ix_cases_heat", "opened_at", "scenario", "lat", "lon"),
                      trigram_index("ix_cases_address_trgm", "address"),
                      trigram_index("ix_cases_device_id_trgm", "device_id"),
                      trigram_index("ix_cases_business_key_trgm", "business_key"),
                      Index("ix_cases_figures", "opened_at", postgresql_include=list(FIGURES_INCLUDED))
                      .ddl_if(dialect="postgresql"),
                      Index("ix_cases_open_sla", "sla_due_at", postgresql_where=text(OPEN_WITH_SLA),
                            sqlite_where=text(OPEN_WITH_SLA)))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str | None] = mapped_column(String(80), index=True)
    channel: Mapped[str | None] = mapped_column(String(40))
    device_id: Mapped[str | None] = mapped_column(String(80), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    compound: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str | None] = mapped_column(String(20))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    stage_times: Mapped[dict]
    sla_due_at: Mapped[datetime | None]
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    # what the case contributes to the indicators, kept by every step (engine/case_figures.py)
    resolved_at: Mapped[datetime | None]
    handling_s: Mapped[float | None] = mapped_column(Float)
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MessageSubscription(Base):
    """An instance waiting for a message with given correlation values (found by index, never by scanning)."""

    __tablename__ = "message_subscription"
    __table_args__ = (Index("ix_message_subscription_lookup", "message_name", "correlation_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(sizes.MESSAGE_NAME))
    correlation_key: Mapped[str] = mapped_column(String(500))
    task_uuid: Mapped[str] = mapped_column(String(36))


class AuditEvent(Base):
    """Append-only history of every state change and who made it."""

    __tablename__ = "audit_event"
    #: the audit search (engine/audit_search.py): newest first, by actor, by kind, by day, and text in the detail
    __table_args__ = (Index("ix_audit_event_at", "at", "id"), Index("ix_audit_event_actor", "actor", "at"),
                      Index("ix_audit_event_kind", "kind", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict]


#: The detail as searchable text on PostgreSQL: its JSON as jsonb renders it, non-ASCII characters as themselves (the
#: stored JSON has them as \uXXXX escapes, whose trigrams every Chinese text shares). A PL/pgSQL function of migration
#: 0009, immutable, that falls back to the stored text for the one JSON jsonb refuses (a \u0000 escape), so no insert
#: can ever fail on the index.
DETAIL_TEXT_FUNCTION = "jingzhi_json_text"
trigram_index("ix_audit_event_detail_trgm",   # joins the table's indexes
              getattr(func, DETAIL_TEXT_FUNCTION)(AuditEvent.__table__.c.detail))


# -- people: teams, users, memberships, machine tokens (the web app's accounts; see engine/people.py) -----------------
class Team(Base):
    """A team of the "8+5+X" roster (seed/teams.json). Its code names lanes and inboxes in the diagrams."""

    __tablename__ = "team"
    code: Mapped[str] = mapped_column(String(120), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # in_house | partner | other
    #: Retired in the web app: takes no new tasks, offered as no choice; its history stays (engine/people.py).
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class User(Base):
    """A person who logs in (or the owner of machine tokens). ``roles``: officer, team_lead, dispatcher, designer,
    admin. The password is stored only as a salted hash."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    #: Raised by logout and password change: sessions carrying an older epoch are over (engine/people.py).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Membership(Base):
    __tablename__ = "membership"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    team_code: Mapped[str] = mapped_column(ForeignKey("team.code"), primary_key=True, index=True)


class ApiToken(Base):
    """A bearer token for a machine client, acting as its user. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


# -- sensors: device registry, accepted alerts, open alarms, dead letters (see engine/alarms/alerts.py) ----------------
class Device(Base):
    """A sensor point of the registry. ``offline_after`` is when it counts as silent (last seen + missed beats)."""

    __tablename__ = "device"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    device_type: Mapped[str] = mapped_column(String(80))
    scenario: Mapped[str] = mapped_column(String(80), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    compound: Mapped[str | None] = mapped_column(String(120), index=True)
    inside_compound: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_team: Mapped[str | None] = mapped_column(String(120), index=True)
    heartbeat_interval_s: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # unknown | online | offline
    last_seen_at: Mapped[datetime | None]
    offline_after: Mapped[datetime | None] = mapped_column(index=True)
    registered_at: Mapped[datetime]


#: The alarm the registry raises for a device gone silent, the process its case runs, and the message that clears it
#: (engine/alarms writes them; the map's reads filter on them).
MAINTENANCE_PROCESS, OFFLINE_SCENARIO, ONLINE_MESSAGE = "device_maintenance", "device_offline", "device_online"


class Alarm(Base):
    """One alarm per (device, scenario) while its case is open: repeats count here instead of opening cases.

    ``open_key`` is ``device|scenario`` while the alarm is open and NULL once closed, so a plain unique constraint
    (portable, unlike partial indexes) keeps one open alarm per key even with several ingesters.
    """

    __tablename__ = "alarm"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(80))
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open | closed | failed
    process_id: Mapped[str] = mapped_column(String(200))
    clear_message: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    severity: Mapped[str | None] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer, default=1)
    flaps: Mapped[int] = mapped_column(Integer, default=0)  # alarms again after a clear, on the same case
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    clear_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    start_data: Mapped[dict]
    start_claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """Every sensor message accepted (alarm, clear, heartbeat), idempotent on its message id."""

    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(120), unique=True)
    device_id: Mapped[str] = mapped_column(String(80), index=True)
    scenario: Mapped[str] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(20))
    reported_at: Mapped[datetime]
    #: indexed for reading a period back in the order received (engine/recorded.py: the what-if's replay)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict | None]
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)


class DeadLetter(Base):
    """Input refused by validation, kept with the reason so nothing vanishes silently."""

    __tablename__ = "dead_letter"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text)
    msg_id: Mapped[str | None] = mapped_column(String(120))
    device_id: Mapped[str | None] = mapped_column(String(80))
    raw: Mapped[str] = mapped_column(Text)


# -- Open311 intake: client systems and the requests they filed (see integrations/open311*.py) ------------------------
class Open311Client(Base):
    """A system allowed to file Open311 requests (the 12345 platform, a resident mini-program). ``channel`` is the
    case channel its requests open (hotline | resident). Only the SHA-256 of its api_key is stored."""

    __tablename__ = "open311_client"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Open311Request(Base):
    """One service request as filed: its number is the Open311 ``service_request_id``. The reporter's contact lives
    here only, never in the workflow's data (which carries a masked form), so audit and exports cannot leak it."""

    __tablename__ = "open311_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("open311_client.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(80), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(index=True)
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    media_url: Mapped[str | None] = mapped_column(String(1000))
    attributes: Mapped[dict]
    contact: Mapped[dict]  # first_name, last_name, phone, email as given (call-back team only)


# -- outbox: case events and notification requests written in the step's transaction, and their deliveries -----------
# (engine/outbox.py owns them; integrations/delivery.py sends; see docs/notifications.md)
class OutboxEvent(Base):
    """Something a step did that the outside hears about: a case event for department systems, or a notification
    request of a diagram. Written in the step's own transaction; ``fanned_out`` once its deliveries exist."""

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_pending", "fanned_out", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict]
    created_at: Mapped[datetime]
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookSubscription(Base):
    """A department system that receives case events. Its HMAC secret is not stored: ``secret_env`` names the
    environment variable holding it (read by whoever sends), so the database, exports and logs never hold it."""

    __tablename__ = "webhook_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(120), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    event_types: Mapped[list]  # event kinds, or ["*"]
    secret_env: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Delivery(Base):
    """One event to one subscriber (a webhook, or a person on a channel). Sent in order per (case, subscriber):
    a delivery waits while an earlier one of its case and subscriber is not yet sent. ``status``: pending | sending |
    sent | dead (retries used up: an incident for /admin/failed) | discarded (skipped by an admin, or its department
    unsubscribed)."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),
                      Index("ix_delivery_order", "instance_id", "subscriber", "id"),
                      Index("ix_delivery_recipient", "recipient", "channel", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    subscriber: Mapped[str] = mapped_column(String(200))  # "hook:3", "email:wang", "inbox:wang", ...
    channel: Mapped[str] = mapped_column(String(20))      # webhook | email | wecom | dingtalk | sms | inbox
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscription.id"), index=True)
    recipient: Mapped[str | None] = mapped_column(String(120))  # user name for a person's channels
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent to a webhook; the rendered text for a person
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    replays: Mapped[int] = mapped_column(Integer, default=0)


class NotificationTemplate(Base):
    """An admin's version of a notification text (the built-in ones are in engine/notify.py). ``{name}`` fields are
    filled from the case and task."""

    __tablename__ = "notification_template"
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    subject_zh: Mapped[str] = mapped_column(String(300))
    body_zh: Mapped[str] = mapped_column(Text)
    subject_en: Mapped[str] = mapped_column(String(300))
    body_en: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]


class ContactDetails(Base):
    """A person's own contact details and the channels they want notifications on, in order of preference."""

    __tablename__ = "contact_details"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    wecom_id: Mapped[str | None] = mapped_column(String(120))
    dingtalk_id: Mapped[str | None] = mapped_column(String(120))
    channels: Mapped[list]
    language: Mapped[str] = mapped_column(String(8), default="zh")


# -- Video analytics intake (integrations/video.py) -----------------------------------------------------------------
class VideoEvent(Base):
    """An event a video-analytics system posted, by its own event id: a repeat of the id is a no-op answering the
    case the first one opened."""

    __tablename__ = "video_event"
    event_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(80), index=True)
    event_type: Mapped[str] = mapped_column(String(80))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]


# -- the designer's what-if runs (engine/whatif_runs.py; simulation/jobs.py runs them) ------------------------------
class WhatifRun(Base):
    """A what-if a designer asked for: the same period through the setup in force (A) and a proposed one (B).
    ``setup`` is what was asked (B's process version, draft, routing table or staffing plan; the period; seeds),
    ``files`` B's own files when they were a draft (as it stood when the run was asked for), ``progress`` how far a
    running one is, ``result`` the comparison (simulation.whatif.compare), ``error`` why a failed one failed."""

    __tablename__ = "whatif_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(120), index=True)
    requested_at: Mapped[datetime] = mapped_column(index=True)
    process_id: Mapped[str | None] = mapped_column(String(200), index=True)
    setup: Mapped[dict]
    files: Mapped[dict | None]
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed
    progress: Mapped[dict]
    result: Mapped[dict | None]
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
