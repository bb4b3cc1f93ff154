"""The command centre in a real browser (Playwright driving Debian's Chromium, offline): the district's basemap, its
9,165 devices clustered, open cases by stage; filters and the heat map change what is drawn; a click opens the case.
Screenshots go to tests/artifacts/ (command-*.png)."""
from __future__ import annotations

import re

from engine.alarms.devices import import_devices
from sensors import district
from tests.sensors.conftest import DEVICES, message
from tests.webui.conftest import fire_lane_alert
from tests.webui.test_browser import browser, open_as, server, shot  # noqa: F401  (fixtures)


def drawn(page, what: str) -> int:
    return int(page.inner_text(f"#drawn-{what}"))


def wait_drawn(page, what: str, test: str) -> None:
    page.wait_for_function(f"() => {{ const n = +document.getElementById('drawn-{what}').textContent; return {test}; }}")


def test_the_map_draws_devices_and_cases_filters_and_heat_change_it_and_a_click_opens_the_case(
        seeded, app, server, browser, database_url):  # noqa: F811
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    import_devices(seeded.store, district.devices() + DEVICES)
    token = app.test_client()
    from engine import people
    bearer = {"Authorization": f"Bearer {people.create_token(seeded.store, 'dispatcher', 'gateway')}"}
    assert token.post("/api/v1/alerts", json=message("GEO-1", "fire_lane", "alarm"), headers=bearer).status_code == 202
    hotline = seeded.start("closed_loop", fire_lane_alert(device_id=None, channel="hotline", scenario="street_trading",
                                                           lat=31.2600, lon=121.4700))

    page = open_as(browser, server, "dispatcher")
    page.goto(f"{server}/command")
    wait_drawn(page, "devices", "n > 9000")
    wait_drawn(page, "cases", "n === 2")
    assert page.locator("path.case-marker").count() == 2
    page.wait_for_selector(".leaflet-basemap-pane path")                 # the offline basemap: outline, compounds, roads
    assert page.locator(".leaflet-basemap-pane path").count() == 1 + district.COMPOUNDS + 12
    page.wait_for_selector(".dev-cluster-alarming")                     # GEO-1's alarm colours its cluster
    shot(page, "command-map", backend)

    page.uncheck("input.channel[value=hotline]")                         # a channel off: its case goes
    wait_drawn(page, "cases", "n === 1")
    page.uncheck("input.channel[value=sensor]")                          # sensors off: devices and the alarm's case
    wait_drawn(page, "devices", "n === 0")
    wait_drawn(page, "cases", "n === 0")
    page.check("input.channel[value=sensor]")
    page.check("input.channel[value=hotline]")
    page.select_option("#scenario", "street_trading")                    # one scenario: its devices and cases only
    wait_drawn(page, "cases", "n === 1")
    street = sum(1 for d in district.devices() if d["scenario"] == "street_trading")
    assert drawn(page, "devices") == street
    page.select_option("#scenario", "")

    page.check("#layer-heat")                                            # the heat map of the period
    wait_drawn(page, "heat", "n === 2")
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    shot(page, "command-heat", backend)
    page.fill("#heat-from", "2025-12-01")                                # a period without cases: nothing hot
    page.fill("#heat-to", "2025-12-31")
    page.dispatch_event("#heat-to", "change")
    wait_drawn(page, "heat", "n === 0")

    page.click(f"path.case-{hotline}")                                   # a click opens the case
    page.wait_for_url(re.compile(rf".*/cases/{hotline}$"))
    assert page.locator("h1").count() >= 1

    page.goto(f"{server}/command?wall=1")                                # the wall screen: no controls
    wait_drawn(page, "cases", "n === 2")
    page.wait_for_selector(".dev-cluster-alarming")
    assert not page.is_visible("#controls") and not page.is_visible("header.top")
    shot(page, "command-wall", backend)

    page.goto(f"{server}/dashboard?from=2026-01-01&to=2026-01-05")      # the dashboard's ECharts charts
    page.wait_for_selector('#charts[data-drawn="yes"]')
    assert page.locator("#chart-trend svg").count() == 1
    shot(page, "command-dashboard", backend)


def test_search_finds_a_case_by_address_and_by_device_id_and_admins_search_the_audit_trail(
        seeded, server, browser, database_url):  # noqa: F811
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    on_road = seeded.start("closed_loop", fire_lane_alert("FIR-0101", address="水电路 1288 号 消防通道"))
    by_device = seeded.start("closed_loop", fire_lane_alert("SMK-7307", address="广中西路 3 号"))
    seeded.cancel(by_device, "重复上报，来电人 13812345678", actor="admin")

    page = open_as(browser, server, "dispatcher")
    page.goto(f"{server}/cases")
    assert page.locator("#cases tbody a").count() == 2
    page.fill("input[name=q]", "水电路 1288")                             # part of the address
    page.click(".filters button")
    page.wait_for_url("**/cases?q=*")
    assert page.locator("#cases tbody a").all_inner_texts() == [f"#{on_road}"]
    shot(page, "search-address", backend)
    page.fill("input[name=q]", "smk-7307")                               # a device id, in any case
    page.click(".filters button")
    page.wait_for_url("**q=smk-7307*")
    assert page.locator("#cases tbody a").all_inner_texts() == [f"#{by_device}"]
    page.fill("input[name=q]", "")
    page.fill("input[name=device]", "FIR-0101")                          # the device filter
    page.click(".filters button")
    page.wait_for_url("**device=FIR-0101*")
    assert page.locator("#cases tbody a").all_inner_texts() == [f"#{on_road}"]
    shot(page, "search-device", backend)
    page.click(f"#cases tbody a:text('#{on_road}')")                      # and it opens
    page.wait_for_url(re.compile(rf".*/cases/{on_road}$"))

    admin = open_as(browser, server, "admin")
    admin.click("header nav a[href='/admin/audit']")
    admin.wait_for_selector("#audit tbody tr[data-kind]")
    admin.select_option("select[name=kind]", "instance.cancelled")
    admin.click("#audit-search button")
    admin.wait_for_url("**kind=instance.cancelled*")
    [row] = admin.locator("#audit tbody tr").all_inner_texts()
    assert "案件撤销" in row and "admin" in row
    assert "138****5678" in row and "13812345678" not in admin.content()
    shot(admin, "audit-search", backend)
