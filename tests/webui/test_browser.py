"""The walk in a real browser (Playwright driving Debian's Chromium) against the app served on a local port:

a sensor alert arrives -> the dispatcher registers the case -> it appears, without a reload, in the inbox of an
officer of the routed team, who claims it, makes a form error, fixes it and completes it with a photo -> an officer
of another team can neither see nor open the task -> a patrol officer verifies -> the case is closed, its diagram
marked, and the dashboard counts it. Screenshots of inbox, task, case and dashboard go to tests/artifacts/.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import people
from engine.alarms.devices import import_devices
from tests.sensors.conftest import DEVICES, message
from tests.webui.conftest import PASSWORD, png

from playwright import sync_api as playwright_api  # noqa: E402  (a test dependency: missing means failing)
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
#: Upper bound for the browser to show something (the inbox polls every POLL_SECONDS); never a timing assertion.
WAIT_MS = 20_000


@pytest.fixture
def server(app):
    app.config["POLL_SECONDS"] = 1
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def open_as(browser, server, username, phone=False):
    context = browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900},
                                  is_mobile=phone, has_touch=phone, locale="zh-CN")  # a district browser: Chinese
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(re.compile(r".*/(inbox|designer).*"))        # a designer lands on the designer
    return page


def shot(page, name, backend):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{backend}.png"), full_page=True)


def test_a_case_from_alert_to_dashboard_in_the_browser(seeded, app, server, browser, tmp_path, database_url):
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    import_devices(seeded.store, DEVICES)
    token = people.create_token(seeded.store, "dispatcher", "sensor-gateway")
    alert = app.test_client().post("/api/v1/alerts", json=message("GEO-1", "fire_lane", "alarm"),
                                   headers={"Authorization": f"Bearer {token}"})
    assert alert.status_code == 202, alert.get_json()
    instance_id = alert.get_json()["instance_id"]

    officer = open_as(browser, server, "property1")
    assert officer.locator("#inbox-rows tr[data-task]").count() == 0

    dispatcher = open_as(browser, server, "dispatcher")
    dispatcher.click("#inbox-rows tr[data-task] a")
    dispatcher.wait_for_selector("#task-form")
    assert "GEO-1" in dispatcher.inner_text("dl.facts")
    dispatcher.select_option("#f-decision", "registered")
    dispatcher.click("#complete")
    dispatcher.wait_for_selector("#next-step")
    assert "物业服务企业" in dispatcher.inner_text("#next-step")

    officer.wait_for_selector("#inbox-rows tr[data-task]")          # polled in, no reload
    assert officer.is_visible("#new-tasks")
    [move] = seeded.ready_tasks(instance_id=instance_id)
    assert move["bpmn_id"] == "move_vehicle"
    shot(officer, "inbox", backend)
    officer.click(f'tr[data-task="{move["id"]}"] button.claim')
    officer.wait_for_selector("#task-form")
    assert officer.inner_text("#holder") == "property1"
    officer.fill("#f-plate_number", "沪A")
    officer.select_option("#f-owner_contacted", "true")
    officer.select_option("#f-vehicle_moved", "true")
    officer.click("#complete")
    officer.wait_for_selector("#form-errors")
    assert officer.is_visible("#error-plate_number") and officer.is_visible("#error-photos_before")
    assert officer.input_value("#f-plate_number") == "沪A"
    shot(officer, "task", backend)
    photo = tmp_path / "scene.png"
    photo.write_bytes(png())
    officer.fill("#f-plate_number", "沪A12345")
    officer.set_input_files("#f-photos_before", str(photo))
    officer.click("#complete")
    officer.wait_for_selector("#next-step")
    assert "网格巡查队" in officer.inner_text("#next-step")
    assert seeded.task(move["id"])["completed_by"] == "property1"

    police = open_as(browser, server, "police1")
    assert police.locator('tr[data-task]').count() == 0
    [verify] = seeded.ready_tasks(instance_id=instance_id)
    response = police.goto(f"{server}/tasks/{verify['id']}")
    assert response.status == 404
    assert police.goto(f"{server}/cases/{instance_id}").status == 404

    patrol = open_as(browser, server, "patrol1", phone=True)
    shot(patrol, "inbox-phone", backend)
    patrol.click(f'tr[data-task="{verify["id"]}"] a')
    patrol.select_option("#f-passed", "true")
    patrol.click("#complete")
    patrol.wait_for_selector("#next-step")
    assert "案件已结束" in patrol.inner_text("#next-step")

    dispatcher.goto(f"{server}/cases/{instance_id}")
    dispatcher.wait_for_selector('#diagram[data-rendered="yes"]')
    assert dispatcher.locator(".djs-element.done").count() >= 3
    assert dispatcher.inner_text("#case-stage") in ("结案", "评价")
    assert dispatcher.locator("#evidence img").count() == 1
    assert dispatcher.eval_on_selector("#evidence img", "img => img.naturalWidth") == 64   # the photo loads
    shot(dispatcher, "case", backend)

    dispatcher.goto(f"{server}/dashboard?from=2026-01-01&to=2026-01-31")
    assert dispatcher.inner_text("#kpi-cases") == "1" and dispatcher.inner_text("#kpi-closed") == "1"
    assert dispatcher.inner_text("#kpi-closure") == "100.0%"
    shot(dispatcher, "dashboard", backend)
    with dispatcher.expect_download() as download:
        dispatcher.click("#csv")
    assert "indicator,closed,1" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    view = seeded.get(instance_id)
    assert view.status == "completed" and view.case["stage"] == "closed"
