"""The designer's what-if page: designers and admins only, CSRF on the form, bad input refused with the reason
(never a 500), and a run that goes through the job runner (the background thread on embedded defaults) to the
comparison, or fails with the reason a designer can act on."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest

from engine import drafts
from engine.alarms.devices import import_devices
from sensors.intake import accept_alert
from tests.sensors.conftest import DEVICES, message
from tests.webui.conftest import ROOT

#: A tiny simulated period: a quarter day of open doors at a third of the traffic, one seed.
TINY = {"b": "deployed", "source": "simulated", "days": "0.25", "scale": "0.3", "scenarios": "door_open",
        "seeds": "1", "staff_property_company": "0.5"}


def finished(engine, run_id: int, bound_s: float = 300) -> dict:
    """The run once the background job is done with it (a bound, not a timing assertion)."""
    deadline = time.monotonic() + bound_s
    while True:
        run = engine.whatif_runs.get(run_id)
        if run["status"] in ("done", "failed"):
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}: {run['progress']}"
        time.sleep(0.2)


def run_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/designer/whatif/(\d+)$", response.headers["Location"]).group(1))


@pytest.mark.parametrize("user,status", [("designer", 200), ("admin", 200), ("dispatcher", 403),
                                         ("property1", 403), ("patrol_lead", 403)])
def test_only_designers_and_admins_see_the_page(login, user, status):
    assert login(user).get("/designer/whatif?process=closed_loop").status_code == status
    assert login(user).post("/designer/whatif", data=TINY).status_code == (302 if status == 200 else status)


def test_nobody_is_sent_to_log_in_and_a_form_without_its_token_is_refused(login, seeded):
    assert login().get("/designer/whatif").status_code == 302
    designer = login("designer")
    refused = designer.flask.post("/designer/whatif", data=TINY)
    assert refused.status_code == 400 and seeded.whatif_runs.recent() == []


@pytest.mark.parametrize("change,field", [
    ({"staff_no_such_team": "0.5"}, "staff_no_such_team"), ({"staff_police": "0"}, "staff_police"),
    ({"staff_police": "many"}, "staff_police"), ({"staff_police": "nan"}, "staff_police"),
    ({"scale": "5"}, "scale"), ({"days": "40"}, "days"), ({"source": "recorded", "days": "0.5"}, "days"),
    ({"seeds": "9"}, "seeds"), ({"seeds": "1.5"}, "seeds"), ({"source": "tomorrow"}, "source"),
    ({"scenarios": "no_such_scenario"}, "scenarios"), ({"routing": "routing:x"}, "routing"),
    ({"b": "version:x"}, "b"), ({"b": "version:\u00b2"}, "b"), ({"routing": "routing:\u00b2"}, "routing"),
    ({"b": "version:" + "9" * 5000}, "b"), ({"staff_property_company": ""}, "b")])   # B the same as A
def test_bad_input_is_refused_with_its_reason(login, seeded, change, field):
    response = login("designer").post("/designer/whatif", data={**TINY, **change})
    assert response.status_code == 422
    assert f'id="error-{field}"' in response.get_data(as_text=True)
    assert seeded.whatif_runs.recent() == []


def test_what_does_not_exist_is_not_found(login, seeded):
    designer = login("designer")
    assert designer.get("/designer/whatif?process=no_such_process").status_code == 404
    assert designer.post("/designer/whatif", data={**TINY, "process": "closed_loop", "b": "version:99"}).status_code == 404
    assert designer.post("/designer/whatif", data={**TINY, "process": "closed_loop", "b": "draft"}).status_code == 404
    assert designer.post("/designer/whatif", data={**TINY, "routing": "routing:99"}).status_code == 404
    assert designer.get("/designer/whatif/12345").status_code == 404
    assert seeded.whatif_runs.recent() == []


def test_a_run_goes_through_the_job_runner_to_the_comparison(login, seeded):
    designer = login("designer")
    run_id = run_id_of(designer.post("/designer/whatif", data={**TINY, "process": "closed_loop",
                                                              "b": "version:1"}))
    run = finished(seeded, run_id)
    assert run["status"] == "done", run["error"]
    assert run["requested_by"] == "designer" and run["process_id"] == "closed_loop"
    assert run["setup"]["staffing"] == {"property_company": 0.5} and run["setup"]["seeds"] == [1]
    assert run["files"]["closed_loop.bpmn"].startswith("<?xml")        # B's files as they stood when asked
    result = run["result"]
    assert result["setups"] == ["A", "B"] and result["indicators"]["cases"]["a"] > 0
    assert result["teams"] and all(set(row) == {"on_time_rate", "backlog", "overdue"}
                                   for row in result["teams"].values())
    assert "door_open" in result["scenarios"]
    assert run["progress"] == {"done": 2, "total": 2, "line": run["progress"]["line"]}
    page = designer.get(f"/designer/whatif/{run_id}").get_data(as_text=True)
    assert 'id="whatif-indicators"' in page and 'data-team="command_centre"' in page
    assert 'data-scenario="door_open"' in page and 'http-equiv="refresh"' not in page
    listing = designer.get("/designer/whatif?process=closed_loop").get_data(as_text=True)
    assert f'data-run="{run_id}" data-status="done"' in listing


def test_a_draft_that_will_not_deploy_fails_with_its_problems(login, seeded):
    files = {p.name: p.read_bytes() for p in (ROOT / "bpmn").iterdir() if p.is_file()}
    files["closed_loop.bpmn"] = files["closed_loop.bpmn"].replace(b"# Start data", b"x = ((\n# Start data", 1)
    drafts.save(seeded.store, "closed_loop", "designer", files, None)
    designer = login("designer")
    assert "my draft" in designer.get("/designer/whatif?process=closed_loop&lang=en").get_data(as_text=True)
    run_id = run_id_of(designer.post("/designer/whatif", data={**TINY, "process": "closed_loop", "b": "draft"}))
    run = finished(seeded, run_id)
    assert run["status"] == "failed" and run["result"] is None
    failure = json.loads(run["error"])
    assert failure["kind"] == "deploy" and any(p["element_id"] == "intake" for p in failure["problems"])
    page = designer.get(f"/designer/whatif/{run_id}?lang=en").get_data(as_text=True)
    assert "would not deploy" in page and "intake" in page and "Traceback" not in page
    chinese = designer.get(f"/designer/whatif/{run_id}?lang=zh").get_data(as_text=True)
    assert "无法部署" in chinese and "脚本无法编译" in chinese and "script无法" not in chinese        # the engine's sentence, in the reader's language


def test_a_recorded_period_with_nothing_in_it_says_so(login, seeded):
    designer = login("designer")
    form = designer.get("/designer/whatif").get_data(as_text=True)
    assert 'id="too-little"' in form and 'id="source-simulated" checked' in form
    run_id = run_id_of(designer.post("/designer/whatif", data={**TINY, "source": "recorded", "days": "30"}))
    run = finished(seeded, run_id)
    assert run["status"] == "failed" and json.loads(run["error"]) == {"kind": "nothing"}
    assert "no alarm and no report" in designer.get(f"/designer/whatif/{run_id}?lang=en").get_data(as_text=True)


def test_a_run_replays_what_this_database_recorded(login, seeded, manual_clock):
    """Two alarms and a hotline report of the last day, replayed on the devices they came from."""
    import_devices(seeded.store, DEVICES)
    start = manual_clock.now()
    for minutes, device, scenario in ((5, "GEO-1", "fire_lane"), (20, "DCM-1", "door_open")):
        manual_clock.set(start + timedelta(minutes=minutes))
        assert accept_alert(seeded, message(device, scenario, "alarm"), "test").status == "accepted"
    manual_clock.set(start + timedelta(minutes=30))
    seeded.start("closed_loop", {"scenario": "illegal_dumping", "channel": "hotline", "severity": "medium",
                                 "address": "广中路 100号", "reported_at": manual_clock.now().isoformat()})
    manual_clock.set(start + timedelta(hours=2))
    designer = login("designer")
    form = designer.get("/designer/whatif?lang=en").get_data(as_text=True)
    assert "opened 2 case(s)" in form and "and reports 1" in form
    run_id = run_id_of(designer.post("/designer/whatif", data={"source": "recorded", "days": "1", "seeds": "1",
                                                              "staff_police": "0.5"}))
    run = finished(seeded, run_id)
    assert run["status"] == "done", run["error"]
    assert run["result"]["period"]["events"] == 3 and run["result"]["period"]["counts"] == {"alarm": 2, "hotline": 1}
    assert run["result"]["indicators"]["cases"]["a"] == 3
    assert "3 alarms, clears and reports replayed" in designer.get(f"/designer/whatif/{run_id}?lang=en").get_data(
        as_text=True)
