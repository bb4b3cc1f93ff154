"""Patrol and "same problem?" in a real browser (Playwright, Debian's Chromium, offline): a grid worker reports from a
390x844 phone with the phone's location and a photo, and the report waits in the dispatcher's inbox; the dispatcher
goes from the inbox to "same problem?" and merges a hotline report into the open sensor case. Screenshots go to
tests/artifacts/ (patrol-*.png, same-problem-*.png)."""
from __future__ import annotations

import re

from tests.webui.conftest import PASSWORD, fire_lane_alert, png
from tests.webui.test_browser import WAIT_MS, browser, open_as, server, shot  # noqa: F401  (fixtures)

PLACE = {"latitude": 31.27015, "longitude": 121.4812, "accuracy": 12}


def test_a_patrol_report_from_the_phone_reaches_the_dispatchers_inbox(seeded, app, server, browser, tmp_path,
                                                                      database_url):  # noqa: F811
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", geolocation=PLACE, permissions=["geolocation"])
    context.set_default_timeout(WAIT_MS)
    phone = context.new_page()
    phone.goto(f"{server}/login")
    phone.fill("#username", "patrol1")
    phone.fill("#password", PASSWORD)
    phone.click("#login-button")
    phone.wait_for_url(re.compile(r".*/inbox.*"))
    phone.goto(f"{server}/patrol")
    phone.wait_for_selector("#location-status.located")                 # the phone's location, no tap needed
    assert (phone.input_value("#lat"), phone.input_value("#lon")) == ("31.270150", "121.481200")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390   # nothing wider than the phone
    photo = tmp_path / "scene.png"
    photo.write_bytes(png(320, 240, (180, 40, 40)))
    phone.select_option("#scenario", "fire_lane")
    phone.set_input_files("#photo", str(photo))
    phone.wait_for_selector("#photo-preview:not([hidden])")
    phone.fill("#note", "3号楼消防通道停了一辆白色轿车")
    shot(phone, "patrol-phone", backend)
    phone.click("#submit-patrol")
    phone.wait_for_url(re.compile(r".*/patrol\?sent=\d+"))
    instance_id = int(phone.url.rsplit("=", 1)[1])
    assert f"#{instance_id}" in phone.inner_text(".flash.ok")
    case = seeded.get(instance_id).case
    assert (case["channel"], case["scenario"], case["lat"], case["lon"]) == ("patrol", "fire_lane", 31.27015, 121.4812)

    dispatcher = open_as(browser, server, "dispatcher")
    [register] = seeded.ready_tasks(instance_id=instance_id)
    dispatcher.wait_for_selector(f'tr[data-task="{register["id"]}"]')
    assert "巡查" in dispatcher.inner_text(f'tr[data-task="{register["id"]}"] .badge.channel')   # a patrol report
    shot(dispatcher, "patrol-inbox", backend)
    dispatcher.click(f'tr[data-task="{register["id"]}"] a')
    dispatcher.wait_for_selector("#task-form")
    dispatcher.goto(f"{server}/cases/{instance_id}")
    assert dispatcher.eval_on_selector("#evidence img", "img => img.complete && img.naturalWidth") == 320
    context.close()


def test_the_dispatcher_merges_a_hotline_report_into_the_open_sensor_case(seeded, app, server, browser,
                                                                          database_url):  # noqa: F811
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    sensor_case = seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    key = seeded.open311.create_key("12345热线平台", "hotline")
    filed = app.test_client().post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "fire_lane", "lat": "31.27015", "long": "121.4812",
        "address_string": "何家宅小区 3号楼", "description": "消防通道被车堵了", "phone": "13900000000",
        "attribute[blocked]": "yes"})
    assert filed.status_code == 201, filed.get_data(as_text=True)
    [hotline_case] = [t["instance_id"] for t in seeded.ready_tasks() if t["instance_id"] != sensor_case]

    dispatcher = open_as(browser, server, "dispatcher")
    dispatcher.click("#same-problem-link")
    dispatcher.wait_for_selector(f"#same-{hotline_case}")
    shot(dispatcher, "same-problem", backend)
    dispatcher.click(f'#same-{hotline_case} form[action$="/merge/{sensor_case}"] button.merge')
    dispatcher.wait_for_url(re.compile(rf".*/cases/{sensor_case}$"))
    timeline = dispatcher.inner_text("#timeline")
    assert "热线" in timeline and f"#{hotline_case}" in timeline
    shot(dispatcher, "same-problem-merged", backend)
    assert seeded.get(hotline_case).case["outcome"] == "duplicate"
    assert [e["detail"]["channel"] for e in seeded.history(sensor_case) if e["kind"] == "report.merged"] == ["hotline"]
