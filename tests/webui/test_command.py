"""The command centre's JSON and pages on both backends: devices with their state, open cases by stage with overdue
marked, the heat of cases over a period, the live feed, device pages, dead letters, and who may see them."""
from __future__ import annotations

import pytest

from engine import clock
from engine.alarms.devices import import_devices
from sensors import district
from tests.sensors.conftest import DEVICES, message
from tests.webui.conftest import fire_lane_alert

ROUTES = ["/command", "/command/map.json", "/command/heat.json", "/command/feed.json", "/command/district.geojson",
          "/devices", "/devices/GEO-1"]


@pytest.fixture
def with_devices(seeded, app):
    seeded.devices.import_rows(DEVICES)
    return seeded


def test_only_dispatchers_leads_and_admins_see_the_command_centre(with_devices, login):
    for route in ROUTES:
        assert login().get(route).status_code == 302, route                 # to the login page
        assert login("patrol1").get(route).status_code == 403, route
        for user in ("dispatcher", "patrol_lead", "admin"):
            assert login(user).get(route).status_code == 200, (route, user)
    for user in ("dispatcher", "patrol_lead", "patrol1"):
        assert login(user).get("/dead-letters").status_code == 403
    assert login("admin").get("/dead-letters").status_code == 200


def map_of(client, query: str = "") -> tuple[dict, dict]:
    """Devices by id with their state (the page's join of devices.json and map.json) and open cases by instance."""
    answer = client.get(f"/command/map.json{query}").get_json()
    positions = client.get("/command/devices.json").get_json()
    assert positions["version"] == answer["registry"]
    state = {i: s for s, ids in answer["states"].items() for i in ids}
    devices = {row[0]: state.get(row[0], "online") for row in positions["rows"]}
    cases = {row[0]: dict(zip(answer["case_columns"], row)) for row in answer["cases"]}
    return devices, cases


def test_the_map_shows_devices_by_state_and_open_cases_by_stage_with_overdue_marked(with_devices, app, login,
                                                                                    manual_clock):
    dispatcher = login("dispatcher")
    assert dispatcher.api("POST", "/api/v1/alerts", message("GEO-1", "fire_lane", "alarm")).status_code == 202
    assert dispatcher.api("POST", "/api/v1/alerts", message("DCM-1", "door_open", "heartbeat")).status_code == 202
    hotline = with_devices.start("closed_loop", fire_lane_alert(device_id=None, channel="hotline",
                                                                 lat=31.2650, lon=121.4800))
    devices, cases = map_of(dispatcher)
    assert devices == {"SMK-1": "unknown", "DCM-1": "online", "GEO-1": "alarming", "HYD-1": "unknown",
                       "ANC-1": "unknown"}
    assert len(cases) == 2 and hotline in cases
    assert {c["stage"] for c in cases.values()} <= {"discover", "register"}
    assert not any(c["overdue"] for c in cases.values())

    manual_clock.advance(days=3)                         # past every deadline of the first step
    dispatcher = login("dispatcher")                     # and past the 12-hour session: log in again
    assert all(c["overdue"] for c in map_of(dispatcher)[1].values())

    # filters: a scenario, a channel, a box on the map
    assert list(map_of(dispatcher, "?channel=hotline")[1]) == [hotline]
    assert map_of(dispatcher, "?scenario=door_open")[1] == {}
    assert list(map_of(dispatcher, "?bbox=31.26,121.47,31.2660,121.49")[1]) == [hotline]

    # the registry's rows are sent again only when the registry changes
    first = dispatcher.get("/command/devices.json")
    etag = first.headers["ETag"]
    assert dispatcher.get("/command/devices.json", headers={"If-None-Match": etag}).status_code == 304
    manual_clock.advance(seconds=1)
    import_devices(with_devices.store, [{**DEVICES[0], "id": "SMK-2"}])
    again = dispatcher.get("/command/devices.json", headers={"If-None-Match": etag})
    assert again.status_code == 200 and "SMK-2" in [row[0] for row in again.get_json()["rows"]]


def test_bad_map_requests_are_clear_errors(with_devices, login):
    dispatcher = login("dispatcher")
    for url in ("/command/map.json?bbox=1,2,3", "/command/map.json?bbox=40,121,31,122", "/command/map.json?scenario=x",
                "/command/heat.json?from=2026-01-10&to=2026-01-01", "/command/heat.json?from=2020-01-01&to=2026-01-01",
                "/command/feed.json?alarm=abc", "/devices?state=burning"):
        response = dispatcher.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 422, url
        assert response.get_json()["error"]["message"], url
    assert dispatcher.get("/devices/NOPE-1").status_code == 404
    assert dispatcher.get("/devices?page=x").status_code == 200           # a pager is never refused (test_paging.py)


