"""Department data exchange, inbound: the water company's system answers a hydrant case through the API with its
bearer token; the answer reaches the waiting repair step by message correlation, audited; nothing else is let in."""
from __future__ import annotations

from engine import people
from tests.webui.conftest import PASSWORD, fire_lane_alert


def hydrant_case(seeded) -> int:
    data = fire_lane_alert("HP-0912", scenario="hydrant_pressure", address="长寿路 1 号 消火栓")
    instance_id = seeded.start("closed_loop", data)
    [check] = [t for t in seeded.ready_tasks(instance_id=instance_id) if t["bpmn_id"] == "check_hydrant"] or [None]
    if check is None:  # registered by the dispatcher first when it is inside a compound
        [register] = seeded.ready_tasks(instance_id=instance_id)
        seeded.complete_task(register["id"], {"decision": "registered"}, actor="dispatcher")
        [check] = seeded.ready_tasks(instance_id=instance_id)
    seeded.complete_task(check["id"], {"pressure_mpa": 0.05, "cause": "pipe_leak", "photos": ["media/hy-1.jpg"]},
                         actor="water1")
    assert [t["bpmn_id"] for t in seeded.ready_tasks(instance_id=instance_id)] == ["repair_mains"]
    return instance_id


def client(app, seeded, username: str, roles: list[str], teams: list[str]):
    people.add_user(seeded.store, username, PASSWORD, roles, teams)
    token = people.create_token(seeded.store, username, "department system")
    flask = app.test_client()
    return lambda body, department="water_company": flask.post(
        f"/api/v1/departments/{department}/answers", json=body, headers={"Authorization": f"Bearer {token}"})


def test_the_water_company_answers_a_waiting_case_through_the_api(app, seeded):
    instance_id = hydrant_case(seeded)
    water = client(app, seeded, "water_system", ["officer"], ["water_company"])
    answer = {"message": "hydrant_repaired", "correlations": {"device_id": "HP-0912"},
              "answer": {"work_order": "SW-2026-0412", "pressure_after_mpa": 0.32}}
    assert water({**answer, "correlations": {"device_id": "HP-0001"}}).status_code == 404   # no such case waits
    answered = water(answer)
    assert answered.status_code == 200 and answered.get_json() == {"delivered": [instance_id]}
    assert [t["bpmn_id"] for t in seeded.ready_tasks(instance_id=instance_id)] == ["verify"]
    data = seeded.get(instance_id).data["department_answer"]
    assert data == {"department": "water_company", "answer": answer["answer"], "device_id": "HP-0912"}
    [received] = [e for e in seeded.history(instance_id) if e["kind"] == "message.received"]
    assert received["actor"] == "water_company:water_system" and received["detail"]["lane"] == "water_company"
    assert water(answer).status_code == 404  # answered already: nothing waits any more
    # the case now waits at verification for the sensor's all-clear: not the water company's to send
    assert water({"message": "sensor_clear", "correlations": {"device_id": "HP-0912"}}).status_code == 404
    assert [t["bpmn_id"] for t in seeded.ready_tasks(instance_id=instance_id)] == ["verify"]


def test_only_the_department_itself_answers_and_bad_bodies_are_refused(app, seeded):
    instance_id = hydrant_case(seeded)
    patrol = client(app, seeded, "patrol_system", ["officer"], ["grid_patrol"])
    body = {"message": "hydrant_repaired", "correlations": {"device_id": "HP-0912"}, "answer": {}}
    assert patrol(body).status_code == 404                    # not a member of the water company
    assert patrol(body, department="grid_patrol").status_code == 404   # its own lane has no such step
    water = client(app, seeded, "water_system", ["officer"], ["water_company"])
    for bad in ({}, {"message": "", "correlations": {"device_id": "x"}}, {"message": "m", "correlations": {}},
                {"message": "m", "correlations": {"device_id": True}}, {"message": "m", "correlations": ["x"]},
                {"message": "m", "correlations": {"device_id": "x"}, "answer": [1]}):
        refused = water(bad)
        assert refused.status_code == 422 and refused.get_json()["error"]["code"], bad
    assert app.test_client().post("/api/v1/departments/water_company/answers", json=body).status_code == 401
    assert [t["bpmn_id"] for t in seeded.ready_tasks(instance_id=instance_id)] == ["repair_mains"]
