"""Every route of the app against anonymous callers, the wrong team and the wrong role, and the one who may.

``ROUTES`` names a case for every endpoint and method of the url_map; a new route without one fails
``test_every_route_has_a_permission_case``. Expected outcomes: HTML pages send anonymous callers to the login page,
the API answers 401; a task or case of another team is "not found" (404), so ids reveal nothing; a missing role is
403.
"""
from __future__ import annotations

import io

import pytest

from tests.webui.conftest import JPEG
from tests.webui.test_designer import TINY

PUBLIC = {("static", "GET"), ("auth.login", "GET"), ("auth.login_post", "POST"), ("auth.logout", "POST"),
          ("api.healthz", "GET"), ("api.openapi_document", "GET"),
          # Open311 (tests/integrations): reads are public as in GeoReport v2; filing needs a client's api_key
          ("open311.services", "GET"), ("open311.service_definition", "GET"), ("open311.list_requests", "GET"),
          ("open311.one_request", "GET"), ("open311.file_request", "POST")}

MOVE_FORM = {"plate_number": "沪A12345", "owner_contacted": "true", "vehicle_moved": "true"}
MOVE_DATA = {"plate_number": "沪A12345", "owner_contacted": True, "vehicle_moved": True,
             "photos_before": ["evidence/1/x.jpg"]}
REPORT = {"scenario": "illegal_dumping", "channel": "hotline", "severity": "medium", "address": "广中路 88号"}


def import_devices(engine, ctx):
    from engine.alarms.devices import import_devices as load
    from tests.sensors.conftest import DEVICES

    load(engine.store, DEVICES)


def alarm(ctx):
    from tests.sensors.conftest import message

    return message("GEO-1", "fire_lane", "alarm")


def hotline_case_at_call_back(engine, ctx):
    """An Open311 hotline report walked to its call-back task (command_centre); it becomes the context's case."""
    from tests.bpmn.conftest import Case

    key = engine.open311.create_key("12345", "hotline")
    client_id = engine.open311.client_for_key(key)["id"]
    request_id = engine.open311.record_request(client_id, {
        "service_code": "street_trading", "address": "广中路 88号", "attributes": {},
        "contact": {"phone": "13812345678"}})
    instance_id = engine.start("closed_loop", {"scenario": "street_trading", "channel": "hotline",
                                               "severity": "medium", "address": "广中路 88号",
                                               "reported_at": "2026-01-05T09:00:00+00:00"})
    engine.open311.link_instance(request_id, instance_id)
    case = Case(engine, instance_id, None)
    case.complete("register", "command_centre", actor="dispatcher")
    case.complete("persuade", "urban_management", actor="officer-7")
    case.complete("verify", "grid_patrol", actor="patrol1")
    ctx["instance"] = instance_id


def hotline_report_near(engine, ctx):
    """A hotline report of the same fire lane, 6 m from the context's case; it becomes the context's case and the
    sensor case is what it may be merged into."""
    from tests.webui.conftest import fire_lane_alert

    ctx["instance"] = engine.start("closed_loop", fire_lane_alert(channel="hotline", lat=31.27015, device_id=None,
                                                                  inside_compound=False, alert_count=None))


def queued_whatif(engine, ctx):
    """A what-if run asked for and waiting (nothing runs it here)."""
    ctx["whatif"] = engine.whatif_runs.ask("designer", {"b": None, "routing": None, "staffing": {"police": 0.5},
                                                        "period": {"source": "recorded", "days": 1}, "seeds": [1]})


def dead_delivery(engine, ctx):
    """A department subscription and one of its deliveries whose retries ran out (an incident on /admin/failed)."""
    from engine import clock
    from engine.models import Delivery, OutboxEvent

    ctx["hook"] = engine.outbox.subscribe("water_company", "http://127.0.0.1:9/hook", ["*"], "WATER_HOOK_SECRET")
    with engine.store.begin() as connection:
        event = connection.execute(OutboxEvent.__table__.insert().values(
            instance_id=ctx["instance"], kind="case.opened", payload={}, created_at=clock.now(), fanned_out=True))
        ctx["delivery"] = connection.execute(Delivery.__table__.insert().values(
            event_id=event.inserted_primary_key[0], instance_id=ctx["instance"], subscriber=f"hook:{ctx['hook']}",
            channel="webhook", subscription_id=ctx["hook"], body="{}", status="dead", attempts=8,
            next_attempt_at=clock.now(), last_error="connection refused", idempotency_key="perm-test-1",
            created_at=clock.now())).inserted_primary_key[0]


