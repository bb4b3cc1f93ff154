"""A department system answers a waiting case: the water company's system reports the pipes repaired, and the
message reaches the hydrant playbook's repair task by correlation on the hydrant's device id, audited."""
from __future__ import annotations

import pytest

from engine.exceptions import MessageNotCorrelated

from .conftest import alert


def test_the_water_company_reports_the_pipes_repaired(engine, start, manual_clock):
    case = start(alert("hydrant_pressure", manual_clock.now(), device_id="HP-0912", inside_compound=True))
    case.complete("check_hydrant", "water_company", cause="pipe_leak")
    case.task("repair_mains", "water_company")
    with pytest.raises(MessageNotCorrelated):  # another hydrant: nobody waits for it
        engine.send_message("hydrant_repaired", {"device_id": "HP-0001"}, {"work_order": "W-1"}, actor="water_co")
    answer = {"work_order": "SW-2026-0412", "pressure_after_mpa": 0.32, "repaired_at": "2026-01-05T15:00:00+08:00"}
    assert engine.send_message("hydrant_repaired", {"device_id": "HP-0912"}, answer, actor="water_co") == [case.id]
    assert ("repair_mains", "water_company") not in case.ready()
    statuses = {t["bpmn_id"]: t["status"] for t in case.view().tasks}
    assert statuses["repair_mains"] == "cancelled"
    assert case.view().data["department_answer"]["work_order"] == "SW-2026-0412"
    received = [e for e in engine.history(case.id) if e["kind"] == "message.received"]
    assert received[-1]["actor"] == "water_co" and received[-1]["detail"]["name"] == "hydrant_repaired"
    case.verify_and_close()
    assert case.case["outcome"] == "repaired"
