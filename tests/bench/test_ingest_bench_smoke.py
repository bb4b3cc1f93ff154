"""bench.ingest's workload and figures, without a broker: the mix it claims is the mix it sends."""
from __future__ import annotations

import json
from collections import Counter

from bench.ingest import MIX, Workload, pct
from sensors.district import devices


def test_the_workload_sends_its_mix_and_first_alarms_use_fresh_devices():
    workload = Workload(devices(7), seed=3)
    messages = workload.take(5000)
    bodies = [json.loads(render()) for _, render in messages]
    events = Counter(b["event"] for b in bodies)
    alarms = [b["device_id"] for b in bodies if b["event"] == "alarm"]
    first = len(set(alarms))
    assert first == len(workload.alarming)                      # every first alarm is a device never alarmed
    assert abs(first / 5000 - MIX[2]) < 0.02
    assert abs((len(alarms) - first) / 5000 - MIX[1]) < 0.02
    assert abs(events["heartbeat"] / 5000 - MIX[0]) < 0.02
    assert all(topic.endswith(f"/{b['device_id']}/{b['event']}") for (topic, _), b in zip(messages, bodies))


def test_percentiles():
    assert pct(list(range(1, 101)), 50) == 51 and pct(list(range(1, 101)), 95) == 95
