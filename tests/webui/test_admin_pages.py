"""The admin's pages: one user edited in one form, and the teams page (create, rename, retire, restore)."""
from __future__ import annotations

from engine import people, teams
from tests.webui.conftest import PASSWORD


def user_id(seeded, name: str) -> int:
    return next(u["id"] for u in people.users(seeded.store) if u["username"] == name)


def test_each_user_is_edited_in_one_form(login, seeded):
    admin = login("admin")
    listing = admin.get("/admin/users").get_data(as_text=True)
    patrol = user_id(seeded, "patrol1")
    assert f'href="/admin/users/{patrol}"' in listing and listing.count("<form") == 3    # add user, search, log out
    page = admin.get(f"/admin/users/{patrol}").get_data(as_text=True)
    assert page.count('id="edit-user"') == 1 and 'name="display_name"' in page and 'name="password"' in page
    saved = admin.post(f"/admin/users/{patrol}", {"display_name": "巡查员 小李", "roles": ["officer", "team_lead"],
                                                 "teams": ["grid_patrol", "sanitation"], "active": "on"})
    assert saved.status_code == 302
    user = people.user(seeded.store, patrol)
    assert (user["display_name"], user["roles"], user["teams"], user["active"]) == (
        "巡查员 小李", ["officer", "team_lead"], ["grid_patrol", "sanitation"], True)
    assert login("patrol1").get("/inbox").status_code == 200                  # no password given: the old one stays

    refused = admin.post(f"/admin/users/{patrol}", {"display_name": "  ", "roles": ["officer"], "active": "on"})
    assert refused.status_code == 422 and "1 至 200 个字符" in refused.get_data(as_text=True)
    refused = admin.post(f"/admin/users/{patrol}", {"display_name": "x", "roles": ["sheriff"], "active": "on"})
    assert refused.status_code == 422 and "可选：" in refused.get_data(as_text=True)       # the engine's words, in Chinese
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.post("/admin/users/999999", {"display_name": "x", "roles": ["officer"]}).status_code == 404
    assert login("dispatcher").get(f"/admin/users/{patrol}").status_code == 403

    assert admin.post(f"/admin/users/{patrol}", {"display_name": "巡查员 小李", "roles": ["officer"],
                                                "teams": ["grid_patrol"]}).status_code == 302   # switched off
    fresh = login(None)
    fresh.flask.get("/login")
    with fresh.flask.session_transaction() as session:
        csrf = session["csrf"]
    assert fresh.flask.post("/login", data={"username": "patrol1", "password": PASSWORD,
                                            "csrf_token": csrf}).status_code == 401


def test_the_teams_page_creates_renames_and_retires(login, seeded):
    admin = login("admin")
    page = admin.get("/admin/teams").get_data(as_text=True)
    assert 'id="team-grid_patrol"' in page and "网格巡查" in page
    assert admin.post("/admin/teams", {"code": "night_watch", "name_zh": "夜巡队", "name_en": "Night watch",
                                       "kind": "partner"}).status_code == 302
    again = admin.post("/admin/teams", {"code": "night_watch", "name_zh": "夜巡队", "name_en": "Night watch",
                                        "kind": "partner"})
    assert again.status_code == 409 and "该队伍代码已存在" in again.get_data(as_text=True)
    bad = admin.post("/admin/teams", {"code": "Night Watch!", "name_zh": "", "name_en": "x", "kind": "x"})
    assert bad.status_code == 422 and "请选择类别" in bad.get_data(as_text=True)

    assert admin.post("/admin/teams/night_watch", {"name_zh": "夜间巡逻队", "name_en": "Night patrol",
                                                   "kind": "in_house"}).status_code == 302
    assert "夜间巡逻队" in admin.get("/admin/users").get_data(as_text=True)                   # a choice now
    assert "Night patrol" in admin.get("/admin/teams?lang=en").get_data(as_text=True)
    assert admin.post("/admin/teams/night_watch", {"name_zh": "", "name_en": "", "kind": "in_house"}
                      ).status_code == 422
    assert admin.post("/admin/teams/nobody", {"name_zh": "无", "name_en": "No", "kind": "other"}).status_code == 404

    assert 'action="/admin/teams/grid_patrol/retire"' not in page                # the district's diagrams route to it
    routed = admin.post("/admin/teams/grid_patrol/retire")                      # (posted anyway: refused, and why)
    assert routed.status_code == 409 and 'role="alert"' in routed.get_data(as_text=True)
    assert "closed_loop" in routed.get_data(as_text=True)
    assert not teams.team(seeded.store, "grid_patrol")["retired"]

    assert admin.post("/admin/teams/night_watch/retire").status_code == 302
    assert teams.team(seeded.store, "night_watch")["retired"]
    admin.get("/admin/teams?lang=zh")
    assert "夜间巡逻队" not in admin.get("/admin/users").get_data(as_text=True)               # no longer a choice
    assert "夜间巡逻队" in admin.get("/admin/teams").get_data(as_text=True)                    # still listed
    refused = admin.post("/admin/users", {"username": "walker", "password": PASSWORD, "roles": "officer",
                                          "teams": "night_watch"})
    assert refused.status_code == 422
    assert admin.post("/admin/teams/night_watch/restore").status_code == 302
    assert not teams.team(seeded.store, "night_watch")["retired"]
    assert login("dispatcher").post("/admin/teams/night_watch/retire").status_code == 403
