"""The demo's people (jingzhi/demo_reports.py): a hotline call over Open311 and a patrol report with a photo, posted
over HTTP to the app served on a local port, become cases; one beside an open sensor case waits at "same problem?"."""
from __future__ import annotations

import threading

from sqlalchemy import select

from engine.models import Case
from jingzhi.demo_reports import reports, send_reports
from tests.webui.conftest import PASSWORD, fire_lane_alert
from tests.webui.test_browser import server  # noqa: F401  (fixture)

ROWS = [{"id": "GEO-00001", "scenario": "fire_lane", "lat": 31.2701, "lon": 121.4812, "address": "何家宅小区 3号楼"},
        {"id": "CAM-00001", "scenario": "illegal_dumping", "lat": 31.2712, "lon": 121.4801, "address": "水电路 120号"}]


def test_reports_alternate_channels_and_stay_beside_their_devices():
    first = [r for _, r in zip(range(6), reports(ROWS, 7))]
    assert [r.channel for r in first] == ["hotline", "patrol"] * 3
    assert [r.scenario for r in first[:4]] == ["fire_lane", "fire_lane", "illegal_dumping", "illegal_dumping"]
    assert all(abs(r.lat - 31.27) < 0.002 and abs(r.lon - 121.481) < 0.002 for r in first)
    assert first == [r for _, r in zip(range(6), reports(ROWS, 7))]   # the same seed, the same reports
    many = ROWS + [{**ROWS[0], "id": f"GEO-{n:05d}", "lat": 31.2601 + n * 0.001} for n in range(2, 40)]
    beside = [r for _, r in zip(range(2), reports(many, 7, alarming={"GEO-00017"}))]
    assert all(abs(r.lat - (31.2601 + 17 * 0.001)) < 0.0001 for r in beside)   # first beside the alarming device


def test_the_demo_posts_a_hotline_call_and_a_patrol_report(seeded, app, server):  # noqa: F811
    sensor_case = seeded.start("closed_loop", fire_lane_alert())
    seeded.people.add_user("grid_patrol-1", PASSWORD, ["officer"], ["grid_patrol"])
    key = seeded.open311.create_key("12345-demo", "hotline")
    answers = send_reports(f"{server}/", key, "grid_patrol-1", PASSWORD, ROWS, 7, threading.Event(), every_s=0,
                           limit=4)
    assert answers == {"hotline": [201, 201], "patrol": [200, 200]}   # 200: the patrol page after its redirect
    with seeded.store.read() as connection:
        cases = [dict(r) for r in connection.execute(select(Case.__table__).order_by(Case.id)).mappings()]
    assert sorted(c["channel"] for c in cases) == ["hotline", "hotline", "patrol", "patrol", "sensor"]
    waiting = seeded.same_problem_waiting()
    # each fire-lane report is offered the sensor case (and the other report); the dumping reports each other
    beside_sensor = [item["case"] for item in waiting if sensor_case in {n["instance_id"] for n in item["neighbours"]}]
    assert sorted((c["channel"], c["scenario"]) for c in beside_sensor) == [("hotline", "fire_lane"),
                                                                          ("patrol", "fire_lane")]
