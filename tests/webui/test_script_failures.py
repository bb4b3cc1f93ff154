"""A task completion whose diagram script raises SystemExit or runs past its limits is answered (a JSON error naming
the element), saves nothing, and the web app goes on serving requests."""
from __future__ import annotations

import pytest

from tests.engine.test_sandbox import sandbox_files


@pytest.mark.parametrize("script, reason", [
    ("raise SystemExit", "script raised SystemExit"),
    ("raise KeyboardInterrupt", "script raised KeyboardInterrupt"),
    ("import math\nx = math.factorial(10 ** 7)", "script exceeded its time limit"),
    ("x = 'x'.ljust(10 ** 10)", "script exceeded its memory limit"),
], ids=["SystemExit", "KeyboardInterrupt", "cpu", "memory"])
def test_completing_a_task_whose_script_escapes_is_answered(seeded, login, script, reason):
    seeded.deploy(sandbox_files(after=script), deployed_by="test")
    instance_id = seeded.start("sandbox")
    [approve] = seeded.ready_tasks(instance_id=instance_id)
    admin = login("admin")
    response = admin.api("POST", f"/api/v1/tasks/{approve['id']}/complete", {"data": {"approved": True}})
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "instance_failed" and reason in error["message"]
    assert error["details"]["element_id"] == "after"
    assert seeded.ready_tasks(instance_id=instance_id) == [approve]  # nothing saved: still ready
    assert admin.get("/api/v1/healthz").status_code == 200          # and the app goes on
    again = admin.api("POST", f"/api/v1/tasks/{approve['id']}/complete", {"data": {"approved": True}})
    assert again.get_json()["error"]["code"] == "instance_failed"
