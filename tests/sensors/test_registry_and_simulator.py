"""The device registry (import, list, filters) through the `jingzhi` command, and the simulated district."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

from engine import clock
from sensors.district import devices
from sensors.intake import Incoming, accept_batch
from sensors.simulate import Traffic
from jingzhi.cli import main


def test_the_district_is_the_sources_and_the_same_for_the_same_seed():
    rows = devices(7)
    assert len(rows) == 9165 and len({r["id"] for r in rows}) == 9165
    assert len({r["device_type"] for r in rows}) == 39
    inside = [r for r in rows if r["inside_compound"]]
    assert (len(inside), len(rows) - len(inside)) == (8235, 930)
    assert len({r["compound"] for r in inside}) == 137
    model = [r for r in rows if r["address"] == "水电路191弄 何家宅小区"]
    assert (len(model), len({r["device_type"] for r in model})) == (681, 10)
    assert rows == devices(7) and rows != devices(8)


def test_devices_import_from_csv_and_json_then_list_with_filters(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'reg.db'}")
    assert main(["simulate", "--write-registry", str(tmp_path / "district.csv")]) == 0
    assert main(["devices", "import", str(tmp_path / "district.csv")]) == 0
    assert "imported 9165 device(s)" in capsys.readouterr().out
    (tmp_path / "fix.json").write_text(json.dumps({"devices": [
        {"id": "SMK-00001", "device_type": "smoke_alarm", "scenario": "three_in_one", "lat": 31.27, "lon": 121.47,
         "address": "广中路 1号", "compound": None, "inside_compound": False, "owner_team": "fire_rescue"}]}),
        encoding="utf-8")
    assert main(["devices", "import", str(tmp_path / "fix.json")]) == 0                 # updates, adds nothing
    capsys.readouterr()
    assert main(["devices", "list", "--json", "--compound", "何家宅小区"]) == 0
    model = json.loads(capsys.readouterr().out)
    assert len(model) == 680 and {r["status"] for r in model} == {"unknown"}            # one device moved out
    assert main(["devices", "list", "--json", "--team", "fire_rescue", "--where", "street"]) == 0
    street = json.loads(capsys.readouterr().out)
    assert "SMK-00001" in {r["id"] for r in street} and all(not r["inside_compound"] for r in street)
    assert main(["devices", "list", "--scenario", "three_in_one", "--limit", "3"]) == 0
    out = capsys.readouterr()
    assert out.out.count("three_in_one") == 3 and "never" in out.out and "3 device(s)" in out.err
    (tmp_path / "bad.csv").write_text("id,scenario,lat\nX-1,,31\n", encoding="utf-8")
    assert main(["devices", "import", str(tmp_path / "bad.csv")]) == 2
    assert "scenario is missing" in capsys.readouterr().err


def test_simulated_traffic_is_accepted_except_its_deliberately_malformed_share(sensor_engine):
    from engine.alarms.devices import import_devices

    engine = sensor_engine
    rows = devices(3)
    import_devices(engine.store, rows)
    traffic = Traffic(seed=3, bad_share=0.05, rows=rows)
    now = clock.now()
    messages = [m for n in range(400) for m in traffic.next(now, n * 0.1)]
    messages += traffic.drill(now, 41.0)
    batch = accept_batch(engine, [Incoming(body, "mqtt", topic) for topic, body in messages])
    statuses = Counter(r.status for r in batch.results)
    assert statuses["dead_letter"] == traffic.counts["bad"] > 0
    assert statuses["accepted"] == len(messages) - traffic.counts["bad"]
    assert batch.new_alarms                                                    # first alarms await their cases
    assert Traffic(seed=3, rows=rows).next(datetime(2026, 1, 5, tzinfo=timezone.utc), 0) == \
        Traffic(seed=3, rows=rows).next(datetime(2026, 1, 5, tzinfo=timezone.utc), 0)
