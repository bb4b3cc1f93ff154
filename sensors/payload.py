"""The sensor payload contract and its validation: pure functions, no broker, no database.

Topic ``jingzhi/sensors/{device_id}/{event}``; JSON payload ``{"msg_id", "device_id", "scenario", "event", "ts"
(ISO 8601 with zone), "value"?, "unit"?, "detail"?}`` (docs: ../shared/ARCHITECTURE.md). The same payload is
accepted over HTTP. :func:`parse` turns raw input into a :class:`Message` or a :class:`Rejection` carrying a stable
reason code; :func:`check_device` checks it against the device registry entry the caller looked up.

Before the schema, :func:`unstorable` asks whether the database could store the payload at all: PostgreSQL refuses
NaN and Infinity in JSON, a NUL character in text, and lone UTF-16 surrogates cannot even be encoded for it. One such
message used to fail its whole batch; now it is refused here, alone, with a reason code of its own.
"""
from __future__ import annotations

import json
import math
import re
import reprlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from jsonschema import Draft202012Validator

#: Largest payload accepted. A real sensor message is a few hundred bytes; 8 KB leaves room for a detail object.
MAX_PAYLOAD_BYTES = 8 * 1024
#: How far a device clock may run ahead of ours before its timestamp is refused as bad.
MAX_CLOCK_AHEAD = timedelta(minutes=10)
#: How old a message may be: a week covers a gateway that buffered through a long outage.
MAX_AGE = timedelta(days=7)
#: Nesting of objects and arrays a payload may have (the message itself is 1, its ``detail`` object 2). A sensor's
#: detail is flat; 32 levels leave room for any gateway, and far fewer than what breaks a JSON parser's recursion.
MAX_DEPTH = 32
#: Integers a payload may carry: a signed 64-bit range, what any consumer of the stored JSON can cast it to.
MAX_INTEGER = 2**63 - 1
EVENTS = ("alarm", "clear", "heartbeat")
SEVERITIES = ("low", "medium", "high", "critical")

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Jingzhi sensor message",
    "type": "object",
    "required": ["msg_id", "device_id", "scenario", "event", "ts"],
    "properties": {
        "msg_id": {"type": "string", "minLength": 1, "maxLength": 120},
        "device_id": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": r"^[^/#+\s|]+$"},
        "scenario": {"type": "string", "minLength": 1, "maxLength": 80},
        "event": {"enum": list(EVENTS)},
        "ts": {"type": "string", "minLength": 10, "maxLength": 40},
        "value": {"type": ["number", "string", "boolean", "null"]},
        "unit": {"type": ["string", "null"], "maxLength": 20},
        "detail": {"type": ["object", "string", "null"]},
    },
    "additionalProperties": False,
}
_VALIDATOR = Draft202012Validator(SCHEMA)

# Reason codes of dead letters (stable: dashboards count by them).
TOO_LARGE, NOT_JSON, SCHEMA_INVALID, BAD_TIMESTAMP, TOPIC_MISMATCH = (
    "too_large", "not_json", "schema", "bad_timestamp", "topic_mismatch")
UNKNOWN_DEVICE, WRONG_SCENARIO = "unknown_device", "wrong_scenario"
# ... of payloads the database would refuse (see :func:`unstorable`) ...
NOT_FINITE, OUT_OF_RANGE, NUL_CHARACTER, BAD_UNICODE, TOO_DEEP = (
    "not_finite", "out_of_range", "nul_character", "bad_unicode", "too_deep")
# ... of a message the database refused although every check passed (found by splitting its batch), and of input
# the checks themselves failed on (a bug: the detail names the error).
STORE_REFUSED, CHECK_FAILED = "store_refused", "check_failed"


@dataclass(frozen=True)
class Message:
    msg_id: str
    device_id: str
    scenario: str
    event: str
    ts: datetime
    value: object = None
    unit: str | None = None
    detail: object = None

    @property
    def severity(self) -> str | None:
        """``detail.severity`` when the sensor gives one of the known levels."""
        if isinstance(self.detail, dict) and self.detail.get("severity") in SEVERITIES:
            return self.detail["severity"]
        return None

    def extra(self) -> dict | None:
        extra = {k: v for k, v in (("value", self.value), ("unit", self.unit), ("detail", self.detail))
                 if v is not None}
        return extra or None


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str
    raw: str
    msg_id: str | None = None
    device_id: str | None = None


