"""Open311 against a real ``jingzhi web`` (waitress) on a free loopback port, spoken to by Open311 client libraries
from PyPI: civicbot's GeoReport v2 client files the report (form-encoded POST), georeport reads it back in JSON and
XML. The loop in between is worked through the engine on the same database (SQLite file or PostgreSQL)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

from tests.bpmn.conftest import Case

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(seeded, tmp_path):
    """``jingzhi web`` on the test database; yields its Open311 root."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": seeded.config.database_url, "JINGZHI_SECRET_KEY": "open311-test",
           "JINGZHI_EVIDENCE_DIR": str(tmp_path / "evidence"), "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    with open(tmp_path / "web.log", "wb") as log:   # the child keeps its own handle
        process = subprocess.Popen([sys.executable, "-m", "jingzhi.cli", "web", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):   # up to ~30 s to import and start; fails below if it never answers
        try:
            with urllib.request.urlopen(f"{base}/api/v1/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    else:
        process.kill()
    assert process.poll() is None, (tmp_path / "web.log").read_text(errors="replace")
    yield f"{base}/open311/v2"
    process.terminate()
    process.wait(timeout=30)


def filer(root: str) -> Open311Client:
    endpoint = Endpoint(id="jingzhi", name="精智", base_url=root, write=True)
    return Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)))


def test_a_hotline_report_filed_with_a_pypi_client_is_read_back_closed_with_status_notes(server, seeded,
                                                                                          manual_clock):
    key = seeded.open311.create_key("12345热线平台", "hotline")
    client = filer(server)
    services = client.list_services()
    assert {"service_code": "street_trading", "service_name": "占道经营/跨门营业"}.items() <= \
        next(s for s in services if s["service_code"] == "street_trading").items()
    definition = client.get_service_definition("fire_lane")
    assert [a["code"] for a in definition["attributes"]] == ["blocked", "plate"]

    with pytest.raises(HttpError) as refused:
        client.create_request("street_trading", dry_run=False, confirm="SEND", api_key="not-a-key",
                              address_string="广中路 88号")
    assert refused.value.status == 403 and "api_key" in refused.value.body

    filed = client.create_request(
        "street_trading", dry_run=False, confirm="SEND", api_key=key, validate_remote=True, lat=31.2701,
        lng=121.4812, address_string="广中路 88号 门口", description="水果摊占用人行道", first_name="三",
        last_name="张", phone="13812345678", media_url="https://pics.example.cn/a.jpg")
    [answer] = filed.response
    request_id = answer["service_request_id"]
    assert answer["service_notice"]

    [row] = seeded.open311.requests(ids=[int(request_id)])
    [register] = seeded.ready_tasks(teams=["command_centre"], instance_id=row["instance_id"])
    assert register["bpmn_id"] == "register"                 # in the dispatcher's inbox
    assert seeded.get(row["instance_id"]).case["channel"] == "hotline"

    reader = GeoReport(server)
    reading = reader.get_service_request(request_id)
    assert (reading["status"], reading["service_code"], reading["media_url"]) == (
        "open", "street_trading", "https://pics.example.cn/a.jpg")
    assert "13812345678" not in str(reading)

    case = Case(seeded, row["instance_id"], manual_clock)
    case.complete("register", "command_centre", actor="dispatcher")
    case.complete("persuade", "urban_management", actor="officer-7")
    case.complete("verify", "grid_patrol", actor="patrol1")
    case.complete("callback", "command_centre", actor="dispatcher", satisfaction="satisfied")
    assert case.view().status == "completed"

    closed = reader.get_service_request(request_id)
    assert (closed["status"], closed["status_notes"]) == ("closed", "已结案：persuaded")
    xml_reader = GeoReport(server, output_format="xml")
    from_xml = xml_reader.get_service_request(request_id)
    assert (from_xml["status"], from_xml["status_notes"], from_xml["service_name"]) == (
        "closed", "已结案：persuaded", "占道经营/跨门营业")
    assert from_xml["expected_datetime"] == closed["expected_datetime"]
    listed = reader.get_service_requests(service_code="street_trading", status="closed")
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert reader.get_service_requests(status="open") == []
    xml_services = xml_reader.get_service_list()
    assert {s["service_code"] for s in xml_services} == {s["service_code"] for s in services}
