"""How one delivery goes out, per channel: a department webhook (HMAC-signed), e-mail over SMTP, the WeCom and
DingTalk group robots, an SMS gateway over HTTP. Each function sends or raises :class:`SendFailed`; none logs or
returns a secret (the webhook secret is read from the environment variable its subscription names, at send time)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid

from engine import DELIVERY_TIMEOUT_S, Channels

SIGNATURE_HEADER = "X-Jingzhi-Signature"
TIMESTAMP_HEADER = "X-Jingzhi-Timestamp"
EVENT_HEADER = "X-Jingzhi-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "X-Jingzhi-Replay"


class SendFailed(Exception):
    """One attempt failed; the outbox retries it later (the message says why, and never holds a secret)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body`` (what a receiver recomputes to check a webhook)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: urllib would follow it as a GET without the body and count its 200 as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict, what: str) -> bytes:
    """POST with the standard library (no HTTP client dependency); the answer's body, or SendFailed. Only a 2xx
    answer is success."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=DELIVERY_TIMEOUT_S) as response:
            return response.read(65536)
    except urllib.error.HTTPError as err:
        raise SendFailed(f"{what} answered HTTP {err.code}") from None
    except (OSError, ValueError) as err:  # refused, timed out, unresolvable, a malformed URL
        raise SendFailed(f"{what} unreachable: {err.__class__.__name__}") from None


def webhook(delivery: dict, environ=os.environ) -> None:
    hook = delivery["hook"]
    secret = environ.get(hook["secret_env"])
    if not secret:
        raise SendFailed(f"the environment variable {hook['secret_env']} (the secret of {hook['department']}) "
                         "is not set")
    body = delivery["body"].encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", EVENT_HEADER: delivery["subject"] or "",
               IDEMPOTENCY_HEADER: delivery["idempotency_key"], TIMESTAMP_HEADER: timestamp,
               SIGNATURE_HEADER: sign(secret, timestamp, body)}
    if delivery.get("replays"):
        headers[REPLAY_HEADER] = str(delivery["replays"])
    _post(hook["url"], body, headers, f"{hook['department']} ({urllib.parse.urlsplit(hook['url']).netloc})")


def email(delivery: dict, contact: dict, settings: Channels) -> None:
    if not settings.smtp_host:
        raise SendFailed("no SMTP server is configured (JINGZHI_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = contact["email"]
    message["Subject"] = delivery["subject"] or ""
    message["Message-ID"] = make_msgid(idstring=delivery["idempotency_key"].replace(":", "."))
    message["X-Jingzhi-Idempotency-Key"] = delivery["idempotency_key"]
    message.set_content(delivery["body"])
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=DELIVERY_TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as err:
        raise SendFailed(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {err.__class__.__name__}") from None


def _text(delivery: dict) -> str:
    return f"{delivery['subject'] or ''}\n{delivery['body']}".strip()


def wecom(delivery: dict, contact: dict, settings: Channels) -> None:
    """The WeCom group robot: a text message mentioning the person by WeCom user id."""
    if not settings.wecom_webhook_url:
        raise SendFailed("no WeCom robot is configured (JINGZHI_WECOM_WEBHOOK_URL)")
    body = {"msgtype": "text", "text": {"content": _text(delivery), "mentioned_list": [contact["wecom_id"]]}}
    _robot(settings.wecom_webhook_url, body, "WeCom robot", "errcode")


def dingtalk(delivery: dict, contact: dict, settings: Channels) -> None:
    """The DingTalk group robot: a text message @-ing the person; signed when the robot has a secret."""
    if not settings.dingtalk_webhook_url:
        raise SendFailed("no DingTalk robot is configured (JINGZHI_DINGTALK_WEBHOOK_URL)")
    url = settings.dingtalk_webhook_url
    if settings.dingtalk_secret:  # DingTalk's "加签": timestamp in ms and base64 HMAC-SHA256 of "timestamp\nsecret"
        stamp = str(int(time.time() * 1000))
        mac = hmac.new(settings.dingtalk_secret.encode(), f"{stamp}\n{settings.dingtalk_secret}".encode(),
                       hashlib.sha256).digest()
        sign_ = urllib.parse.quote_plus(base64.b64encode(mac))
        url = f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign_}"
    body = {"msgtype": "text", "text": {"content": _text(delivery)},
            "at": {"atUserIds": [contact["dingtalk_id"]], "isAtAll": False}}
    _robot(url, body, "DingTalk robot", "errcode")


def _robot(url: str, body: dict, what: str, code_key: str) -> None:
    answer = _post(url, json.dumps(body, ensure_ascii=False).encode("utf-8"),
                   {"Content-Type": "application/json; charset=utf-8"}, what)
    try:
        answer = json.loads(answer)
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if answer.get(code_key, 0) not in (0, "0"):
        raise SendFailed(f"{what} refused the message: {code_key} {answer.get(code_key)}")


def sms(delivery: dict, contact: dict, settings: Channels) -> None:
    """An SMS gateway over HTTP: the configured body template with {phone} and {text} filled in as JSON strings."""
    if not settings.sms_url:
        raise SendFailed("no SMS gateway is configured (JINGZHI_SMS_URL)")
    text = f"{delivery['subject'] or ''} {delivery['body']}".strip()
    body = settings.sms_body.replace("{phone}", json.dumps(contact["phone"])).replace(
        "{text}", json.dumps(text, ensure_ascii=False))
    headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: delivery["idempotency_key"]}
    if settings.sms_authorization:
        headers["Authorization"] = settings.sms_authorization
    _post(settings.sms_url, body.encode("utf-8"), headers, "SMS gateway")


PERSON_CHANNELS = {"email": email, "wecom": wecom, "dingtalk": dingtalk, "sms": sms}
