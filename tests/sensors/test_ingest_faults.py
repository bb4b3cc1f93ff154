"""Nothing acknowledged is lost (issue 11, class 1): a Mosquitto of the test's own, started from the shipped
deploy/mosquitto.conf on a free port, restarted in the middle of a burst; ``jingzhi ingest`` processes killed with
SIGKILL in the middle of it; both at once; with one and with two ingesters. Every message the broker acknowledged
to the publisher ends in ``alert`` or in ``dead_letter``, and nothing takes effect twice."""
from __future__ import annotations

import pytest

from bench.faults import run_scenario
from sensors.ingest import IngestSettings
from tests.sensors.conftest import DEVICES

MESSAGES = 200


@pytest.mark.parametrize("ingesters", [1, 2], ids=["one-ingester", "two-ingesters"])
@pytest.mark.parametrize("faults", ["broker", "ingester", "both"],
                         ids=["broker-restart", "ingester-kill-9", "both-at-once"])
def test_a_burst_through_a_fault_loses_nothing_and_stores_nothing_twice(pg_engine, tmp_path, faults, ingesters):
    outcome = run_scenario(pg_engine.store.url, DEVICES, faults, ingesters, MESSAGES, rate=400.0, timeout=60.0,
                           directory=tmp_path / "mosquitto")
    assert outcome.published == MESSAGES, outcome.line()       # every message acknowledged by the broker
    assert outcome.lost == 0, outcome.line() + f" lost: {outcome.lost_keys}"
    assert outcome.duplicate_cases == 0, outcome.line()
    assert outcome.stored + outcome.dead_letters == outcome.published
    assert outcome.stored > 0 and outcome.dead_letters > 0      # the burst has malformed messages mixed in


def test_every_topic_belongs_to_exactly_one_partition():
    for partitions in (1, 2, 3):
        owners = [IngestSettings(partition=k, partitions=partitions) for k in range(partitions)]
        for device in [d["id"] for d in DEVICES] + ["NOPE-1", "设备-7", ""]:
            topic = f"jingzhi/sensors/{device}/alarm"
            assert sum(owner.owns(topic) for owner in owners) == 1
    with pytest.raises(ValueError):
        IngestSettings(partition=2, partitions=2)
