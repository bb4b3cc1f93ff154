"""The plain data that crosses between the engine and a sandbox worker process, as JSON.

Only what a diagram's task data may hold crosses: JSON's own types plus the few SpiffWorkflow's serializer keeps
(tuples, sets, dates, times, durations, decimals, bytes, dicts with non-text keys, integers too long for JSON's
digit limit), each tagged. Anything else (a function, a generator, a ``map`` object left in a variable) is
:class:`NotPlainData`: it could not be saved with the instance anyway, and nothing executable ever travels back
from a worker to the engine (no pickle).
"""
from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import json

_TAG = "__jz__"


class NotPlainData(TypeError):
    """A value that is not plain data; ``path`` says where it sits (``x``, ``x[2]``)."""

    def __init__(self, path: str, value):
        super().__init__(f"{path} holds a {type(value).__name__}, which is not plain data "
                         f"(text, numbers, lists, dicts, dates)")
        self.path = path


def encode(value, path: str = "value"):
    """A JSON-ready form of ``value`` (tagged where JSON has no type for it)."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return value if value.bit_length() < 10_000 else {_TAG: "int", "hex": hex(value)}
    if isinstance(value, list):
        return [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: encode(v, f"{path}[{k!r}]") for k, v in value.items()}
        return {_TAG: "dict", "items": [[encode(k, path), encode(v, f"{path}[{k!r}]")] for k, v in value.items()]}
    if isinstance(value, (tuple, set, frozenset)):
        return {_TAG: type(value).__name__, "items": [encode(v, path) for v in value]}
    if isinstance(value, _dt.datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, _dt.date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, _dt.time):
        return {_TAG: "time", "value": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {_TAG: "timedelta", "value": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, _dt.timezone):
        return {_TAG: "timezone", "value": encode(value.utcoffset(None))}
    if isinstance(value, _decimal.Decimal):
        return {_TAG: "decimal", "value": str(value)}
    if isinstance(value, bytes):
        return {_TAG: "bytes", "value": value.decode("latin-1")}
    raise NotPlainData(path, value)


_DECODERS = {
    "int": lambda d: int(d["hex"], 16),
    "dict": lambda d: {_hashable(k): v for k, v in d["items"]},
    "tuple": lambda d: tuple(d["items"]),
    "set": lambda d: {_hashable(v) for v in d["items"]},
    "frozenset": lambda d: frozenset(_hashable(v) for v in d["items"]),
    "datetime": lambda d: _dt.datetime.fromisoformat(d["value"]),
    "date": lambda d: _dt.date.fromisoformat(d["value"]),
    "time": lambda d: _dt.time.fromisoformat(d["value"]),
    "timedelta": lambda d: _dt.timedelta(*d["value"]),
    "timezone": lambda d: _dt.timezone(d["value"]),
    "decimal": lambda d: _decimal.Decimal(d["value"]),
    "bytes": lambda d: d["value"].encode("latin-1"),
}


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _hook(obj: dict):
    tag = obj.get(_TAG)
    return _DECODERS[tag](obj) if tag in _DECODERS else obj


def dumps(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> dict:
    return json.loads(data.decode("utf-8"), object_hook=_hook)
