"""The payload contract as a pure function: no broker, no database."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from engine.devices import DeviceInfo
from sensors import payload

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
GOOD = {"msg_id": "m-1", "device_id": "SMK-1", "scenario": "three_in_one", "event": "alarm",
        "ts": "2026-01-05T17:00:00+08:00", "value": 63.5, "unit": "C", "detail": {"severity": "critical"}}
DEVICE = DeviceInfo("SMK-1", "smoke_alarm", "three_in_one", None, None, None, None, False, "fire_station", 60)


def test_a_good_message_parses_with_its_zone_and_severity():
    message = payload.parse(json.dumps(GOOD).encode(), NOW, "jingzhi/sensors/SMK-1/alarm")
    assert isinstance(message, payload.Message)
    assert message.ts == NOW and message.severity == "critical"
    assert message.extra() == {"value": 63.5, "unit": "C", "detail": {"severity": "critical"}}
    assert payload.check_device(message, DEVICE, "") is None
    assert payload.parse(GOOD, NOW) == payload.parse(json.dumps(GOOD), NOW)   # dict, str and bytes alike


@pytest.mark.parametrize("raw, reason, words", [
    (b"\x00\x01 binary", "not_json", "not JSON"),
    (b"[1, 2", "not_json", "not JSON"),
    (json.dumps({**GOOD, "detail": "x" * 9000}).encode(), "too_large", "exceeds"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "msg_id"}), "schema", "'msg_id' is a required property"),
    (json.dumps({**GOOD, "event": "explode"}), "schema", "event"),
    (json.dumps({**GOOD, "colour": "red"}), "schema", "Additional properties"),
    (json.dumps({**GOOD, "device_id": "a/b"}), "schema", "device_id"),
    (json.dumps([GOOD]), "schema", "is not of type 'object'"),
    (json.dumps({**GOOD, "ts": "2026-01-05T17:00:00"}), "bad_timestamp", "no time zone"),
    (json.dumps({**GOOD, "ts": "2026-01-05 five pm"}), "bad_timestamp", "not ISO 8601"),
    (json.dumps({**GOOD, "ts": (NOW + timedelta(hours=1)).isoformat()}), "bad_timestamp", "future"),
    (json.dumps({**GOOD, "ts": (NOW - timedelta(days=8)).isoformat()}), "bad_timestamp", "older"),
])
def test_bad_input_is_rejected_with_a_reason_never_an_exception(raw, reason, words):
    rejected = payload.parse(raw, NOW)
    assert isinstance(rejected, payload.Rejection)
    assert rejected.reason == reason and words in rejected.detail
    assert "\x00" not in rejected.raw and len(rejected.raw) <= 4096


def test_the_topic_must_name_the_payloads_device_and_event():
    rejected = payload.parse(json.dumps(GOOD), NOW, "jingzhi/sensors/SMK-2/alarm")
    assert rejected.reason == "topic_mismatch"
    assert payload.parse(json.dumps(GOOD), NOW, "jingzhi/sensors/SMK-1/clear").reason == "topic_mismatch"


def test_the_registry_refuses_unknown_devices_and_foreign_scenarios():
    message = payload.parse(GOOD, NOW)
    assert payload.check_device(message, None, "raw").reason == "unknown_device"
    other = DeviceInfo("SMK-1", "geomagnetic_detector", "fire_lane", None, None, None, None, False, None, 60)
    assert payload.check_device(message, other, "raw").reason == "wrong_scenario"
