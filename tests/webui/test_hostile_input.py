"""Input that deserves a 4xx gets one, on SQLite and PostgreSQL: ids no row can have, NUL characters, numbers where
text belongs and the reverse, JSON the database cannot store, absurd page sizes and dates. JSON errors under /api,
an error page elsewhere; never a 500, and nothing stored."""
from __future__ import annotations

import json


from sqlalchemy import func, select

from engine.models import Case

HUGE = [2**31, 2**63, 10**30]
REPORT = {"scenario": "fire_lane", "channel": "hotline", "address": "何家宅小区 3号楼"}


def cases_count(seeded) -> int:
    with seeded.store.read() as connection:
        return connection.scalar(select(func.count()).select_from(Case))


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body["error"]) >= {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_ids_beyond_the_database_range_are_not_found(login, registered_case):
    client = login("admin")
    for number in HUGE:
        ids_are_not_found(client, number)


def ids_are_not_found(client, number: int) -> None:
    for method, url in [("GET", f"/api/v1/tasks/{number}"), ("POST", f"/api/v1/tasks/{number}/claim"),
                        ("POST", f"/api/v1/tasks/{number}/unclaim"), ("POST", f"/api/v1/tasks/{number}/complete"),
                        ("GET", f"/api/v1/cases/{number}"),
                        ("POST", f"/api/v1/designer/closed_loop/{number}/migrate")]:
        assert_json_error(client.api(method, url, {"data": {}}), 404)
    for url in (f"/tasks/{number}", f"/cases/{number}", f"/cases/{number}/diagram.bpmn",
                f"/designer/closed_loop/{number}"):
        page = client.get(url)
        assert page.status_code == 404 and "<html" in page.get_data(as_text=True).lower()
    assert client.post(f"/admin/failed/{number}/retry").status_code == 404
    assert client.get(f"/admin/users/{number}").status_code == 404
    assert client.post(f"/tasks/{number}/claim").status_code == 404


def test_the_largest_id_a_row_can_have_is_an_ordinary_unknown_id(login, registered_case):
    client = login("admin")
    error = assert_json_error(client.api("GET", f"/api/v1/tasks/{2**31 - 1}"), 404, "not_found")
    assert str(2**31 - 1) in error["message"]


def test_nul_characters_in_the_query_the_path_or_a_form_are_refused(login, seeded, registered_case):
    client = login("dispatcher")
    for url in ("/api/v1/tasks?scenario=fire%00lane", "/api/v1/cases?compound=%00", "/api/v1/kpis?from=%00",
                "/api/v1/tasks?sco%00pe=all", "/api/v1/tasks/1?x=%00"):
        assert "NUL" in assert_json_error(client.get(url), 400)["message"]
    for url in ("/inbox?compound=a%00b", "/cases?scenario=%00", "/cases?stage=x%00", "/dashboard?from=%00"):
        page = client.get(url)
        assert page.status_code == 400 and "NUL" in page.get_data(as_text=True)
    designer = login("designer")
    assert designer.get("/designer/closed%00loop/edit").status_code == 400
    assert_json_error(designer.api("DELETE", "/api/v1/designer/drafts/a%00b"), 400)

    before = cases_count(seeded)
    page = client.post("/report", {**REPORT, "address": "3号楼\x00"})
    assert page.status_code == 400 and "NUL" in page.get_data(as_text=True)
    anonymous = login(None)
    assert anonymous.flask.post("/login", data={"username": "admin\x00", "password": "x"}).status_code == 400
    assert cases_count(seeded) == before


WRONG_REPORTS = [
    ({**REPORT, "scenario": 5}, "scenario"), ({**REPORT, "address": ["x"]}, "address"),
    ({**REPORT, "channel": {"a": 1}}, "channel"), ({**REPORT, "severity": True}, "severity"),
    ({**REPORT, "description": 1.5}, "description"), ({**REPORT, "address": "长" * 301}, "address"),
    ({**REPORT, "compound": "x" * 121}, "compound"),
]


def test_a_report_with_a_wrong_type_or_length_is_refused_field_by_field(login, seeded):
    client = login("dispatcher")
    before = cases_count(seeded)
    for body, field in WRONG_REPORTS:
        error = assert_json_error(client.api("POST", "/api/v1/cases", body), 422, "form_invalid")
        assert list(error["details"]) == [field], body
    assert cases_count(seeded) == before
    assert client.api("POST", "/api/v1/cases", REPORT).status_code == 201


UNSTORABLE = [
    b'{"scenario": NaN, "channel": "hotline", "address": "x"}', b'{"address": Infinity}', b'{"a": -Infinity}',
    b'{"scenario": "fire_lane", "channel": "hotline", "address": "x\\u0000"}',
    b'{"scenario": "fire_lane", "channel": "hotline", "address": "\\ud800"}',
    b'{"k\\u0000": 1}', b'{"a":' * 40 + b'1' + b'}' * 40, b'{"a":' * 100000 + b'1' + b'}' * 100000,
    b'[1, 2]', b'"text"', b'12', b'', b'{', b'\xff\xfe{}', b'null',
]


def test_json_the_database_cannot_store_is_refused_before_anything_runs(login, seeded, registered_case):
    client = login("admin")
    _, move = registered_case
    before = cases_count(seeded)
    for raw in UNSTORABLE:
        for url in ("/api/v1/cases", f"/api/v1/tasks/{move['id']}/complete"):
            response = client.flask.post(url, data=raw, content_type="application/json",
                                         headers={"X-CSRF-Token": client.csrf})
            assert_json_error(response, 422)
    assert cases_count(seeded) == before
    assert seeded.task(move["id"])["status"] == "ready"


def test_task_data_of_the_wrong_type_is_a_form_error(login, seeded, registered_case):
    _, move = registered_case
    client = login("property1")
    assert_json_error(client.api("POST", f"/api/v1/tasks/{move['id']}/complete", {"data": "moved"}), 422)
    assert_json_error(client.api("POST", f"/api/v1/tasks/{move['id']}/complete", {"data": [1]}), 422)
    error = assert_json_error(client.api("POST", f"/api/v1/tasks/{move['id']}/complete",
                                         {"data": {"plate_number": 12345, "owner_contacted": "yes",
                                                   "vehicle_moved": 1}}), 422, "form_invalid")
    assert error["details"]
    assert seeded.task(move["id"])["status"] == "ready"


def test_a_version_number_sent_as_text_is_refused(login, seeded):
    designer = login("designer")
    for to_version in ("2", 2.5, True, [2], {"v": 2}):
        assert_json_error(designer.api("POST", "/api/v1/designer/closed_loop/1/migrate",
                                       {"to_version": to_version}), 422)


def test_absurd_page_sizes_are_refused_and_sizes_in_range_served(login, registered_case):
    client = login("dispatcher")
    for limit in ("0", "-1", "501", str(10**30), "1e3", "abc", "", "1.5", "٣", "1_0"):
        error = assert_json_error(client.get("/api/v1/tasks", query_string={"limit": limit}), 422, "form_invalid")
        assert "limit" in error["details"]
    for page in ("0", "-1", str(2**31), str(10**30), "1e3", "abc", ""):   # the case list clamps its pages
        for name in ("page", "per_page"):
            assert client.get("/api/v1/cases", query_string={name: page}).status_code == 200
    assert client.get("/api/v1/cases?per_page=1").get_json()["count"] == 1
    assert client.get("/api/v1/tasks?limit=500").status_code == 200


def test_absurd_dates_are_refused(login):
    client = login("dispatcher")
    for period in ({"from": "9999-12-31"}, {"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "2026-02-30"},
                   {"from": "2026-03-01", "to": "2026-02-01"}, {"from": "x" * 5000}):
        assert_json_error(client.get("/api/v1/kpis", query_string=period), 422)
        assert client.get("/dashboard", query_string=period).status_code == 422
        assert client.get("/dashboard.csv", query_string=period).status_code == 422


def test_the_document_lists_every_status_an_operation_answers(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert "400" in statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= statuses, (method, path)
            if operation.get("security") != []:
                assert {"401", "403"} <= statuses, (method, path)
    assert json.dumps(document)


def test_the_designer_takes_no_id_or_text_the_database_cannot_hold(login, seeded):
    designer = login("designer")
    assert designer.get(f"/designer/closed_loop/compare?from={10**30}&to=1").status_code == 404
    files = {"files": {"x.bpmn": "<definitions/>"}}
    saved = designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {**files, "base_deployment_id": 10**30})
    assert saved.status_code == 200 and saved.get_json()["base_deployment_id"] is None
    assert_json_error(designer.api("PUT", "/api/v1/designer/drafts/" + "p" * 201, files), 422)
    for body in ({"files": {"x.bpmn": "a\u0000b"}}, {"files": {"x\u0000.bpmn": "x"}}, {**files, "draft": "\ud800"}):
        for method, url in (("POST", "/api/v1/designer/validate"), ("POST", "/api/v1/designer/deploy"),
                            ("PUT", "/api/v1/designer/drafts/closed_loop")):
            response = designer.flask.open(url, method=method, data=json.dumps(body), content_type="application/json",
                                           headers={"X-CSRF-Token": designer.csrf})
            if url.endswith("/validate") and response.status_code == 200:   # a problem of the files, by file
                assert response.get_json()["valid"] is False and response.get_json()["problems"]
            else:
                assert_json_error(response, 422)
    assert_json_error(designer.api("POST", "/api/v1/designer/closed_loop/1/migrate", {"to_version": 2**40}), 422)


def test_the_admin_page_refuses_names_longer_than_their_columns(login, seeded):
    admin = login("admin")
    for fields in ({"username": "u" * 121}, {"username": "someone", "display_name": "名" * 201}):
        page = admin.post("/admin/users", {"password": "long enough password", "roles": ["officer"], **fields})
        assert page.status_code == 422
    assert admin.post("/admin/users/1", {"roles": ["emperor"]}).status_code == 422
    assert admin.post("/admin/users/1", {"display_name": "名" * 201, "roles": ["officer"]}).status_code == 422
    for fields in ({"code": "c" * 61}, {"name_zh": "名" * 201}, {"name_en": "n" * 5000}):
        team = {"code": "night_watch", "name_zh": "夜巡队", "name_en": "Night watch", "kind": "partner", **fields}
        assert admin.post("/admin/teams", team).status_code == 422
    assert admin.post("/admin/teams/" + "t" * 5000, {"name_zh": "名", "name_en": "n", "kind": "other"}
                      ).status_code == 404
    assert admin.post("/admin/teams/" + "t" * 5000 + "/retire").status_code == 404


def test_a_forged_csrf_token_of_any_characters_is_a_400(login, seeded, registered_case):
    client = login("property1")
    _, move = registered_case
    for forged in ("é", "令牌", "x" * 10000):
        assert client.flask.post(f"/tasks/{move['id']}/claim", data={"csrf_token": forged}).status_code == 400
        if forged.isascii() or forged == "é":  # a header travels as Latin-1
            response = client.flask.post(f"/api/v1/tasks/{move['id']}/claim", headers={"X-CSRF-Token": forged})
            assert_json_error(response, 400, "csrf_failed")
    assert seeded.task(move["id"])["assignee"] is None
