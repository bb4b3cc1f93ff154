"""The pages people use: login and CSRF, the inbox, claiming and reassigning, the task form with its errors and
evidence, the case page, manual reports, the dashboard, the admin page, the language switch."""
from __future__ import annotations

import io
import re

from engine import people
from tests.bpmn.conftest import form
from tests.webui.conftest import JPEG, PASSWORD

MOVE = {"plate_number": "沪A12345", "owner_contacted": "true", "vehicle_moved": "true"}


def test_login_checks_the_password_and_logout_ends_the_session(app, login):
    client = login(None)
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    wrong = client.flask.post("/login", data={"username": "patrol1", "password": "nope", "csrf_token": csrf})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    right = client.flask.post("/login", data={"username": "patrol1", "password": PASSWORD, "csrf_token": csrf,
                                              "next": "https://evil.example/"})
    assert right.headers["Location"] == "/"                           # no open redirect: the landing page
    assert client.get("/").headers["Location"] == "/inbox"
    page = client.get("/inbox").get_data(as_text=True)
    assert "网格巡查队" in page
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.flask.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/inbox").status_code == 302


def test_a_designer_lands_on_the_designer_and_everyone_else_on_the_inbox(login):
    assert login("designer").get("/").headers["Location"] == "/designer"
    assert login("admin").get("/").headers["Location"] == "/inbox"
    assert login("dispatcher").get("/").headers["Location"] == "/inbox"


def test_every_form_post_needs_the_session_csrf_token(app, login, registered_case, seeded):
    _, move = registered_case
    client = login("property1")
    refused = client.flask.post(f"/tasks/{move['id']}/claim", data={"csrf_token": "forged"})
    assert refused.status_code == 400 and "csrf" in refused.get_data(as_text=True).lower()
    assert client.flask.post("/login", data={"username": "x", "password": "y"}).status_code == 400
    assert seeded.task(move["id"])["assignee"] is None
    assert client.post(f"/tasks/{move['id']}/claim").status_code == 302
    assert seeded.task(move["id"])["assignee"] == "property1"


def test_a_deactivated_user_is_logged_out(app, login, seeded):
    client = login("patrol1")
    patrol1 = next(u for u in people.users(seeded.store) if u["username"] == "patrol1")
    people.update_user(seeded.store, patrol1["id"], active=False)
    assert client.get("/inbox").status_code == 302


def test_the_inbox_lists_my_teams_unclaimed_and_my_claimed_tasks_by_due_time_with_filters(
        app, login, seeded, registered_case, manual_clock):
    instance_id, move = registered_case
    from tests.webui.conftest import fire_lane_alert

    second = seeded.start("closed_loop", fire_lane_alert("FIR-0043", alert_count=2, compound="水电路191弄"))
    [other] = seeded.ready_tasks(instance_id=second)           # two alerts: registered by rule, straight to handling
    assert other["team"] == "property_company" and other["due_at"] == move["due_at"]
    seeded.claim(move["id"], "property2")                      # held by a colleague: not in my inbox
    client = login("property1")
    rows = client.get("/inbox/rows").get_data(as_text=True)
    assert f'data-task="{other["id"]}"' in rows and f'data-task="{move["id"]}"' not in rows
    seeded.unclaim(move["id"], "property2")
    seeded.claim(other["id"], "property1")
    rows = client.get("/inbox/rows").get_data(as_text=True)
    assert rows.index(f'data-task="{move["id"]}"') < rows.index(f'data-task="{other["id"]}"')   # same due: by id
    assert 'class="badge ok">property1<' in rows
    filtered = client.get("/inbox/rows?compound=水电路191弄").get_data(as_text=True)
    assert f'data-task="{other["id"]}"' in filtered and f'data-task="{move["id"]}"' not in filtered
    assert client.get("/inbox/rows?scenario=door_open").get_data(as_text=True).count("data-task=") == 0
    page = client.get("/inbox").get_data(as_text=True)
    assert '<option value="水电路191弄"' in page and 'data-poll="5"' in page