_REPR = reprlib.Repr()   # keyword arguments only from Python 3.12
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxstring, _REPR.maxother = MAX_DEPTH, 200, 200, 4096, 200


def storable_text(text: str) -> str:
    """``text`` as PostgreSQL stores it: a NUL becomes ``\\0`` and a lone surrogate its ``\\udXXX`` escape."""
    if "\x00" in text:
        text = text.replace("\x00", "\\0")
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def printable(raw: bytes | str | dict, limit: int = 4096) -> str:
    """The raw input as storable text: decoded leniently, NULs and lone surrogates escaped, cut."""
    if isinstance(raw, dict):
        try:
            text = json.dumps(raw, ensure_ascii=False, default=str)
        except (ValueError, TypeError, RecursionError):   # a cycle, or nesting deeper than json can write
            text = _REPR.repr(raw)
    elif isinstance(raw, bytes):
        text = raw[:limit * 4].decode("utf-8", "replace")
    else:
        text = str(raw)[:limit * 4]
    return storable_text(text)[:limit]


def _where(path: list) -> str:
    return storable_text("/".join(str(p) for p in path) or "(payload)")


def unstorable(data) -> tuple[str, str] | None:
    """Why the database could not store this decoded payload, as ``(reason, detail)``; None when it can.

    Walks every value and key without recursion (a hostile payload's nesting cannot exhaust the stack): NaN and
    Infinity (also a number too big for a double, which JSON parsers read as Infinity) are ``not_finite``, integers
    beyond 64 bits ``out_of_range``, a NUL character ``nul_character``, a lone surrogate ``bad_unicode``, nesting
    beyond :data:`MAX_DEPTH` ``too_deep``; a value that is not JSON at all (a Python caller's dict) ``schema``.
    Lengths of the fields that have columns are the schema's business (its ``maxLength`` are the column sizes).
    """
    # Two passes: a lean one for every message (microseconds), and one that tracks where, for the refused few.
    return _walk(data, with_paths=True) if _walk(data, with_paths=False) is not None else None