def hydrant_waiting_for_the_water_company(engine, ctx):
    """A hydrant case waiting at its repair step for the water company's answer, and a water company officer."""
    from tests.integrations.test_department_answers import hydrant_case
    from tests.webui.conftest import PASSWORD

    hydrant_case(engine)
    engine.people.add_user("water1", PASSWORD, ["officer"], ["water_company"])


def claim_first(engine, ctx):
    engine.claim(ctx["task"], "property1")


#: (endpoint, method) -> url (formatted with the context), body, allowed user and status, then for "wrong team" and
#: "wrong role": (user, status) or (user, status, text that must be absent) or None when the case does not apply.
ROUTES = {
    ("index", "GET"): dict(url="/", allowed=("property1", 302)),
    ("inbox.inbox", "GET"): dict(url="/inbox", allowed=("property1", 200, "task"),
                                 wrong_team=("police1", 200, "task")),
    ("inbox.inbox_rows", "GET"): dict(url="/inbox/rows", allowed=("property1", 200, "task"),
                                      wrong_team=("police1", 200, "task")),
    ("inbox.claim", "POST"): dict(url="/tasks/{task}/claim", allowed=("property1", 302),
                                  wrong_team=("police1", 404), wrong_role=("designer", 404)),
    ("inbox.unclaim", "POST"): dict(url="/tasks/{task}/unclaim", setup=claim_first, allowed=("property1", 302),
                                    wrong_team=("police1", 404), wrong_role=("property2", 403)),
    ("inbox.reassign", "POST"): dict(url="/tasks/{task}/reassign", body={"assignee": "property2"},
                                     allowed=("property_lead", 302), wrong_team=("patrol_lead", 404),
                                     wrong_role=("property1", 403)),
    ("inbox.task", "GET"): dict(url="/tasks/{task}", allowed=("property1", 200), wrong_team=("police1", 404),
                                wrong_role=("designer", 404)),
    ("inbox.complete", "POST"): dict(url="/tasks/{task}", body="move_form", allowed=("property1", 302),
                                     wrong_team=("police1", 404), wrong_role=("designer", 404)),
    ("cases.cases", "GET"): dict(url="/cases", allowed=("property1", 200, "case"),
                                 wrong_team=("police1", 200, "case")),
    ("cases.case", "GET"): dict(url="/cases/{instance}", allowed=("property1", 200), wrong_team=("police1", 404),
                                wrong_role=("designer", 404)),
    ("cases.diagram", "GET"): dict(url="/cases/{instance}/diagram.bpmn", allowed=("property1", 200),
                                   wrong_team=("police1", 404), wrong_role=("designer", 404)),
    ("cases.evidence_file", "GET"): dict(url="/cases/{instance}/evidence/{evidence}", allowed=("property1", 200),
                                         wrong_team=("police1", 404), wrong_role=("designer", 404)),
    ("cases.report", "GET"): dict(url="/report", allowed=("dispatcher", 200), wrong_role=("property1", 403)),
    ("cases.report_post", "POST"): dict(url="/report", body=REPORT, allowed=("dispatcher", 302),
                                        wrong_role=("property1", 403)),
    ("dashboard.dashboard", "GET"): dict(url="/dashboard", allowed=("property_lead", 200),
                                         wrong_role=("property1", 403)),
    ("dashboard.dashboard_csv", "GET"): dict(url="/dashboard.csv", allowed=("dispatcher", 200),
                                             wrong_role=("patrol1", 403)),
    ("admin.users", "GET"): dict(url="/admin/users", allowed=("admin", 200), wrong_role=("dispatcher", 403)),
    ("dashboard.dashboard_charts", "GET"): dict(url="/dashboard/charts.json", allowed=("property_lead", 200),
                                                wrong_role=("property1", 403)),
    ("command.command", "GET"): dict(url="/command", allowed=("dispatcher", 200), wrong_role=("police1", 403)),
    ("command.district_geojson", "GET"): dict(url="/command/district.geojson", allowed=("property_lead", 200),
                                              wrong_role=("property1", 403)),
    ("command.device_positions", "GET"): dict(url="/command/devices.json", setup=import_devices,
                                              allowed=("dispatcher", 200), wrong_role=("property1", 403)),
    ("command.map_data", "GET"): dict(url="/command/map.json", allowed=("admin", 200), wrong_role=("patrol1", 403)),
    ("command.heat", "GET"): dict(url="/command/heat.json", allowed=("dispatcher", 200),
                                  wrong_role=("designer", 403)),
    ("command.feed", "GET"): dict(url="/command/feed.json", allowed=("dispatcher", 200), wrong_role=("patrol1", 403)),
    ("command.devices", "GET"): dict(url="/devices", setup=import_devices, allowed=("patrol_lead", 200),
                                     wrong_role=("patrol1", 403)),
    ("command.device", "GET"): dict(url="/devices/GEO-1", setup=import_devices, allowed=("dispatcher", 200),
                                    wrong_role=("property1", 403)),
    ("command.dead_letters", "GET"): dict(url="/dead-letters", allowed=("admin", 200), wrong_role=("dispatcher", 403)),
    ("admin.add_user", "POST"): dict(url="/admin/users", body={"username": "new1", "password": "long enough pw",
                                                               "roles": "officer", "teams": "police"},
                                     allowed=("admin", 302), wrong_role=("property_lead", 403)),
    ("admin.update_user", "POST"): dict(url="/admin/users/{user}", body={"roles": "officer", "teams": "police",
                                                                         "active": "on"},
                                        allowed=("admin", 302), wrong_role=("dispatcher", 403)),
    ("admin.edit_user", "GET"): dict(url="/admin/users/{user}", allowed=("admin", 200), wrong_role=("designer", 403)),
    ("admin.teams", "GET"): dict(url="/admin/teams", allowed=("admin", 200), wrong_role=("dispatcher", 403)),
    ("admin.create_team", "POST"): dict(url="/admin/teams", body={"code": "night_watch", "name_zh": "夜巡队",
                                                                  "name_en": "Night watch", "kind": "partner"},
                                        allowed=("admin", 302), wrong_role=("property_lead", 403)),
    ("admin.rename_team", "POST"): dict(url="/admin/teams/police", body={"name_zh": "派出所", "name_en": "Police",
                                                                        "kind": "partner"},
                                        allowed=("admin", 302), wrong_role=("dispatcher", 403)),
    ("admin.retire_team", "POST"): dict(url="/admin/teams/police/retire", method="POST", allowed=("admin", 409),
                                        wrong_role=("dispatcher", 403)),
    ("admin.restore_team", "POST"): dict(url="/admin/teams/police/restore", method="POST", allowed=("admin", 302),
                                         wrong_role=("designer", 403)),
    ("api.tasks", "GET"): dict(url="/api/v1/tasks", allowed=("property1", 200, "task"),
                               wrong_team=("police1", 200, "task")),
    ("api.task", "GET"): dict(url="/api/v1/tasks/{task}", allowed=("property1", 200), wrong_team=("police1", 404),
                              wrong_role=("designer", 404)),
    ("api.claim", "POST"): dict(url="/api/v1/tasks/{task}/claim", allowed=("property1", 200),
                                wrong_team=("police1", 404), wrong_role=("designer", 404)),
    ("api.unclaim", "POST"): dict(url="/api/v1/tasks/{task}/unclaim", setup=claim_first,
                                  allowed=("property1", 200), wrong_team=("police1", 404),
                                  wrong_role=("property2", 403)),
    ("api.complete", "POST"): dict(url="/api/v1/tasks/{task}/complete", json=lambda ctx: {"data": {
        **MOVE_DATA, "photos_before": [f"evidence/{ctx['instance']}/{ctx['evidence']}"]}},
                                   allowed=("property1", 200), wrong_team=("police1", 404),
                                   wrong_role=("designer", 404)),
    ("api.cases", "GET"): dict(url="/api/v1/cases", allowed=("property1", 200, "case"),
                               wrong_team=("police1", 200, "case")),
    ("api.case", "GET"): dict(url="/api/v1/cases/{instance}", allowed=("property1", 200),
                              wrong_team=("police1", 404), wrong_role=("designer", 404)),
    ("api.report", "POST"): dict(url="/api/v1/cases", json=REPORT, allowed=("dispatcher", 201),
                                 wrong_role=("property1", 403)),
    ("api.alerts", "POST"): dict(url="/api/v1/alerts", setup=import_devices, json=alarm, allowed=("dispatcher", 202),
                                 wrong_role=("patrol_lead", 403)),
    ("api.kpis", "GET"): dict(url="/api/v1/kpis", allowed=("dispatcher", 200), wrong_role=("property1", 403)),
    ("designer.processes", "GET"): dict(url="/designer", allowed=("designer", 200), wrong_role=("property1", 403)),
    ("designer.version", "GET"): dict(url="/designer/closed_loop/1", allowed=("designer", 200),
                                      wrong_role=("dispatcher", 403)),
    ("designer.edit", "GET"): dict(url="/designer/closed_loop/edit", allowed=("designer", 200),
                                   wrong_role=("patrol_lead", 403)),
    ("designer.file", "GET"): dict(url="/designer/closed_loop/1/files/closed_loop.bpmn", allowed=("admin", 200),
                                   wrong_role=("property_lead", 403)),
    ("designer.compare", "GET"): dict(url="/designer/closed_loop/compare?from=1&to=1", allowed=("designer", 200),
                                      wrong_role=("property1", 403)),
    ("designer.roll_back", "POST"): dict(url="/designer/deployments/{deployment}/roll-back",
                                         body={"process_id": "closed_loop"}, allowed=("designer", 302),
                                         wrong_role=("property1", 403)),
    ("designer.validate", "POST"): dict(url="/api/v1/designer/validate", json={"files": {"tiny.bpmn": TINY}},
                                        allowed=("designer", 200), wrong_role=("property1", 403)),
    ("designer.deploy", "POST"): dict(url="/api/v1/designer/deploy", json={"files": {"tiny.bpmn": TINY}},
                                      allowed=("designer", 201), wrong_role=("dispatcher", 403)),
    ("migration.migrate", "POST"): dict(url="/designer/closed_loop/1/migrate", body={"to_version": "1"},
                                        allowed=("designer", 200), wrong_role=("dispatcher", 403)),
    ("migration.migrate_api", "POST"): dict(url="/api/v1/designer/closed_loop/1/migrate", json={},
                                            allowed=("admin", 200), wrong_role=("property_lead", 403)),
    ("decisions.version", "GET"): dict(url="/designer/decisions/routing/1", allowed=("designer", 200),
                                       wrong_role=("dispatcher", 403)),
    ("decisions.file", "GET"): dict(url="/designer/decisions/routing/1/file", allowed=("admin", 200),
                                    wrong_role=("property_lead", 403)),
    ("decisions.edit", "GET"): dict(url="/designer/decisions/routing/edit", allowed=("designer", 200),
                                    wrong_role=("patrol_lead", 403)),
    ("admin.failed", "GET"): dict(url="/admin/failed", allowed=("admin", 200), wrong_role=("dispatcher", 403)),
    # notifications and department data exchange (tests/integrations/test_notifications.py, test_outbox_delivery.py)
    ("notifications.mine", "GET"): dict(url="/me/notifications", allowed=("patrol1", 200)),
    ("notifications.contact", "GET"): dict(url="/me/contact", allowed=("patrol1", 200)),
    ("notifications.save_contact", "POST"): dict(url="/me/contact", body={"email": "p1@example.org",
                                                                         "channels": "email"},
                                                 allowed=("patrol1", 302)),
    ("notifications.sent", "GET"): dict(url="/admin/notifications", allowed=("admin", 200),
                                        wrong_role=("dispatcher", 403)),
    ("notifications.new_template", "GET"): dict(url="/admin/notifications/templates/new?code=perm_test",
                                                allowed=("admin", 302),
                                                wrong_role=("property_lead", 403)),
    ("notifications.template", "GET"): dict(url="/admin/notifications/templates/escalation", allowed=("admin", 200),
                                            wrong_role=("property_lead", 403)),
    ("notifications.save_template", "POST"): dict(
        url="/admin/notifications/templates", body={"code": "perm_test", "subject_zh": "主题", "body_zh": "正文",
                                                     "subject_en": "Subject", "body_en": "Body"},
        allowed=("admin", 302), wrong_role=("dispatcher", 403)),
    ("notifications.retry", "POST"): dict(url="/admin/failed/deliveries/{delivery}/retry", body={},
                                          setup=dead_delivery, allowed=("admin", 302),
                                          wrong_role=("dispatcher", 403)),
    ("notifications.skip", "POST"): dict(url="/admin/failed/deliveries/{delivery}/skip", body={},
                                         setup=dead_delivery, allowed=("admin", 302),
                                         wrong_role=("dispatcher", 403)),
    ("notifications.replay", "POST"): dict(url="/admin/hooks/{hook}/replay", body={"since": "2026-01-01T00:00"},
                                           setup=dead_delivery, allowed=("admin", 302),
                                           wrong_role=("property_lead", 403)),
    ("departments.answer", "POST"): dict(url="/api/v1/departments/water_company/answers",
                                         json={"message": "hydrant_repaired", "correlations": {"device_id": "HP-0912"},
                                               "answer": {}}, setup=hydrant_waiting_for_the_water_company,
                                         allowed=("water1", 200), wrong_team=("police1", 404),
                                         wrong_role=("designer", 404)),
    # the audit trail: admins only, team leads included in nothing (webui/audit.py says why)
    ("audit.audit", "GET"): dict(url="/admin/audit", allowed=("admin", 200), wrong_role=("patrol_lead", 403)),
    ("api.audit", "GET"): dict(url="/api/v1/audit", allowed=("admin", 200), wrong_role=("dispatcher", 403)),
    ("admin.retry", "POST"): dict(url="/admin/failed/{instance}/retry", body={}, allowed=("admin", 302),
                                  wrong_role=("designer", 403)),
    ("admin.cancel", "POST"): dict(url="/admin/failed/{instance}/cancel", body={"reason": "duplicate"},
                                   allowed=("admin", 302), wrong_role=("property_lead", 403)),
    ("designer.save_draft", "PUT"): dict(url="/api/v1/designer/drafts/closed_loop", method="PUT",
                                         json={"files": {"tiny.bpmn": TINY}}, allowed=("designer", 200),
                                         wrong_role=("property1", 403)),
    ("designer.discard_draft", "DELETE"): dict(url="/api/v1/designer/drafts/closed_loop", method="DELETE",
                                               allowed=("designer", 200), wrong_role=("dispatcher", 403)),
    ("open311_contacts.contact", "GET"): dict(url="/open311/contacts/{instance}", setup=hotline_case_at_call_back,
                                              allowed=("dispatcher", 200), wrong_team=("police1", 404),
                                              wrong_role=("patrol1", 404)),
    ("same_problem.waiting", "GET"): dict(url="/same", setup=hotline_report_near, allowed=("dispatcher", 200),
                                          wrong_role=("patrol_lead", 403)),
    ("same_problem.one", "GET"): dict(url="/same/{instance}", setup=hotline_report_near,
                                      allowed=("dispatcher", 200), wrong_role=("property1", 403)),
    ("same_problem.merge", "POST"): dict(url="/same/{instance}/merge/{into}", body={},
                                         setup=hotline_report_near, allowed=("dispatcher", 302),
                                         wrong_role=("designer", 403)),
    ("patrol.form", "GET"): dict(url="/patrol", allowed=("patrol1", 200), wrong_team=("property1", 403),
                                 wrong_role=("designer", 403)),
    # an empty report: the page refuses it field by field (422) once the caller may report at all
    ("patrol.report", "POST"): dict(url="/patrol", body={"note": "x"}, allowed=("patrol1", 422),
                                    wrong_team=("property_lead", 403), wrong_role=("designer", 403)),
    ("video.post_event", "POST"): dict(url="/api/v1/video/events", json={}, allowed=("dispatcher", 422),
                                       wrong_role=("patrol1", 403)),
    ("whatif.form", "GET"): dict(url="/designer/whatif?process=closed_loop", allowed=("designer", 200),
                                 wrong_role=("dispatcher", 403)),
    ("whatif.start", "POST"): dict(url="/designer/whatif", body={"b": "deployed", "staff_police": "0.5",
                                                                 "source": "recorded", "days": "1", "seeds": "1"},
                                   allowed=("admin", 302), wrong_role=("property_lead", 403)),
    ("whatif.run", "GET"): dict(url="/designer/whatif/{whatif}", setup=queued_whatif, allowed=("designer", 200),
                                wrong_role=("patrol1", 403)),
    ("designer.form_preview", "POST"): dict(url="/api/v1/designer/form-preview",
                                            json={"schema": '{"type": "object"}'}, allowed=("designer", 200),
                                            wrong_role=("property_lead", 403)),
}


