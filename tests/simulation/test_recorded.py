"""A stream exported from a database holds exactly what it recorded in the period: every sensor message (alarms,
repeats, heartbeats, clears) at the moment it was received with its payload as sent, every report at the moment its
case was opened with the facts it was opened with, and the devices they came from; replayed by `jingzhi sim
--stream`, it opens the same cases again."""
from __future__ import annotations

import json
import re
from datetime import timedelta, timezone

from engine import clock
from sensors.intake import accept_alert
from simulation.recorded import from_database
from simulation.stream import load, save
from jingzhi.cli import main
from tests.sensors.conftest import DEVICES, message, sensor_engine  # noqa: F401  (fixture)

HOTLINE = {"scenario": "illegal_dumping", "channel": "hotline", "severity": "high", "address": "广中路 100号",
           "lat": 31.27, "lon": 121.48, "description": "路边堆放垃圾"}


def test_a_database_exports_exactly_what_it_recorded(sensor_engine, manual_clock, tmp_path, capsys):  # noqa: F811
    engine = sensor_engine
    START = clock.now()
    sent = {}
    for minutes, device, scenario, event, extra in [
            (-60, "GEO-1", "fire_lane", "alarm", {}),                           # before the period
            (10, "GEO-1", "fire_lane", "alarm", {"detail": {"severity": "high"}}),
            (12, "GEO-1", "fire_lane", "alarm", {}),                            # a repeat: same alarm
            (20, "DCM-1", "door_open", "heartbeat", {"value": 1, "unit": "V"}),
            (30, "GEO-1", "fire_lane", "clear", {}),
            (50, "DCM-1", "door_open", "alarm", {"value": 95.5, "unit": "s"}),
            (24 * 60 + 1, "DCM-1", "door_open", "heartbeat", {})]:               # after it
        manual_clock.set(START + timedelta(minutes=minutes))
        raw = message(device, scenario, event, msg_id=f"m{minutes}", **extra)
        assert accept_alert(engine, raw, "test").status == "accepted"
        sent[minutes] = raw
    manual_clock.set(START + timedelta(minutes=40))
    hotline = engine.start("closed_loop", dict(HOTLINE, reported_at=clock.now().isoformat()), business_key="h-1")
    manual_clock.set(START + timedelta(minutes=45))
    resident = engine.start("closed_loop", dict(HOTLINE, channel="resident", severity="medium",
                                                reported_at=clock.now().isoformat()), business_key="r-1")
    [register] = engine.ready_tasks(instance_id=resident)
    engine.complete_task(register["id"], {"decision": "false_alarm", "reason": "无此情况"}, actor="dispatcher")

    stream = from_database(engine, START, START + timedelta(days=1))
    assert stream.start == START and stream.days == 1
    assert [(e.at, e.kind, e.body.get("device_id") or e.body["channel"], e.body.get("event"), e.truth)
            for e in stream.events] == [
        (600.0, "sensor", "GEO-1", "alarm", "real"), (720.0, "sensor", "GEO-1", "alarm", "repeat"),
        (1200.0, "sensor", "DCM-1", "heartbeat", "heartbeat"), (1800.0, "sensor", "GEO-1", "clear", "clear"),
        (2400.0, "report", "hotline", None, "real"), (2700.0, "report", "resident", None, "false"),
        (3000.0, "sensor", "DCM-1", "alarm", "real")]
    assert [e.body for e in stream.events if e.kind == "sensor"] == [sent[m] for m in (10, 12, 20, 30, 50)]
    hotline_body = stream.events[4].body
    assert {k: hotline_body[k] for k in ("scenario", "channel", "severity", "address", "lat", "lon")} == \
           {k: HOTLINE[k] for k in ("scenario", "channel", "severity", "address", "lat", "lon")}
    assert hotline_body["reported_at"] == (START + timedelta(minutes=40)).astimezone(timezone.utc).isoformat()
    assert stream.devices == [d for d in DEVICES if d["id"] in ("DCM-1", "GEO-1")]
    assert hotline > 0
    # the cases the period's arrivals opened (the alarm at +10 min joined the case GEO-1 opened before the period;
    # a replay starts from a quiet district, so there it opens one)
    assert engine.recorded_counts(START, START + timedelta(days=1)) == {"sensor": 1,
                                                                        "reports": {"hotline": 1, "resident": 1}}
    without = from_database(engine, START, START + timedelta(days=1), heartbeats=False)
    assert [e.body.get("event") for e in without.events] == ["alarm", "alarm", "clear", None, None, "alarm"]

    # the file `jingzhi sim export` writes is the same stream, and `jingzhi sim --stream` replays it: the two
    # alarms and two reports open four cases again, on the devices the stream names
    out = tmp_path / "recorded.jsonl"
    assert main(["sim", "export", "--database", engine.config.database_url, "--since", START.isoformat(),
                 "--days", "1", "--out", str(out)]) == 0
    assert "7 events" in capsys.readouterr().out
    assert load(out) == stream
    save(stream, tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_text() == out.read_text()
    clock.system()   # the replay's own clock is its thread's; the export read the recorded times, not now
    assert main(["sim", "--quiet", "--stream", str(out), "--drain-days", "0",
                 "--database", f"sqlite:///{tmp_path / 'replay.db'}"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(r"^cases=4 ", line), line
    # and `jingzhi whatif --from-database` compares two setups on it (heartbeats left out: nothing uses them)
    assert main(["whatif", "--quiet", "--from-database", engine.config.database_url, "--since", START.isoformat(),
                 "--days", "1", "--seeds", "1", "--staff-b", "police=0.5", "--workdir", str(tmp_path / "w"),
                 "--json", str(tmp_path / "w.json")]) == 0
    assert "A = current, B = proposed" in capsys.readouterr().out
    report = json.loads((tmp_path / "w.json").read_text())
    assert report["replayed"]["1"]["current"] == {"reports": 2, "sensor_messages": 4}
    assert report["indicators"]["cases"]["a"] == 4