def _walk(data, with_paths: bool) -> tuple[str, str] | None:
    stack = [(data, (), 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, path, depth = pop()
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                return NUL_CHARACTER, f"{_where(path)}: text contains a NUL character (U+0000)"
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return BAD_UNICODE, f"{_where(path)}: text contains a lone UTF-16 surrogate"
        elif kind is dict or kind is list:
            if depth > MAX_DEPTH:
                return TOO_DEEP, f"{_where(path[:MAX_DEPTH])}/...: nested deeper than {MAX_DEPTH} levels"
            depth += 1
            if kind is list:
                for n, item in enumerate(value):
                    push((item, path + (n,) if with_paths else path, depth))
                continue
            for key, item in value.items():
                where = path + (key,) if with_paths else path
                if type(key) is not str:
                    return SCHEMA_INVALID, f"{_where(path)}: key {_REPR.repr(key)} is not a string"
                push((key, where, depth))
                push((item, where, depth))
        elif kind is float:
            if not math.isfinite(value):
                return NOT_FINITE, f"{_where(path)}: {value} is not a finite number (NaN, Infinity or beyond 1.8e308)"
        elif kind is int:
            if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
                return OUT_OF_RANGE, f"{_where(path)}: an integer of {value.bit_length()} bits is beyond 64-bit"
        elif value is not None and kind is not bool:
            return SCHEMA_INVALID, f"{_where(path)}: a {kind.__name__} is not a JSON value"
    return None


def parse_ts(value: str, now: datetime) -> datetime | str:
    """An ISO 8601 timestamp with a zone, not far in the future nor ancient; or the reason it is not."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return f"ts '{value}' is not ISO 8601"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return f"ts '{value}' has no time zone"
    if moment - now > MAX_CLOCK_AHEAD:
        return f"ts '{value}' is in the future"
    if now - moment > MAX_AGE:
        return f"ts '{value}' is older than {MAX_AGE.days} days"
    return moment


_KEYS = frozenset(SCHEMA["properties"])
_REQUIRED = frozenset(SCHEMA["required"])
_DEVICE_ID = re.compile(SCHEMA["properties"]["device_id"]["pattern"])


def _plainly_valid(data) -> bool:
    """A strict subset of :data:`SCHEMA`, checked in a few microseconds: True only when the schema would say valid.

    jsonschema costs ~0.2 ms a message, a tenth of the whole budget at 2,000 messages a second; the schema still
    decides (and words the error) whenever this says no.
    """
    if type(data) is not dict or not _REQUIRED <= data.keys() or not data.keys() <= _KEYS:
        return False
    msg_id, device_id, scenario, ts = data["msg_id"], data["device_id"], data["scenario"], data["ts"]
    if not (type(msg_id) is str and 1 <= len(msg_id) <= 120 and type(device_id) is str
            and 1 <= len(device_id) <= 80 and _DEVICE_ID.match(device_id) and type(scenario) is str
            and 1 <= len(scenario) <= 80 and type(ts) is str and 10 <= len(ts) <= 40 and data["event"] in EVENTS):
        return False
    value, unit, detail = data.get("value"), data.get("unit"), data.get("detail")
    return (value is None or type(value) in (int, float, str, bool)) and \
        (unit is None or type(unit) is str and len(unit) <= 20) and (detail is None or type(detail) in (dict, str))


def _ids(data) -> tuple[str | None, str | None]:
    """The message and device ids a payload claims, for a dead letter (made storable; its columns cut them)."""
    if not isinstance(data, dict):
        return None, None
    msg_id, device_id = data.get("msg_id"), data.get("device_id")
    return (storable_text(msg_id) if isinstance(msg_id, str) else None,
            storable_text(device_id) if isinstance(device_id, str) else None)


def parse(raw: bytes | str | dict, now: datetime, topic: str | None = None) -> Message | Rejection:
    """Check raw input against the contract. ``topic`` (MQTT) must agree with the payload's device and event."""
    if isinstance(raw, dict):
        problem = unstorable(raw)     # first: a cyclic or deeply nested dict cannot even be measured
        if problem is not None:
            return Rejection(*problem, printable(raw), *_ids(raw))
        size = len(json.dumps(raw).encode("utf-8"))
    else:
        size = len(raw.encode("utf-8", "replace")) if isinstance(raw, str) else len(raw)
    if size > MAX_PAYLOAD_BYTES:
        return Rejection(TOO_LARGE, f"payload of {size} bytes exceeds {MAX_PAYLOAD_BYTES}", printable(raw))
    if isinstance(raw, dict):
        data = raw
    else:
        try:
            data = json.loads(raw)
        except RecursionError:
            return Rejection(TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels", printable(raw))
        except (ValueError, UnicodeDecodeError) as err:
            return Rejection(NOT_JSON, storable_text(f"not JSON: {err}"), printable(raw))
        problem = unstorable(data)
        if problem is not None:
            return Rejection(*problem, printable(raw), *_ids(data))
    msg_id, device_id = _ids(data)
    errors = [] if _plainly_valid(data) else sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(payload)"
        return Rejection(SCHEMA_INVALID, f"{where}: {errors[0].message}", printable(raw), msg_id, device_id)
    ts = parse_ts(data["ts"], now)
    if isinstance(ts, str):
        return Rejection(BAD_TIMESTAMP, ts, printable(raw), msg_id, device_id)
    if topic is not None:
        parts = topic.split("/")
        if len(parts) < 2 or parts[-2] != data["device_id"] or parts[-1] != data["event"]:
            return Rejection(TOPIC_MISMATCH, f"topic '{topic}' does not match device '{data['device_id']}' and "
                             f"event '{data['event']}'", printable(raw), msg_id, device_id)
    return Message(data["msg_id"], data["device_id"], data["scenario"], data["event"], ts, data.get("value"),
                   data.get("unit"), data.get("detail"))


def check_device(message: Message, device, raw: str) -> Rejection | None:
    """The registry's verdict: ``device`` is the looked-up entry (with ``.scenario``) or None when unknown."""
    if device is None:
        return Rejection(UNKNOWN_DEVICE, f"device '{message.device_id}' is not registered", raw,
                         message.msg_id, message.device_id)
    if message.scenario != device.scenario:
        return Rejection(WRONG_SCENARIO, f"device '{message.device_id}' reports '{device.scenario}', not "
                         f"'{message.scenario}'", raw, message.msg_id, message.device_id)
    return None