def test_every_route_has_a_permission_case(app):
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - set(ROUTES) - PUBLIC == set(), "new routes need a permission case in ROUTES"
    assert set(ROUTES) - routes == set(), "ROUTES names routes that do not exist"


@pytest.fixture
def context(seeded, registered_case, app, tmp_path):
    instance_id, move = registered_case
    folder = tmp_path / "evidence" / str(instance_id)
    folder.mkdir(parents=True)
    (folder / ("a" * 32 + ".jpg")).write_bytes(JPEG)
    users = {u["username"]: u["id"] for u in seeded.people.users()}
    deployment = seeded.designs.version("closed_loop", 1)["deployment_id"]
    return {"task": move["id"], "instance": instance_id, "evidence": "a" * 32 + ".jpg", "user": users["patrol1"],
            "deployment": deployment, "into": instance_id}


def call(client, spec: dict, ctx: dict):
    url = spec["url"].format(**ctx)
    method = spec.get("method") or ("POST" if spec.get("body") is not None or spec.get("json") is not None or
                                    spec["url"].endswith(("claim", "unclaim")) else "GET")
    if url.startswith("/api/"):
        body = spec.get("json")
        return client.api(method, url, body(ctx) if callable(body) else body)
    if method == "GET":
        return client.get(url)
    body = spec.get("body") or {}
    if body == "move_form":
        body = {**MOVE_FORM, "photos_before": (io.BytesIO(JPEG), "before.jpg")}
        return client.post(url, body, content_type="multipart/form-data")
    return client.post(url, body)