def test_overdue_and_due_soon_tasks_are_marked(app, login, registered_case, manual_clock):
    _, move = registered_case
    client = login("property1")
    assert "badge soon" not in client.get("/inbox/rows").get_data(as_text=True)  # a 30-minute window, just opened
    manual_clock.advance(minutes=22)
    assert "badge soon" not in client.get("/inbox/rows").get_data(as_text=True)  # 8 of 30 minutes left
    manual_clock.advance(minutes=1)
    assert "badge soon" in client.get("/inbox/rows").get_data(as_text=True)      # the last quarter of its window
    assert "badge soon" in client.get(f"/tasks/{move['id']}").get_data(as_text=True)
    manual_clock.advance(minutes=8)
    rows = client.get("/inbox/rows").get_data(as_text=True)
    assert 'class="overdue"' in rows and "已超时" in rows


def test_four_eyes_is_said_before_the_form_and_the_task_cannot_be_claimed(app, login, seeded, registered_case):
    _, move = registered_case
    seeded.complete_task(move["id"], form("move_vehicle"), actor="patrol1")   # patrol1 moved the car himself
    [verify] = seeded.ready_tasks(instance_id=move["instance_id"])
    assert (verify["bpmn_id"], verify["team"]) == ("verify", "grid_patrol")
    page = login("patrol1").get(f"/tasks/{verify['id']}").get_data(as_text=True)
    assert 'id="four-eyes"' in page and "四眼原则" in page
    assert 'id="claim"' not in page and 'id="task-form"' not in page
    refused = login("patrol1").post(f"/tasks/{verify['id']}/claim")
    assert refused.status_code == 403 and seeded.task(verify["id"])["assignee"] is None
    other = login("patrol2").get(f"/tasks/{verify['id']}").get_data(as_text=True)
    assert 'id="four-eyes"' not in other and 'id="claim"' in other and 'id="task-form"' in other


def test_a_lead_reassigns_within_the_team_only_and_takes_a_task_back(app, login, seeded, registered_case):
    _, move = registered_case
    lead = login("property_lead")
    page = lead.get(f"/tasks/{move['id']}").get_data(as_text=True)
    assert '<select name="assignee"' in page and "<option>property2</option>" in page
    outsider = lead.post(f"/tasks/{move['id']}/reassign", {"assignee": "police1"})
    assert outsider.status_code == 422 and seeded.task(move["id"])["assignee"] is None
    assert lead.post(f"/tasks/{move['id']}/reassign", {"assignee": "property2"}).status_code == 302
    assert seeded.task(move["id"])["assignee"] == "property2"
    officer = login("property1")
    assert officer.post(f"/tasks/{move['id']}/unclaim").status_code == 403      # not the holder
    assert lead.post(f"/tasks/{move['id']}/unclaim").status_code == 302         # the lead may
    assert seeded.task(move["id"])["assignee"] is None
    history = [e["kind"] for e in seeded.history(move["instance_id"])]
    assert history[-2:] == ["task.reassigned", "task.unclaimed"]


def test_the_task_page_shows_the_case_facts_and_the_form_from_the_schema(app, login, registered_case):
    _, move = registered_case
    page = login("property1").get(f"/tasks/{move['id']}").get_data(as_text=True)
    for fact in ("消防通道占用", "何家宅小区 3号楼消防通道", "FIR-0042", "物业服务企业"):
        assert fact in page
    assert 'name="plate_number"' in page and 'type="file" name="photos_before"' in page
    assert '<select name="vehicle_moved"' in page and "任务已提交" in page     # the history of the case


