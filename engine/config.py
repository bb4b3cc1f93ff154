"""The one configuration object, read from the environment once and passed to everything."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import defaults

_PACKAGE = Path(__file__).resolve().parent


def packaged(*parts: str) -> Path:
    """A data file shipped with Jingzhi: ``seed/`` and ``bpmn/`` of the checkout, which the wheel carries inside this
    package as ``engine/data/seed`` and ``engine/data/bpmn`` (pyproject.toml). The installed copy wins when both exist."""
    installed = _PACKAGE / "data" / Path(*parts)
    return installed if installed.exists() else _PACKAGE.parent / Path(*parts)


@dataclass(frozen=True)
class Channels:
    """Where notifications go out (integrations/channels.py). Every secret here comes from the environment only and
    is left out of ``repr`` (a Config in a log line or a traceback shows none of them)."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "jingzhi@localhost"
    smtp_starttls: bool = False
    #: group-robot webhooks (their URLs carry the robot's access token, so they are secrets too)
    wecom_webhook_url: str | None = field(default=None, repr=False)
    dingtalk_webhook_url: str | None = field(default=None, repr=False)
    dingtalk_secret: str | None = field(default=None, repr=False)
    #: an SMS gateway over HTTP: POST to the URL with the body template filled ({phone}, {text} as JSON strings)
    sms_url: str | None = field(default=None, repr=False)
    sms_body: str = '{"to": {phone}, "text": {text}}'
    sms_authorization: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env) -> "Channels":
        return cls(
            smtp_host=env.get("JINGZHI_SMTP_HOST") or None, smtp_port=int(env.get("JINGZHI_SMTP_PORT") or 25),
            smtp_user=env.get("JINGZHI_SMTP_USER") or None, smtp_password=env.get("JINGZHI_SMTP_PASSWORD") or None,
            smtp_from=env.get("JINGZHI_SMTP_FROM") or cls.smtp_from,
            smtp_starttls=(env.get("JINGZHI_SMTP_STARTTLS") or "").lower() in ("1", "true", "yes"),
            wecom_webhook_url=env.get("JINGZHI_WECOM_WEBHOOK_URL") or None,
            dingtalk_webhook_url=env.get("JINGZHI_DINGTALK_WEBHOOK_URL") or None,
            dingtalk_secret=env.get("JINGZHI_DINGTALK_SECRET") or None,
            sms_url=env.get("JINGZHI_SMS_URL") or None, sms_body=env.get("JINGZHI_SMS_BODY") or cls.sms_body,
            sms_authorization=env.get("JINGZHI_SMS_AUTHORIZATION") or None)


@dataclass(frozen=True)
class Config:
    """Settings that differ between machines. Secrets and URLs come from the environment only."""

    database_url: str = f"sqlite:///{defaults.SQLITE_FILE}"
    redis_url: str | None = None
    mqtt_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    script_time_limit_s: float = defaults.SCRIPT_TIME_LIMIT_S
    script_memory_limit_mb: int = defaults.SCRIPT_MEMORY_LIMIT_MB
    tick_interval_s: float = defaults.TICK_INTERVAL_S
    #: Workflows kept in memory after their save (0: every step deserializes from the database).
    hot_instances: int = defaults.HOT_INSTANCES
    #: the team roster ``jingzhi teams load`` and ``setup`` read and the web app names teams and scenarios from
    roster_file: str = field(default_factory=lambda: str(packaged("seed", "teams.json")))
    #: the district's diagrams, forms and tables ``jingzhi deploy``, ``setup`` and the demo deploy by default
    bpmn_dir: str = field(default_factory=lambda: str(packaged("bpmn")))
    #: metres per scenario within which a report is offered as the same problem as an open case, such as
    #: ``fire_lane=30,default=100`` over engine.same_problem.DEFAULT_METRES
    same_problem_metres: str = ""
    extra: dict = field(default_factory=dict)
    #: first retry wait of a failed delivery (doubling after each further failure) and attempts before it is dead
    delivery_backoff_s: float = defaults.DELIVERY_BACKOFF_S
    delivery_max_attempts: int = defaults.DELIVERY_MAX_ATTEMPTS
    channels: Channels = field(default_factory=Channels)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            database_url=env.get("DATABASE_URL") or cls.database_url,
            redis_url=env.get("REDIS_URL") or None,
            mqtt_url=env.get("MQTT_URL") or None,
            secret_key=env.get("JINGZHI_SECRET_KEY") or None,
            script_time_limit_s=float(env.get("JINGZHI_SCRIPT_TIME_LIMIT_S", defaults.SCRIPT_TIME_LIMIT_S)),
            script_memory_limit_mb=int(env.get("JINGZHI_SCRIPT_MEMORY_LIMIT_MB", defaults.SCRIPT_MEMORY_LIMIT_MB)),
            tick_interval_s=float(env.get("JINGZHI_TICK_INTERVAL_S", defaults.TICK_INTERVAL_S)),
            hot_instances=int(env.get("JINGZHI_HOT_INSTANCES", defaults.HOT_INSTANCES)),
            roster_file=env.get("JINGZHI_ROSTER_FILE") or str(packaged("seed", "teams.json")),
            bpmn_dir=env.get("JINGZHI_BPMN_DIR") or str(packaged("bpmn")),
            delivery_backoff_s=float(env.get("JINGZHI_DELIVERY_BACKOFF_S", defaults.DELIVERY_BACKOFF_S)),
            delivery_max_attempts=int(env.get("JINGZHI_DELIVERY_MAX_ATTEMPTS", defaults.DELIVERY_MAX_ATTEMPTS)),
            channels=Channels.from_env(env),
            same_problem_metres=env.get("JINGZHI_SAME_PROBLEM_METRES", ""),
        )
        return replace(config, **overrides) if overrides else config

    @property
    def uses_jobs_queue(self) -> bool:
        """Engine verbs go through RQ when Redis is configured, and run in-process otherwise."""
        return bool(self.redis_url)

    def describe(self) -> str:
        """A one-line summary safe to log (no passwords)."""
        from sqlalchemy.engine import make_url

        db = make_url(self.database_url).render_as_string(hide_password=True)
        return f"database={db} redis={'yes' if self.redis_url else 'no'} mqtt={'yes' if self.mqtt_url else 'no'}"