def absent_marker(kind: str, ctx: dict) -> str:
    return {"task": f'"id": {ctx["task"]}', "case": f'"instance_id": {ctx["instance"]}'}[kind]


def check(response, expected, ctx):
    status, *rest = expected
    assert response.status_code == status, response.get_data(as_text=True)[:600]
    return rest[0] if rest else None


ROUTE_IDS = [f"{endpoint}:{method}" for endpoint, method in ROUTES]


@pytest.mark.parametrize("key", list(ROUTES), ids=ROUTE_IDS)
def test_anonymous_callers_are_refused(app, context, login, key, seeded):
    spec = ROUTES[key]
    if spec.get("setup"):
        spec["setup"](seeded, context)
    client = login(None)
    if key[1] != "GET" and not spec["url"].startswith("/api/"):
        client.csrf = None
        client.flask.get("/login")                 # a session with a CSRF token, but nobody logged in
        with client.flask.session_transaction() as session:
            client.csrf = session["csrf"]
    response = call(client, spec, context)
    if spec["url"].startswith("/api/"):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
    else:
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def _contains(response, kind, ctx) -> bool:
    text = response.get_data(as_text=True)
    if response.is_json:
        rows = response.get_json()["tasks" if kind == "task" else "cases"]
        return any(r.get("id" if kind == "task" else "instance_id") == ctx[kind if kind == "task" else "instance"]
                   for r in rows)
    return (f'data-task="{ctx["task"]}"' in text) if kind == "task" else (f'/cases/{ctx["instance"]}"' in text)