def test_a_form_error_is_shown_with_the_values_kept_then_fixed_with_a_photo(app, login, seeded, registered_case,
                                                                            tmp_path):
    instance_id, move = registered_case
    client = login("property1")
    bad = client.post(f"/tasks/{move['id']}", {"plate_number": "沪A", "owner_contacted": "true",
                                              "vehicle_moved": "true"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="error-plate_number"' in page and 'id="error-photos_before"' in page
    assert 'value="沪A"' in page and seeded.task(move["id"])["status"] == "ready"

    fixed = client.post(f"/tasks/{move['id']}", {**MOVE, "photos_before": (io.BytesIO(JPEG), "scene.jpg")},
                        content_type="multipart/form-data")
    assert fixed.status_code == 302 and f"/cases/{instance_id}" in fixed.headers["Location"]
    done = seeded.task(move["id"])
    assert (done["status"], done["completed_by"]) == ("completed", "property1")
    [photo] = seeded.get(instance_id).data["photos_before"]
    assert re.fullmatch(r"evidence/\d+/[0-9a-f]{32}\.jpg", photo)
    assert (tmp_path / "evidence" / photo.removeprefix("evidence/")).read_bytes() == JPEG
    case_page = client.get(fixed.headers["Location"]).get_data(as_text=True)
    assert 'id="next-step"' in case_page and "核查" in case_page and "网格巡查队" in case_page
    image = client.get(f"/cases/{instance_id}/evidence/{photo.rsplit('/', 1)[1]}")
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data == JPEG


def test_an_uploaded_file_survives_a_form_error(app, login, seeded, registered_case):
    _, move = registered_case
    client = login("property1")
    bad = client.post(f"/tasks/{move['id']}", {"owner_contacted": "true", "vehicle_moved": "true",
                                              "photos_before": (io.BytesIO(JPEG), "a.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    [kept] = re.findall(r'name="photos_before__kept" value="([^"]+)"', bad.get_data(as_text=True))
    fixed = client.post(f"/tasks/{move['id']}", {**MOVE, "photos_before__kept": kept})
    assert fixed.status_code == 302
    assert seeded.get(move["instance_id"]).data["photos_before"] == [kept]


def test_evidence_is_refused_when_it_is_not_an_image_or_too_big(app, login, seeded, registered_case, tmp_path):
    _, move = registered_case
    client = login("property1")
    fake = client.post(f"/tasks/{move['id']}", {**MOVE, "photos_before": (io.BytesIO(b"MZ\x90\x00 not a photo"),
                                                                          "photo.jpg")},
                       content_type="multipart/form-data")
    assert fake.status_code == 422 and "只接受 JPEG、PNG、GIF、WebP 图片或 PDF 文件" in fake.get_data(as_text=True)
    huge = client.post(f"/tasks/{move['id']}", {**MOVE, "photos_before": (io.BytesIO(JPEG + b"\0" * 300_000),
                                                                          "big.jpg")},
                       content_type="multipart/form-data")
    assert huge.status_code == 422 and "big.jpg：不能超过" in huge.get_data(as_text=True)
    assert seeded.task(move["id"])["status"] == "ready"
    assert not list((tmp_path / "evidence").rglob("*.jpg"))
    assert client.get(f"/cases/{move['instance_id']}/evidence/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_the_case_page_has_the_timeline_stage_deadline_and_diagram_marks(app, login, registered_case):
    instance_id, move = registered_case
    client = login("property1")
    page = client.get(f"/cases/{instance_id}").get_data(as_text=True)
    assert "处置" in page and "阶段变更" in page and "任务已提交" in page
    done = re.search(r'data-done="([^"]*)"', page).group(1).split(",")
    active = re.search(r'data-active="([^"]*)"', page).group(1).split(",")
    assert "register" in done and "handle" in active            # the call activity of the playbook is active
    xml = client.get(f"/cases/{instance_id}/diagram.bpmn")
    assert xml.mimetype == "application/xml" and b'id="closed_loop"' in xml.data and b"BPMNShape" in xml.data


def test_a_dispatcher_reports_a_case_by_hand_and_bad_reports_are_refused(app, login, seeded):
    client = login("dispatcher")
    bad = client.post("/report", {"channel": "sensor", "scenario": "fire_lane", "address": ""})
    assert bad.status_code == 422 and 'id="error-channel"' in bad.get_data(as_text=True)
    good = client.post("/report", {"channel": "hotline", "scenario": "illegal_dumping", "severity": "medium",
                                   "address": "广中路 88号", "description": "路边堆放建筑垃圾"})
    assert good.status_code == 302
    instance_id = int(good.headers["Location"].rsplit("/", 1)[1])
    case = seeded.get(instance_id).case
    assert (case["channel"], case["scenario"], case["stage"]) == ("hotline", "illegal_dumping", "register")
    assert [t["team"] for t in seeded.ready_tasks(instance_id=instance_id)] == ["command_centre"]
    assert "dispatcher" in {e["actor"] for e in seeded.history(instance_id)}


def test_the_admin_adds_a_user_who_can_then_log_in(app, login, seeded):
    admin = login("admin")
    refused = admin.post("/admin/users", {"username": "patrol1", "password": "long enough", "roles": "officer"})
    assert refused.status_code == 422 and "用户 patrol1 已存在" in refused.get_data(as_text=True)
    assert admin.post("/admin/users", {"username": "new-officer", "password": PASSWORD, "roles": "officer",
                                       "teams": "sanitation"}).status_code == 302
    assert "new-officer" in admin.get("/admin/users").get_data(as_text=True)
    page = login("new-officer").get("/inbox").get_data(as_text=True)
    assert "市容环卫所" in page


def test_english_on_request_and_chinese_by_default(app, login):
    client = login("patrol1")
    assert "待办" in client.get("/inbox").get_data(as_text=True)
    page = client.get("/inbox?lang=en").get_data(as_text=True)
    assert "Inbox" in page and "Grid patrol and supervisors" in page and 'lang="en"' in page
    assert "Inbox" in client.get("/inbox").get_data(as_text=True)   # it sticks to the session
    assert 'name="viewport"' in page and "@media" in client.get("/static/app.css").get_data(as_text=True)


def test_errors_are_pages_for_people_and_json_for_the_api(app, login):
    client = login("patrol1")
    page = client.get("/tasks/999999")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)
    api = client.get("/api/v1/tasks/999999")
    assert api.status_code == 404
    assert api.get_json() == {"error": {"code": "not_found", "message": "task 999999 does not exist",
                                        "details": None}}
    assert client.get("/api/v1/nothing-here").get_json()["error"]["code"] == "not_found"


def test_the_next_step_list_shows_only_tasks_of_the_case(app, login, seeded, registered_case):
    from tests.webui.conftest import fire_lane_alert

    instance_id, move = registered_case
    other = seeded.start("closed_loop", fire_lane_alert("FIR-0099", address="secret place"))
    [foreign] = seeded.ready_tasks(instance_id=other)
    page = login("property1").get(f"/cases/{instance_id}?done=1&next={foreign['id']},{move['id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f"/tasks/{move['id']}" in text
    assert f"/tasks/{foreign['id']}" not in text and "立案审核" in text     # its own register task, done


def test_the_users_page_is_paged_and_searchable(login, seeded):
    for n in range(60):
        people.add_user(seeded.store, f"worker{n:02d}", PASSWORD, ["officer"], ["sanitation"], f"环卫 {n:02d}")
    admin = login("admin")
    first = admin.get("/admin/users").get_data(as_text=True)
    assert first.count('action="/admin/users/') == 50 and 'rel="next"' in first      # 50 a page, of 70 users
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert second.count('action="/admin/users/') == len(people.users(seeded.store)) - 50
    found = admin.get("/admin/users?q=worker07").get_data(as_text=True)
    assert found.count('action="/admin/users/') == 1 and "worker07" in found
    assert admin.get("/admin/users?q=环卫 1").get_data(as_text=True).count('action="/admin/users/') == 10
    team = admin.get("/admin/users?team=grid_patrol").get_data(as_text=True)
    assert "patrol1" in team and "worker07" not in team
