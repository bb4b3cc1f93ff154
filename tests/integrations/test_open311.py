"""Open311 GeoReport v2 (integrations/open311.py) through the app: services, filing, reading back, errors, keys,
and the reporter's contact kept from everyone but the call-back team."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jingzhi.cli import main
from tests.bpmn.conftest import Case

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def hotline_key(seeded):
    return seeded.open311.create_key("12345热线平台", "hotline")


def post(client, fmt="json", **fields):
    return client.post(f"/open311/v2/requests.{fmt}", data=fields, content_type=FORM)


def test_services_list_the_districts_scenarios_in_chinese_in_json_and_xml(app):
    client = app.test_client()
    services = client.get("/open311/v2/services.json").get_json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["fire_lane"]["service_name"] == "消防通道占用"
    assert by_code["fire_lane"]["metadata"] is True and by_code["door_open"]["metadata"] is False
    assert "other" in by_code and len(services) == 9
    response = client.get("/open311/v2/services.xml")
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "services"
    assert [s.findtext("service_name") for s in root if s.findtext("service_code") == "group_renting"] == ["群租"]
    definition = client.get("/open311/v2/services/illegal_dumping.json").get_json()
    [attribute] = definition["attributes"]
    assert (attribute["code"], attribute["datatype"], attribute["required"]) == ("waste_kind", "singlevaluelist", True)
    xml = ET.fromstring(client.get("/open311/v2/services/illegal_dumping.xml").data)
    assert xml.tag == "service_definition"
    assert [v.findtext("name") for v in xml.iter("value")] == ["建筑垃圾", "生活垃圾", "大件垃圾", "其他"]


def test_errors_use_the_specifications_document_and_4xx_codes(app, hotline_key):
    client = app.test_client()
    missing = client.get("/open311/v2/services/no_such.xml")
    assert missing.status_code == 404
    error = ET.fromstring(missing.data).find("error")
    assert (error.findtext("code"), error.findtext("description")) == ("404", "no service 'no_such'")
    assert client.get("/open311/v2/services.csv").status_code == 400
    cases = [({"service_code": "door_open", "address_string": "x"}, 403, "api_key"),
             ({"api_key": "wrong", "service_code": "door_open", "address_string": "x"}, 403, "api_key"),
             ({"api_key": hotline_key, "address_string": "x"}, 400, "service_code"),
             ({"api_key": hotline_key, "service_code": "nope", "address_string": "x"}, 404, "no service"),
             ({"api_key": hotline_key, "service_code": "door_open"}, 400, "location"),
             ({"api_key": hotline_key, "service_code": "door_open", "lat": "31.2"}, 400, "together"),
             ({"api_key": hotline_key, "service_code": "door_open", "lat": "91", "long": "121"}, 400, "between"),
             ({"api_key": hotline_key, "service_code": "door_open", "lat": "north", "long": "121"}, 400, "number"),
             ({"api_key": hotline_key, "service_code": "door_open", "address_string": "x", "media_url": "file:///etc"},
              400, "media_url"),
             ({"api_key": hotline_key, "service_code": "door_open", "address_string": "x",
               "description": "长" * 4001}, 400, "4000"),
             ({"api_key": hotline_key, "service_code": "illegal_dumping", "address_string": "x"}, 400,
              "attribute[waste_kind]"),
             ({"api_key": hotline_key, "service_code": "illegal_dumping", "address_string": "x",
               "attribute[waste_kind]": "nuclear"}, 400, "one of construction"),
             ({"api_key": hotline_key, "service_code": "door_open", "address_string": "x",
               "attribute[colour]": "red"}, 400, "no such question"),
             ({"api_key": hotline_key, "service_code": "door_open", "address_string": "x",
               "description": "a\x00b"}, 400, "NUL"),
             ({"api_key": hotline_key, "service_code": "fire_lane", "address_string": "x",
               "attribute[blocked]": "yes", "attribute[plate]": "\x00"}, 400, "NUL")]
    for fields, status, words in cases:
        response = post(client, **fields)
        assert response.status_code == status, (fields, response.data)
        [body] = response.get_json()
        assert body["code"] == status and words in body["description"], (fields, body)
    assert client.get("/open311/v2/requests/999.json").status_code == 404
    assert client.get(f"/open311/v2/requests/{10**20}.xml").status_code == 404
    assert client.get(f"/open311/v2/requests.json?service_request_id=1,{10**20}").get_json() == []
    for query in ("start_date=yesterday", "start_date=2026-01-01T00:00:00", "status=pending", "service_request_id=a",
                  "start_date=2025-01-01T00:00:00Z&end_date=2026-01-01T00:00:00Z"):
        response = client.get(f"/open311/v2/requests.json?{query}")
        assert response.status_code == 400, query
        assert response.get_json()[0]["code"] == 400
    assert app.extensions["jingzhi_engine"].open311.requests() == []   # nothing refused was kept


def test_a_hotline_request_becomes_a_case_and_only_the_call_back_team_sees_the_contact(app, seeded, hotline_key,
                                                                                        login, manual_clock):
    client = app.test_client()
    response = post(client, "xml", api_key=hotline_key, service_code="street_trading", lat="31.2701",
                    long="121.4812", address_string="广中路 88号 门口", description="水果摊占用人行道",
                    first_name="三", last_name="张", phone="13812345678", email="zhang.san@example.cn",
                    media_url="https://pics.example.cn/a.jpg")
    assert response.status_code == 201, response.data
    request_id = ET.fromstring(response.data).find("request").findtext("service_request_id")

    [row] = seeded.open311.requests(ids=[int(request_id)])
    instance_id = row["instance_id"]
    view = seeded.get(instance_id)
    assert (view.case["channel"], view.case["scenario"], view.case["address"]) == ("hotline", "street_trading",
                                                                                   "广中路 88号 门口")
    assert view.business_key == f"open311-{request_id}"
    assert view.data["reporter"] == "张* · 138****5678 · z***@example.cn"
    assert [t["bpmn_id"] for t in seeded.ready_tasks(teams=["command_centre"])] == ["register"]

    secrets = ("13812345678", "zhang.san@example.cn", "张三")
    dispatcher = login("dispatcher")
    seen = [dispatcher.get(f"/cases/{instance_id}").get_data(as_text=True),
            dispatcher.api("GET", f"/api/v1/cases/{instance_id}").get_data(as_text=True),
            str(seeded.history(instance_id)), client.get(f"/open311/v2/requests/{request_id}.json").get_data(True),
            client.get("/open311/v2/requests.xml").get_data(as_text=True)]
    for page in seen:
        assert not any(secret in page for secret in secrets)
    [read_back] = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
    assert read_back["status"] == "open" and read_back["media_url"] == "https://pics.example.cn/a.jpg"
    assert (read_back["agency_responsible"], read_back["status_notes"]) == ("城运中心指挥大厅", "待立案")
    assert read_back["expected_datetime"] is not None

    # before the call-back task exists nobody sees the contact, the dispatcher included
    assert dispatcher.get(f"/open311/contacts/{instance_id}").status_code == 404
    assert 'id="contact-link"' not in dispatcher.get(f"/cases/{instance_id}").get_data(as_text=True)
    case = Case(seeded, instance_id, manual_clock)
    case.complete("register", "command_centre", actor="dispatcher")
    case.complete("persuade", "urban_management", actor="officer-7")
    case.complete("verify", "grid_patrol", actor="patrol1")
    assert case.task("callback", "command_centre")
    # the dispatcher reaches the contact from the inbox row of the call-back task and from the case page
    contact_url = f'href="/open311/contacts/{instance_id}"'
    assert contact_url in dispatcher.get("/inbox").get_data(as_text=True)
    assert contact_url in dispatcher.get(f"/cases/{instance_id}").get_data(as_text=True)
    assert contact_url not in login("patrol1").get("/inbox").get_data(as_text=True)
    assert login("patrol1").get(f"/open311/contacts/{instance_id}").status_code == 404
    anonymous = client.get(f"/open311/contacts/{instance_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    page = dispatcher.get(f"/open311/contacts/{instance_id}")
    assert page.status_code == 200 and "13812345678" in page.get_data(as_text=True)
    assert dispatcher.flask.get(f"/open311/contacts/{instance_id}", headers={"Accept": "application/json"}
                                ).get_json()["contact"]["phone"] == "13812345678"
    viewed = [e for e in seeded.history(instance_id) if e["kind"] == "contact.viewed"]
    assert [e["actor"] for e in viewed] == ["dispatcher", "dispatcher"]
    assert not any(secret in str(seeded.history(instance_id)) for secret in secrets)


def test_get_requests_filters_by_id_code_dates_and_status(app, seeded, hotline_key, manual_clock):
    client = app.test_client()
    resident = seeded.open311.create_key("居民小程序", "resident")
    first = post(client, api_key=hotline_key, service_code="door_open", address_string="1号楼").get_json()
    manual_clock.advance(hours=2)
    second = post(client, api_key=resident, service_code="group_renting", address_string="2号楼",
                  **{"attribute[room]": "2-301", "attribute[occupants]": "12"}).get_json()
    ids = [first[0]["service_request_id"], second[0]["service_request_id"]]
    [row] = seeded.open311.requests(ids=[int(ids[1])])
    assert seeded.get(row["instance_id"]).case["channel"] == "resident"
    assert seeded.get(row["instance_id"]).data["attributes"] == {"room": "2-301", "occupants": 12.0}

    def listed(query: str) -> list[str]:
        response = client.get(f"/open311/v2/requests.json?{query}")
        assert response.status_code == 200, response.data
        return [r["service_request_id"] for r in response.get_json()]

    assert listed("") == ids[::-1]
    assert listed(f"service_request_id={ids[0]},{ids[1]}&service_code=nothing") == ids[::-1]
    assert listed("service_code=group_renting") == [ids[1]]
    assert listed("service_code=door_open,group_renting&status=open") == ids[::-1]
    assert listed("status=closed") == []
    start = manual_clock.now().isoformat().replace("+00:00", "Z")
    assert listed(f"start_date={start}") == [ids[1]]
    manual_clock.advance(hours=-1)
    before = manual_clock.now().isoformat().replace("+00:00", "%2B00:00")
    assert listed(f"end_date={before}") == [ids[0]]
    xml = ET.fromstring(client.get(f"/open311/v2/requests.xml?service_request_id={ids[1]}").data)
    [request] = xml.findall("request")
    assert request.findtext("service_name") == "群租" and request.findtext("status") == "open"
    assert request.findtext("expected_datetime").endswith("+08:00")


def test_cli_creates_a_key_stored_only_hashed_and_revokes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["open311", "key", "create", "12345-platform"]) == 0
    key = capsys.readouterr().out.strip()
    assert len(key) >= 40
    assert main(["open311", "key", "create", "mini-app", "--channel", "resident"]) == 0
    import sqlite3
    with sqlite3.connect(tmp_path / "cli.db") as db:
        rows = db.execute("SELECT name, channel, key_hash FROM open311_client ORDER BY id").fetchall()
    assert [(name, channel) for name, channel, _ in rows] == [("12345-platform", "hotline"), ("mini-app", "resident")]
    assert key not in str(rows)
    assert main(["open311", "key", "revoke", "12345-platform"]) == 0
    assert main(["open311", "key", "revoke", "12345-platform"]) == 2


def test_a_hotline_report_near_an_open_sensor_case_is_merged_into_it_in_one_click(app, seeded, hotline_key, login,
                                                                                  manual_clock):
    from tests.webui.conftest import fire_lane_alert

    sensor_case = seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    client = app.test_client()

    def report(lat: str, lon: str) -> tuple[str, int]:
        [answer] = post(client, api_key=hotline_key, service_code="fire_lane", lat=lat, long=lon,
                        address_string="何家宅小区 3号楼", description="消防通道被车堵了", phone="13900000000",
                        **{"attribute[blocked]": "yes"}).get_json()
        [row] = seeded.open311.requests(ids=[int(answer["service_request_id"])])
        return answer["service_request_id"], row["instance_id"]

    near_id, near_case = report("31.27015", "121.4812")      # about 6 m away
    _, far_case = report("31.2801", "121.4812")               # about 1.1 km away: another problem
    dispatcher = login("dispatcher")
    page = dispatcher.get("/same").get_data(as_text=True)
    assert f'id="same-{near_case}"' in page and f'id="same-{far_case}"' not in page
    assert f"/same/{near_case}/merge/{sensor_case}" in page and "6 m" in page
    assert login("patrol1").get("/same").status_code == 403
    assert dispatcher.post(f"/same/{near_case}/merge/{far_case}").status_code == 409   # not a neighbour

    merged = dispatcher.post(f"/same/{near_case}/merge/{sensor_case}")
    assert merged.status_code == 302 and merged.headers["Location"].endswith(f"/cases/{sensor_case}")
    report_view = seeded.get(near_case)
    assert (report_view.case["stage"], report_view.case["outcome"]) == ("rejected", "duplicate")
    assert report_view.data["duplicate_of"] == str(sensor_case)
    [event] = [e for e in seeded.history(sensor_case) if e["kind"] == "report.merged"]
    assert (event["actor"], event["detail"]["channel"], event["detail"]["from_case"]) == ("dispatcher", "hotline",
                                                                                          near_case)
    assert "13900000000" not in str(seeded.history(sensor_case))
    assert dispatcher.post(f"/same/{near_case}/merge/{sensor_case}").status_code == 409   # done already

    # the hotline caller now follows the sensor case: open while it is handled, closed with it
    [read_back] = client.get(f"/open311/v2/requests/{near_id}.json").get_json()
    assert (read_back["status"], read_back["status_notes"]) == ("open", "待立案")
    case = Case(seeded, sensor_case, manual_clock)
    case.complete("register", "command_centre", actor="dispatcher")
    case.complete("move_vehicle", "property_company", actor="property1")
    case.complete("verify", "grid_patrol", actor="patrol1")
    [closed] = client.get(f"/open311/v2/requests/{near_id}.json").get_json()
    assert closed["status"] == "closed" and closed["status_notes"].startswith("已结案")