@pytest.mark.parametrize("key", [k for k in ROUTES if ROUTES[k].get("wrong_team")],
                         ids=[i for k, i in zip(ROUTES, ROUTE_IDS) if ROUTES[k].get("wrong_team")])
def test_the_wrong_team_neither_sees_nor_touches(app, context, login, key, seeded):
    spec = ROUTES[key]
    if spec.get("setup"):
        spec["setup"](seeded, context)
    user, *expected = spec["wrong_team"]
    kind = check(call(login(user), spec, context), expected, context)
    if kind:
        assert not _contains(call(login(user), spec, context), kind, context)
    assert seeded.task(context["task"])["status"] == "ready"


@pytest.mark.parametrize("key", [k for k in ROUTES if ROUTES[k].get("wrong_role")],
                         ids=[i for k, i in zip(ROUTES, ROUTE_IDS) if ROUTES[k].get("wrong_role")])
def test_the_wrong_role_is_refused(app, context, login, key, seeded):
    spec = ROUTES[key]
    if spec.get("setup"):
        spec["setup"](seeded, context)
    user, *expected = spec["wrong_role"]
    response = call(login(user), spec, context)
    check(response, expected, context)
    if spec["url"].startswith("/api/"):
        assert response.get_json()["error"]["code"] in ("forbidden", "not_found", "not_allowed")


@pytest.mark.parametrize("key", list(ROUTES), ids=ROUTE_IDS)
def test_the_right_person_may(app, context, login, key, seeded):
    spec = ROUTES[key]
    if spec.get("setup"):
        spec["setup"](seeded, context)
    user, *expected = spec["allowed"]
    response = call(login(user), spec, context)
    kind = check(response, expected, context)
    if kind:
        assert _contains(response, kind, context)
