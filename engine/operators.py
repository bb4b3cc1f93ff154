"""The service-task operators a diagram may call, checked at deploy and run by the script engine. Pure: no database.

One operator for now, ``notify``: a spiff service task (``spiffworkflow:serviceTaskOperator id="notify"``) with
parameters, each a Python expression like every other diagram expression:

- ``to``: who, as ``"team:CODE"`` (the team's members), ``"lead:CODE"`` (its leads), ``"user:NAME"`` or
  ``"role:ROLE"`` (everyone with the role);
- ``template``: the code of a notification template (``escalation``, ``reminder``, ``task_created``, ... or one an
  admin added on /admin/notifications);
- ``channel`` (optional): ``preferred`` (default: each person's own choice, see /me/contact), ``email``, ``wecom``,
  ``dingtalk``, ``sms`` or ``inbox``.

Calling it does not send anything: the request is collected for the running step (:data:`collected`) and written to
the outbox in the step's transaction (engine/outbox.py), so a step that fails or rolls back notifies nobody, and a
step that commits cannot lose its notification. Sending is the edge's work (integrations/delivery.py).
"""
from __future__ import annotations

import ast
from contextvars import ContextVar

NOTIFY = "notify"
OPERATORS = frozenset({NOTIFY})
CHANNELS = ("email", "wecom", "dingtalk", "sms", "inbox")
CHANNEL_CHOICES = ("preferred", *CHANNELS)
TARGET_KINDS = ("team", "lead", "user", "role")
_PARAMS = {"to": True, "template": True, "channel": False}  # name -> required

#: The running step's list of notification requests (set by engine.runtime around every step).
collected: ContextVar[list | None] = ContextVar("jingzhi_notify_requests", default=None)


def check_target(value: str) -> str | None:
    """Why ``value`` is not a ``kind:name`` target, or None."""
    kind, _, name = value.partition(":")
    if kind not in TARGET_KINDS or not name.strip():
        return f"'to' must be one of {', '.join(k + ':...' for k in TARGET_KINDS)}, not {value!r}"
    return None


def _literal(source: str):
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def check_operator(operation_name: str, params: dict) -> list[str]:
    """Problems of one service task's operator and parameters (their expressions are compiled by the caller)."""
    if operation_name not in OPERATORS:
        return [f"unknown service operator {operation_name!r} (known: {', '.join(sorted(OPERATORS))})"]
    problems = [f"operator {operation_name!r} needs the parameter {name!r}"
                for name, required in _PARAMS.items() if required and name not in params]
    problems += [f"operator {operation_name!r} has no parameter {name!r} (known: {', '.join(_PARAMS)})"
                 for name in params if name not in _PARAMS]
    for name, param in params.items():
        value = _literal((param or {}).get("value") or "")
        if not isinstance(value, str):
            continue  # an expression of the case's data: checked when it runs
        if name == "to" and check_target(value):
            problems.append(check_target(value))
        elif name == "channel" and value not in CHANNEL_CHOICES:
            problems.append(f"channel must be one of {', '.join(CHANNEL_CHOICES)}, not {value!r}")
        elif name == "template" and not value.strip():
            problems.append("template must name a notification template")
    return problems


def notify_request(params: dict) -> dict:
    """The request of one evaluated ``notify`` call (``params`` as SpiffWorkflow hands them: name -> {value, type})."""
    values = {name: (param or {}).get("value") for name, param in params.items()}
    to, template = values.get("to"), values.get("template")
    channel = values.get("channel") or "preferred"
    if not isinstance(to, str) or check_target(to):
        raise ValueError(check_target(to) if isinstance(to, str) else f"'to' must be a text, not {to!r}")
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"template must name a notification template, not {template!r}")
    if channel not in CHANNEL_CHOICES:
        raise ValueError(f"channel must be one of {', '.join(CHANNEL_CHOICES)}, not {channel!r}")
    return {"to": to, "template": template.strip(), "channel": channel}


def call(operation_name: str, params: dict) -> dict:
    """Run an operator inside a step: collect the request for the outbox; the task's result says what was asked."""
    if operation_name not in OPERATORS:
        raise ValueError(f"unknown service operator {operation_name!r}")
    request = notify_request(params)
    sink = collected.get()
    if sink is not None:
        sink.append(request)
    return request
