"""Cases stopped by a failed automatic step, for the operator: listed with why, retried, or cancelled with a
reason, from the admin pages and from the command line."""
from __future__ import annotations

import pytest

from engine.jobs import Jobs
from engine.ticker import Ticker
from jingzhi.cli import main
from tests.conftest import DIAGRAMS, read_files


@pytest.fixture
def parked(seeded, manual_clock):
    """An instance whose deadline escalation script divides by zero, parked by the ticker."""
    seeded.deploy(read_files(*(DIAGRAMS / name for name in ("timer_failure.bpmn", "inspection.bpmn",
                                                           "register.schema.json"))),
                  deployed_by="test")
    instance_id = seeded.start("timer_failure", {"handled": 3}, business_key="FAIL-1")
    manual_clock.advance(hours=2)
    Ticker(Jobs(seeded)).run_once()
    assert seeded.get(instance_id).status == "error"
    return instance_id


def test_the_operator_sees_why_and_retries(login, seeded, parked):
    [row] = seeded.failed_instances()
    assert (row["id"], row["process_id"], row["business_key"]) == (parked, "timer_failure", "FAIL-1")
    assert "ZeroDivisionError" in row["error"]

    admin = login("admin")
    page = admin.get("/admin/failed").get_data(as_text=True)
    assert f'data-instance="{parked}"' in page and "ZeroDivisionError" in page and "自动步骤失败的案件" in page
    again = admin.post(f"/admin/failed/{parked}/retry", {})
    assert again.status_code == 302
    assert "重试仍然失败" in admin.get("/admin/failed").get_data(as_text=True)   # same diagram, same data
    assert seeded.get(parked).status == "error"


def test_cancelling_needs_a_reason_and_ends_the_case(login, seeded, parked):
    admin = login("admin")
    admin.post(f"/admin/failed/{parked}/cancel", {"reason": "  "})
    assert seeded.get(parked).status == "error"
    admin.post(f"/admin/failed/{parked}/cancel", {"reason": "误报，已现场确认 false alarm"})
    view = seeded.get(parked)
    assert view.status == "cancelled" and all(t["status"] != "ready" for t in view.tasks)
    assert seeded.failed_instances() == []
    kinds = [e["kind"] for e in seeded.history(parked)]
    assert kinds.index("instance.failed") < kinds.index("instance.resumed") < kinds.index("instance.cancelled")


def test_the_command_line_lists_retries_and_cancels(seeded, parked, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", seeded.config.database_url)
    assert main(["failed"]) == 0
    listed = capsys.readouterr().out
    assert f"{parked}  timer_failure v1" in listed and "ZeroDivisionError" in listed
    assert main(["failed", "--retry", str(parked)]) == 1           # fails again: exit 1 with the reason
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert main(["failed", "--cancel", str(parked)]) == 2          # no reason
    assert main(["failed", "--cancel", str(parked), "--reason", "duplicate"]) == 0
    assert seeded.get(parked).status == "cancelled"
