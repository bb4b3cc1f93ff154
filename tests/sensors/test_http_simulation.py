"""No broker (the embedded demo): the simulated district posts its traffic to the web app's alert intake."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

from sqlalchemy import func, select

from engine import people
from engine.models import Alert
from jingzhi.cli import serve
from sensors.simulate import Traffic, post_alert, send_over_http
from tests.sensors.conftest import DEVICES
from webui import create_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving(engine) -> str:
    app = create_app(replace(engine.config, secret_key="test-key"), engine)
    port = free_port()
    threading.Thread(target=serve, args=(app, "127.0.0.1", port), daemon=True).start()
    for _ in range(200):                       # bounded wait for the server to listen
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return f"http://127.0.0.1:{port}/api/v1/alerts"


def test_the_district_posts_heartbeats_alarms_and_clears_over_http(pg_engine):
    people.add_user(pg_engine.store, "gateway", "a-long-password", ["dispatcher"], [])
    token = people.create_token(pg_engine.store, "gateway", name="district")
    url = serving(pg_engine)
    answers = send_over_http(url, token, Traffic(7, bad_share=0.0, rows=list(DEVICES)), rate=100.0,
                             stop=threading.Event(), duration=120.0, limit=30)   # the count ends it, not the clock
    assert sum(answers.values()) == 30
    assert set(answers) <= {"202", "200"}           # accepted, or a duplicate of one
    with pg_engine.store.read() as connection:
        stored = connection.scalar(select(func.count()).select_from(Alert).where(Alert.source == "http"))
    assert stored == answers["202"]
    assert post_alert(url, "not-a-token", b"{}") == "401"
    assert post_alert(url, token, b"not json") == "422"