def test_the_heat_map_counts_cases_per_place_over_the_period_by_scenario(with_devices, login, manual_clock):
    for lat in (31.2701, 31.27012, 31.2750):
        with_devices.start("closed_loop", fire_lane_alert(lat=lat))
    with_devices.start("closed_loop", fire_lane_alert(scenario="street_trading", lat=31.2650))
    dispatcher = login("dispatcher")
    heat = dispatcher.get("/command/heat.json?from=2026-01-05&to=2026-01-05").get_json()
    assert sorted(p[2] for p in heat["points"]) == [1, 1, 2] and heat["max"] == 2
    hot = max(heat["points"], key=lambda p: p[2])
    assert abs(hot[0] - 31.2705) < 0.0006 and abs(hot[1] - 121.4815) < 0.0006
    trading = dispatcher.get("/command/heat.json?from=2026-01-05&to=2026-01-05&scenario=street_trading").get_json()
    assert [p[2] for p in trading["points"]] == [1]
    assert dispatcher.get("/command/heat.json?from=2025-12-01&to=2026-01-04").get_json()["points"] == []


def test_the_live_feed_reports_new_alarms_and_cases_after_its_cursor(with_devices, login):
    dispatcher = login("dispatcher")
    first = dispatcher.get("/command/feed.json").get_json()
    assert first["items"] == []
    assert dispatcher.api("POST", "/api/v1/alerts", message("GEO-1", "fire_lane", "alarm")).status_code == 202
    cursor = "&".join(f"{k}={v}" for k, v in first["cursor"].items())
    later = dispatcher.get(f"/command/feed.json?{cursor}").get_json()
    kinds = sorted(item["kind"] for item in later["items"])
    assert kinds == ["alarm", "case"]
    assert {item.get("device_id") for item in later["items"]} == {"GEO-1"}
    again = "&".join(f"{k}={v}" for k, v in later["cursor"].items())
    assert dispatcher.get(f"/command/feed.json?{again}").get_json()["items"] == []


def test_a_device_page_shows_state_last_seen_open_alarm_alerts_and_cases(with_devices, login):
    dispatcher = login("dispatcher")
    assert dispatcher.api("POST", "/api/v1/alerts", message("GEO-1", "fire_lane", "alarm")).status_code == 202
    assert dispatcher.api("POST", "/api/v1/alerts", message("GEO-1", "fire_lane", "alarm")).status_code in (200, 202)
    page = dispatcher.get("/devices/GEO-1").get_data(as_text=True)
    assert 'data-state="alarming"' in page and "open-alarm" in page
    [case] = with_devices.maps.device("GEO-1")["cases"]
    assert f"#{case['instance_id']}" in page
    listing = dispatcher.get("/devices?compound=何家宅小区").get_data(as_text=True)
    assert 'data-device="GEO-1"' in listing and 'data-device="SMK-1"' not in listing
    by_type = dispatcher.get("/devices?device_type=smoke_alarm").get_data(as_text=True)
    assert 'data-device="SMK-1"' in by_type and 'data-device="GEO-1"' not in by_type


def test_dead_letters_are_listed_with_their_reasons_for_admins(with_devices, login):
    dispatcher = login("dispatcher")
    refused = dispatcher.api("POST", "/api/v1/alerts", message("NOPE-9", "fire_lane", "alarm"))
    assert refused.status_code == 422
    page = login("admin").get("/dead-letters").get_data(as_text=True)
    reason = refused.get_json()["error"]["details"]["reason"]
    assert reason == "unknown_device" and reason in page and "NOPE-9" in page and "is not registered" in page
    filtered = login("admin").get("/dead-letters?reason=no_such_reason").get_data(as_text=True)
    assert "NOPE-9" not in filtered


def test_the_offline_basemap_is_the_districts_own_geojson():
    geo = district.geojson()
    kinds = [f["properties"]["kind"] for f in geo["features"]]
    assert kinds.count("compound") == district.COMPOUNDS and kinds.count("street") == 12
    assert geo == district.geojson()                     # deterministic
    names = {f["properties"]["name"] for f in geo["features"] if f["properties"]["kind"] == "compound"}
    assert {d["compound"] for d in district.devices() if d["compound"]} <= names
    south, west, north, east = district.BOUNDS
    assert all(south <= d["lat"] <= north and west <= d["lon"] <= east for d in district.devices())


def test_the_map_answer_carries_the_engines_clock(with_devices, login):
    answer = login("dispatcher").get("/command/map.json").get_json()
    assert answer["now"] == clock.now().isoformat()


def test_the_dashboard_charts_compare_periods_and_show_the_sources_results_and_team_backlogs(with_devices, login,
                                                                                             registered_case):
    with_devices.start("closed_loop", fire_lane_alert())
    lead = login("patrol_lead")
    answer = lead.get("/dashboard/charts.json?from=2026-01-01&to=2026-01-05").get_json()
    assert answer["days"] == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]
    assert answer["opened"] == [0, 0, 0, 0, 2] and answer["opened_previous"] == [0, 0, 0, 0, 0]
    assert answer["previous_first_day"] == "2025-12-27"
    assert answer["by_scenario"] == {"fire_lane": [0, 0, 0, 0, 2]}
    assert answer["reference"] == {"on_time_closure_rate": 94.21, "cases_per_officer_per_day": 24.55,
                                   "avg_handling_hours": [48, 72]}
    assert answer["teams"]["property_company"] == {"backlog": 1, "overdue": 0}
    assert answer["teams"]["command_centre"]["backlog"] == 1
    assert login("patrol1").get("/dashboard/charts.json").status_code == 403
    page = lead.get("/dashboard").get_data(as_text=True)
    assert 'id="chart-trend"' in page and "echarts.min.js" in page
