"""Sessions end when they should: logout and a new password end every session of the user; the session cookie's
flags and lifetime; ``next`` stays on this site; failed logins are throttled (in memory, and in Redis)."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from engine import Config, people
from tests.webui.conftest import PASSWORD
from webui import create_app


def csrf_of(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def user_id(seeded, username: str) -> int:
    return next(u["id"] for u in people.users(seeded.store) if u["username"] == username)


def test_logout_ends_every_session_of_the_user_also_a_copied_cookie(app, login):
    desk, phone = login("patrol1"), login("patrol1")
    other = login("patrol2")
    stolen = app.test_client()
    stolen.set_cookie("session", desk.flask.get_cookie("session").value)
    assert stolen.get("/inbox").status_code == 200
    assert desk.post("/logout").status_code == 302
    for client in (desk, phone, stolen):
        response = client.get("/inbox")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert client.get("/api/v1/tasks").status_code == 401
    assert other.get("/inbox").status_code == 200          # another user's session is untouched
    again = login("patrol1")                                # and logging in again works
    assert again.get("/inbox").status_code == 200


def test_a_new_password_ends_the_old_sessions_and_the_admin_who_changes_their_own_stays_in(app, login, seeded):
    officer, admin = login("patrol1"), login("admin")
    response = admin.post(f"/admin/users/{user_id(seeded, 'patrol1')}",
                          {"roles": ["officer"], "teams": ["grid_patrol"], "active": "on",
                           "password": "a brand new password"})
    assert response.status_code == 302
    assert officer.get("/inbox").status_code == 302
    fresh = app.test_client()
    csrf = csrf_of(fresh)
    assert fresh.post("/login", data={"username": "patrol1", "password": PASSWORD,
                                      "csrf_token": csrf}).status_code == 401
    assert fresh.post("/login", data={"username": "patrol1", "password": "a brand new password",
                                      "csrf_token": csrf}).status_code == 302
    assert fresh.get("/inbox").status_code == 200

    second_admin_browser = login("admin")
    own = admin.post(f"/admin/users/{user_id(seeded, 'admin')}", {"roles": ["admin"], "active": "on",
                                                                  "password": "the admin's new one"})
    assert own.status_code == 302
    assert admin.get("/admin/users").status_code == 200                 # this session goes on
    assert second_admin_browser.get("/admin/users").status_code == 302  # the other one is over
    admin.csrf = csrf_of(admin, "/admin/users")                          # a new session has a new CSRF token

    too_short = admin.post(f"/admin/users/{user_id(seeded, 'patrol1')}", {"roles": ["officer"], "active": "on",
                                                                           "password": "short"})
    assert too_short.status_code == 422


def test_the_session_cookie_is_httponly_lax_has_a_lifetime_and_is_secure_behind_https(seeded, tmp_path,
                                                                                        manual_clock):
    def app_with(**settings):
        return create_app(Config(database_url=seeded.config.database_url), engine=seeded,
                          settings={"TESTING": True, "SECRET_KEY": "s", "EVIDENCE_DIR": str(tmp_path), **settings})

    def login_cookie(app, **kwargs):
        client = app.test_client()
        csrf = re.search(r'name="csrf-token" content="([^"]+)"',
                         client.get("/login", **kwargs).get_data(as_text=True)).group(1)
        response = client.post("/login", data={"username": "patrol1", "password": PASSWORD, "csrf_token": csrf},
                               **kwargs)
        assert response.status_code == 302
        [cookie] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
        return client, cookie

    plain = app_with(SESSION_HOURS=2)
    client, cookie = login_cookie(plain)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie                                # plain HTTP (a local demo): no Secure flag
    _, cookie = login_cookie(plain, base_url="https://jingzhi.example")
    assert "Secure" in cookie
    behind_proxy = app_with(TRUSTED_PROXIES=1)                   # TLS ends at the proxy, which says so
    _, cookie = login_cookie(behind_proxy, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in cookie
    _, cookie = login_cookie(app_with(), headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie                                # the header is not trusted without a proxy
    _, cookie = login_cookie(app_with(SECURE_COOKIES=True))
    assert "Secure" in cookie

    # the lifetime holds however busy the session is
    assert client.get("/inbox").status_code == 200
    manual_clock.advance(hours=1, minutes=59)
    assert client.get("/inbox").status_code == 200
    manual_clock.advance(minutes=2)
    assert client.get("/inbox").status_code == 302


def test_the_environment_configures_cookies_and_lifetime(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("JINGZHI_SECURE_COOKIES", "1")
    monkeypatch.setenv("JINGZHI_SESSION_HOURS", "8")
    app = create_app(Config(database_url=seeded.config.database_url), engine=seeded,
                     settings={"SECRET_KEY": "s", "EVIDENCE_DIR": str(tmp_path)})
    assert app.config["SECURE_COOKIES"] is True and app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    monkeypatch.setenv("JINGZHI_SECURE_COOKIES", "sometimes")
    with pytest.raises(ValueError, match="JINGZHI_SECURE_COOKIES"):
        create_app(Config(database_url=seeded.config.database_url), engine=seeded,
                   settings={"SECRET_KEY": "s", "EVIDENCE_DIR": str(tmp_path)})


@pytest.mark.parametrize("target", [
    "/%09/evil.example", "/\t/evil.example", "//evil.example", "\\\\evil.example", "/\\evil.example",
    "https://evil.example/", "javascript:alert(1)", "http:/evil.example", "/%2F/evil.example", "/%5Cevil.example",
    " //evil.example", "\n//evil.example", "evil.example", "/\r\n/evil.example", "///evil.example",
])
def test_next_accepts_local_paths_only(app, target):
    client = app.test_client()
    csrf = csrf_of(client)
    response = client.post("/login", data={"username": "patrol1", "password": PASSWORD, "csrf_token": csrf,
                                           "next": target})
    assert response.headers["Location"] == "/"                               # the landing page, never off-site
    response = client.get("/login", query_string={"next": target})     # already logged in: straight on
    assert response.headers["Location"] == "/"


def test_next_takes_a_local_path_with_its_query(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "patrol1", "password": PASSWORD, "csrf_token": csrf_of(client),
                                           "next": "/cases?stage=dispatch"})
    assert response.headers["Location"] == "/cases?stage=dispatch"
    assert client.get("/login?next=%2Fcases%3Fstage%3Dx").headers["Location"] == "/cases?stage=x"


def client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def failing_logins(app, username: str, count: int, address: str = "203.0.113.7"):
    client = client_from(app, address)
    csrf = csrf_of(client)
    answers = [client.post("/login", data={"username": username, "password": "wrong guess", "csrf_token": csrf})
               for _ in range(count)]
    return client, csrf, answers


def test_failed_logins_are_throttled_with_a_clear_message(app):
    app.config.update(LOGIN_LIMIT="3 per hour")
    client, csrf, answers = failing_logins(app, "patrol1", 4)
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert "登录失败次数过多" in answers[-1].get_data(as_text=True) and int(answers[-1].headers["Retry-After"]) > 0
    # over the limit even the right password waits: guessing cannot go on
    right = client.post("/login", data={"username": "patrol1", "password": PASSWORD, "csrf_token": csrf})
    assert right.status_code == 429
    english = client.get("/login?lang=en")
    assert english.status_code == 200
    again = client.post("/login", data={"username": "patrol1", "password": "x", "csrf_token": csrf})
    assert again.status_code == 429 and "Too many failed logins" in again.get_data(as_text=True)
    # another user name from the same address, and the same name from elsewhere, still log in
    other = client.post("/login", data={"username": "patrol2", "password": PASSWORD, "csrf_token": csrf})
    assert other.status_code == 302
    elsewhere = client_from(app, "198.51.100.9")
    assert elsewhere.post("/login", data={"username": "patrol1", "password": PASSWORD,
                                          "csrf_token": csrf_of(elsewhere)}).status_code == 302


def test_successful_logins_do_not_count_and_one_address_is_limited_across_names(app):
    app.config.update(LOGIN_LIMIT="2 per hour", LOGIN_LIMIT_PER_ADDRESS="4 per hour")
    client = client_from(app, "192.0.2.44")
    for _ in range(5):
        csrf = csrf_of(client)
        assert client.post("/login", data={"username": "patrol1", "password": PASSWORD,
                                           "csrf_token": csrf}).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_of(client, "/inbox")})
    codes = [failing_logins(app, name, 1, "192.0.2.44")[2][0].status_code
             for name in ("a", "b", "c", "d", "e")]
    assert codes == [401, 401, 401, 401, 429]


@pytest.mark.redis
def test_the_counts_are_kept_in_redis_when_it_is_configured(seeded, tmp_path):
    import redis

    def app():
        return create_app(Config(database_url=seeded.config.database_url), engine=seeded,
                          settings={"TESTING": True, "SECRET_KEY": "s", "EVIDENCE_DIR": str(tmp_path),
                                    "REDIS_URL": "redis://127.0.0.1:6379/0", "LOGIN_LIMIT": "2 per hour"})

    name = f"nobody-{uuid.uuid4().hex}"     # a name of its own: other runs share this Redis
    first, _, answers = failing_logins(app(), name, 2)
    assert [a.status_code for a in answers] == [401, 401]
    assert any(name in key.decode() for key in redis.Redis().scan_iter("*jingzhi-login*"))
    # a second web process (a new app on the same Redis) sees the same count
    _, _, answers = failing_logins(app(), name, 1)
    assert answers[0].status_code == 429


def test_with_redis_away_logins_still_work_and_failures_are_counted_in_the_process(seeded, tmp_path):
    app = create_app(Config(database_url=seeded.config.database_url), engine=seeded,
                     settings={"TESTING": True, "SECRET_KEY": "s", "EVIDENCE_DIR": str(tmp_path),
                               "REDIS_URL": "redis://127.0.0.1:1/0", "LOGIN_LIMIT": "2 per hour"})
    client, csrf, answers = failing_logins(app, "patrol1", 3, "192.0.2.99")
    assert [a.status_code for a in answers] == [401, 401, 429]
    other = client.post("/login", data={"username": "patrol2", "password": PASSWORD, "csrf_token": csrf})
    assert other.status_code == 302
