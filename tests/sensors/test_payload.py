"""The payload contract as a pure function: no broker, no database."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.alarms.devices import DeviceInfo
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


def _good(**fields: str) -> str:
    """GOOD as JSON text with ``fields`` spliced in verbatim (for what json.dumps would never write)."""
    body = json.dumps({k: v for k, v in GOOD.items() if k not in fields})[:-1]
    return body + "".join(f', "{k}": {v}' for k, v in fields.items()) + "}"


def _storable(text: str | None) -> bool:
    """What PostgreSQL takes as text: no NUL, encodable as UTF-8."""
    if text is None:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


POISON = [
    ("nan", _good(value="NaN"), "not_finite", "value"),
    ("infinity", _good(value="Infinity"), "not_finite", "value"),
    ("minus_infinity", _good(detail='{"readings": [1, -Infinity]}'), "not_finite", "detail/readings/1"),
    ("overflowing_double", _good(value="1e400"), "not_finite", "value"),
    ("integer_beyond_64_bits", _good(value=str(2**64)), "out_of_range", "value"),
    ("nested_integer_beyond", _good(detail=f'{{"n": -{2**63 + 1}}}'), "out_of_range", "detail/n"),
    ("nul_in_value", _good(value='"a\\u0000b"'), "nul_character", "value"),
    ("nul_in_nested_key", _good(detail='{"a": {"k\\u0000": 1}}'), "nul_character", "detail/a/k\\0"),
    ("nul_in_msg_id", _good(msg_id='"m\\u0000"'), "nul_character", "msg_id"),
    ("nul_in_device_id", _good(device_id='"SMK\\u0000"'), "nul_character", "device_id"),
    ("nul_in_ts", _good(ts='"2026-01-05T17:00:00+08:00\\u0000"'), "nul_character", "ts"),
    ("lone_surrogate", _good(detail='{"note": ["ok", "\\ud800"]}'), "bad_unicode", "detail/note/1"),
    ("lone_low_surrogate_in_key", _good(detail='{"\\udc00": 1}'), "bad_unicode", "detail/\\udc00"),
    ("surrogate_in_msg_id", _good(msg_id='"\\udfff"'), "bad_unicode", "msg_id"),
    ("deep_objects", _good(detail='{"a": ' * 40 + "1" + "}" * 40), "too_deep", "nested deeper than 32"),
    ("deep_arrays_past_the_parser", _good(detail="[" * 3000 + "]" * 3000), "too_deep", "nested deeper than 32"),
    ("msg_id_longer_than_its_column", _good(msg_id=json.dumps("m" * 121)), "schema", "msg_id"),
    ("device_id_longer_than_its_column", _good(device_id=json.dumps("D" * 81)), "schema", "device_id"),
    ("scenario_longer_than_its_column", _good(scenario=json.dumps("s" * 81)), "schema", "scenario"),
    ("unit_longer_than_allowed", _good(unit=json.dumps("u" * 21)), "schema", "unit"),
    ("msg_id_a_number", _good(msg_id="12"), "schema", "msg_id"),
    ("msg_id_null", _good(msg_id="null"), "schema", "msg_id"),
    ("value_an_object", _good(value='{"x": 1}'), "schema", "value"),
    ("detail_a_list", _good(detail="[1, 2]"), "schema", "detail"),
    ("ts_a_number", _good(ts="1767600000"), "schema", "ts"),
]


@pytest.mark.parametrize("name, raw, reason, words", POISON, ids=[p[0] for p in POISON])
def test_what_the_database_would_refuse_is_rejected_up_front_with_its_reason(name, raw, reason, words):
    for form in (raw, raw.encode("utf-8", "surrogatepass")):
        rejected = payload.parse(form, NOW, "jingzhi/sensors/SMK-1/alarm")
        assert isinstance(rejected, payload.Rejection), rejected
        assert rejected.reason == reason and words in rejected.detail, rejected.detail
        for text in (rejected.raw, rejected.detail, rejected.msg_id, rejected.device_id):
            assert _storable(text), text


def test_storability_is_a_pure_check_of_any_decoded_value():
    assert payload.unstorable(GOOD) is None
    assert payload.unstorable({"detail": {"名称": ["烟感", 1.5, None, True, -(2**63)]}}) is None
    deepest = 1
    for _ in range(payload.MAX_DEPTH):   # MAX_DEPTH objects, one in the other
        deepest = {"a": deepest}
    assert payload.unstorable(deepest) is None and payload.unstorable([deepest])[0] == "too_deep"
    assert payload.unstorable({1: "x"})[0] == "schema"
    assert payload.unstorable({"a": {1, 2}})[0] == "schema"
    assert payload.unstorable({"a": b"bytes"})[0] == "schema"
    assert payload.unstorable(float("nan"))[0] == "not_finite"


def test_a_python_callers_dict_cyclic_deep_or_not_json_is_rejected_not_raised():
    cyclic = dict(GOOD, detail={})
    cyclic["detail"]["self"] = cyclic
    odd = dict(GOOD, detail={"when": datetime(2026, 1, 5)})
    for raw, reason in ((cyclic, "too_deep"), (odd, "schema"), (dict(GOOD, value=float("inf")), "not_finite"),
                        (dict(GOOD, msg_id="m\x00"), "nul_character"), (dict(GOOD, unit="\ud83d"), "bad_unicode")):
        rejected = payload.parse(raw, NOW)
        assert rejected.reason == reason
        assert _storable(rejected.raw) and _storable(rejected.detail) and _storable(rejected.msg_id)


def test_texts_that_reach_a_dead_letter_are_storable():
    assert payload.printable("a\x00b\ud800c") == "a\\0b\\ud800c"
    assert payload.printable(b"\xff\x00") == "\ufffd\\0"
    assert payload.storable_text("烟感\x00") == "烟感\\0"


def test_the_schemas_lengths_are_the_columns_lengths():
    from engine.models import Alert

    for field in ("msg_id", "device_id", "scenario"):
        assert payload.SCHEMA["properties"][field]["maxLength"] == Alert.__table__.c[field].type.length


_TEXT = st.text(st.characters(codec=None, categories=["L", "N", "P", "S", "Z", "Cc", "Cs"]), max_size=30)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=40)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(fields=st.dictionaries(st.sampled_from(sorted(payload.SCHEMA["properties"]) + ["extra"]), _JSON, max_size=8),
       keep=st.sets(st.sampled_from(sorted(GOOD))))
def test_any_decoded_payload_parses_or_is_rejected_with_storable_texts(fields, keep):
    data = {**{k: GOOD[k] for k in keep}, **fields}
    for raw in (data, json.dumps(data).encode("utf-8", "surrogatepass")):
        parsed = payload.parse(raw, NOW, "jingzhi/sensors/SMK-1/alarm")
        if isinstance(parsed, payload.Rejection):
            assert all(_storable(t) for t in (parsed.raw, parsed.detail, parsed.msg_id, parsed.device_id))
        else:
            assert payload.unstorable(dataclasses.asdict(parsed) | {"ts": data["ts"]}) is None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=300) | _TEXT)
def test_any_bytes_or_text_parse_or_are_rejected_with_storable_texts(raw):
    parsed = payload.parse(raw, NOW)
    assert isinstance(parsed, payload.Rejection)
    assert all(_storable(t) for t in (parsed.raw, parsed.detail, parsed.msg_id, parsed.device_id))
