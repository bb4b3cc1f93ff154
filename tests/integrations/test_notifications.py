"""Notifications to people: the closed loop's escalation reaches the lead by e-mail through a real SMTP server
(aiosmtpd) and in the web inbox; contact details are the person's own; templates are data an admin edits."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.config import Channels
from engine.jobs import Jobs
from engine.ticker import Ticker
from integrations import delivery
from tests.webui.conftest import PASSWORD, fire_lane_alert

from .receivers import SmtpReceiver


@pytest.fixture
def lead(seeded):
    """The command centre's duty chief, who wants notifications by e-mail."""
    seeded.people.add_user("duty_chief", PASSWORD, ["officer", "team_lead"], ["command_centre"], "值班长")
    user = next(u for u in seeded.people.users() if u["username"] == "duty_chief")
    seeded.notify.save_contact(user["id"], {"email": "chief@district.example", "channels": ["email"]})
    return user


def overdue_registration(seeded, manual_clock) -> int:
    """A case the dispatcher leaves unregistered until its limit: escalated to the command centre's lead."""
    instance_id = seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    manual_clock.advance(hours=2)
    Ticker(Jobs(seeded)).run_once()
    Ticker(Jobs(seeded)).run_once()
    assert any(t["bpmn_id"] == "register_escalate" for t in seeded.ready_tasks(instance_id=instance_id))
    return instance_id


def test_an_escalation_e_mails_the_lead_through_a_real_smtp_server(seeded, lead, manual_clock):
    instance_id = overdue_registration(seeded, manual_clock)   # its reminder and its escalation fired
    with SmtpReceiver() as smtp:
        settings = Channels(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="jingzhi@district.example")
        for _ in range(20):
            delivery.sweep(Jobs(seeded), settings=settings)
            if len(smtp.messages) >= 2:
                break
            manual_clock.advance(seconds=30)
    assert len(smtp.messages) == 2
    assert all(recipients == ["chief@district.example"] for recipients, _ in smtp.messages)
    subjects = sorted(message["Subject"] for _, message in smtp.messages)
    assert subjects == sorted([f"【督办】案件 #{instance_id} 立案超时督办", f"【提醒】案件 #{instance_id} 立案审核 即将超时"])
    [message] = [m for _, m in smtp.messages if m["Subject"].startswith("【督办】")]
    body = message.get_content()
    assert "何家宅小区 3号楼消防通道" in body and "城运中心指挥大厅负责人" in body
    assert message["X-Jingzhi-Idempotency-Key"]
    # the same notifications are in the lead's web inbox, and nobody else's
    mine = seeded.outbox.sent_log(recipient="duty_chief", channel="inbox")
    assert sorted(n["subject"] for n in mine) == subjects
    assert seeded.outbox.sent_log(recipient="dispatcher") == []


def test_an_admin_edits_a_template_and_the_next_notification_uses_it(seeded, lead, login, manual_clock):
    admin = login("admin")
    page = admin.get("/admin/notifications/templates/escalation")
    assert page.status_code == 200 and "督办" in page.get_data(as_text=True)
    saved = admin.post("/admin/notifications/templates", {
        "code": "escalation", "subject_zh": "请督办 #{case_id}：{task}", "body_zh": "地址：{address}",
        "subject_en": "Escalated #{case_id}", "body_en": "At {address}"})
    assert saved.status_code == 302
    refused = admin.post("/admin/notifications/templates", {"code": "escalation", "subject_zh": ""})
    assert refused.status_code == 422
    instance_id = overdue_registration(seeded, manual_clock)
    delivery.sweep(Jobs(seeded))
    [note] = [n for n in seeded.outbox.sent_log(recipient="duty_chief", channel="inbox")
              if n["subject"].startswith("请督办")]
    assert note["subject"] == f"请督办 #{instance_id}：立案超时督办" and note["body"] == "地址：何家宅小区 3号楼消防通道"
    chief = login("duty_chief")
    assert f"请督办 #{instance_id}" in chief.get("/me/notifications").get_data(as_text=True)
    listed = admin.get("/admin/notifications").get_data(as_text=True)
    assert "email:duty_chief" in listed and "chief@district.example" in listed


def test_contact_details_are_self_service_checked_and_visible_to_admins(seeded, login):
    officer = login("patrol1")
    page = officer.get("/me/contact")
    assert page.status_code == 200 and 'id="contact-form"' in page.get_data(as_text=True)
    bad = officer.post("/me/contact", {"email": "not an address", "channels": ["email"]})
    assert bad.status_code == 422
    missing = officer.post("/me/contact", {"channels": ["sms"]})  # an SMS needs a phone number
    assert missing.status_code == 422
    unknown = officer.post("/me/contact", {"channels": ["pigeon"]})
    assert unknown.status_code == 422
    good = officer.post("/me/contact", {"phone": "+86 138 0000 0001", "email": "p1@district.example",
                                        "channels": ["sms", "email"], "language": "en"})
    assert good.status_code == 302
    user = next(u for u in seeded.people.users() if u["username"] == "patrol1")
    saved = seeded.notify.contact(user["id"])
    assert saved["channels"] == ["sms", "email"] and saved["language"] == "en"
    assert officer.get("/admin/notifications").status_code == 403
    assert "p1@district.example" in login("admin").get("/admin/notifications").get_data(as_text=True)


def test_a_dead_delivery_is_retried_from_admin_failed(seeded, manual_clock, login, monkeypatch):
    from .receivers import HttpReceiver

    monkeypatch.setenv("JINGZHI_TEST_HOOK_SECRET", "s3cret-value")
    receiver = HttpReceiver()  # down
    seeded.outbox.subscribe("water_company", receiver.url, ["case.opened"], "JINGZHI_TEST_HOOK_SECRET")
    instance_id = seeded.start("closed_loop", fire_lane_alert())
    for _ in range(seeded.config.delivery_max_attempts + 1):
        delivery.sweep(Jobs(seeded))
        manual_clock.advance(hours=2)
    [dead] = seeded.outbox.incidents()
    admin = login("admin")
    page = admin.get("/admin/failed").get_data(as_text=True)
    assert f'data-delivery="{dead["id"]}"' in page and "hook:" in page and "s3cret-value" not in page
    assert login("patrol1").post(f"/admin/failed/deliveries/{dead['id']}/retry").status_code == 403
    receiver.up()
    try:
        assert admin.post(f"/admin/failed/deliveries/{dead['id']}/retry").status_code == 302
        assert admin.post(f"/admin/failed/deliveries/{dead['id']}/retry").status_code == 302  # twice: told, no error
        delivery.sweep(Jobs(seeded))
    finally:
        receiver.down()
    assert [b["case_id"] for b in receiver.json()] == [instance_id]
    assert seeded.outbox.incidents() == []
    assert admin.post("/admin/hooks/1/replay", {"since": "yesterday"}).status_code == 303
    assert admin.post("/admin/hooks/999/replay", {"since": "2026-01-01T00:00"}).status_code == 404
    kinds = [e["kind"] for e in seeded.history(instance_id)]
    assert "delivery.failed" in kinds and "delivery.retried" in kinds


def test_wecom_dingtalk_and_sms_reach_their_loopback_gateways(seeded, lead, manual_clock):
    import json as json_

    from .receivers import HttpReceiver

    seeded.notify.save_contact(lead["id"], {"phone": "13800000001", "wecom_id": "ZhangWei",
                                            "dingtalk_id": "dt-0731",
                                            "channels": ["wecom", "dingtalk", "sms"]})
    wecom, dingtalk, sms = (HttpReceiver(answer={"errcode": 0}).up() for _ in range(3))
    try:
        settings = Channels(wecom_webhook_url=wecom.url + "?key=robot-key", dingtalk_webhook_url=dingtalk.url
                            + "?access_token=robot-token", dingtalk_secret="SEC-dingtalk",
                            sms_url=sms.url, sms_body='{"mobile": {phone}, "content": {text}, "sign": "精智"}',
                            sms_authorization="Bearer sms-gateway-key")
        instance_id = overdue_registration(seeded, manual_clock)
        for _ in range(10):
            delivery.sweep(Jobs(seeded), settings=settings)
            if all(len(r.received) >= 2 for r in (wecom, dingtalk, sms)):   # the reminder and the escalation
                break
            manual_clock.advance(seconds=30)
    finally:
        for receiver in (wecom, dingtalk, sms):
            receiver.down()
    subject = f"【督办】案件 #{instance_id} 立案超时督办"
    assert all(len(r.received) == 2 for r in (wecom, dingtalk, sms))
    [w] = [w for w in wecom.json() if subject in w["text"]["content"]]
    assert w["msgtype"] == "text" and w["text"]["mentioned_list"] == ["ZhangWei"]
    assert wecom.received[0]["path"] == "/hook?key=robot-key"
    [d] = [d for d in dingtalk.json() if subject in d["text"]["content"]]
    assert d["at"]["atUserIds"] == ["dt-0731"]
    assert "timestamp=" in dingtalk.received[0]["path"] and "sign=" in dingtalk.received[0]["path"]
    [s] = [s for s in sms.json() if subject in s["content"]]
    assert s["mobile"] == "13800000001" and s["sign"] == "精智"
    assert sms.received[0]["headers"]["Authorization"] == "Bearer sms-gateway-key"
    assert {n["channel"] for n in seeded.outbox.sent_log(recipient="duty_chief")} == \
        {"wecom", "dingtalk", "sms", "inbox"}
    assert json_.dumps(seeded.outbox.sent_log(), default=str).count("robot-key") == 0


def test_secrets_stay_out_of_the_database_audit_logs_and_config(seeded, lead, manual_clock, monkeypatch, caplog,
                                                                 login):
    """Item 6: the webhook secret, the SMTP password and the robots' keys are read from the environment when sending,
    and are in no table, audit entry, log line, page or the Config's repr."""
    import logging

    from engine import Config

    from .receivers import HttpReceiver

    secrets = {"JINGZHI_TEST_HOOK_SECRET": "hook-secret-Qx81", "JINGZHI_SMTP_PASSWORD": "smtp-password-Zr42",
               "JINGZHI_WECOM_WEBHOOK_URL": "http://127.0.0.1:9/hook?key=wecom-key-Lm07",
               "JINGZHI_DINGTALK_SECRET": "dingtalk-secret-Ty55", "JINGZHI_SMS_AUTHORIZATION": "sms-key-Pw33"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    config = Config.from_env()
    assert config.channels.smtp_password == "smtp-password-Zr42"
    assert not any(value in repr(config) or value in config.describe() for value in secrets.values())
    receiver = HttpReceiver().up()
    try:
        seeded.outbox.subscribe("water_company", receiver.url, ["*"], "JINGZHI_TEST_HOOK_SECRET")
        seeded.notify.save_contact(lead["id"], {"email": "chief@district.example", "wecom_id": "ZW",
                                                "channels": ["email", "wecom"]})
        caplog.set_level(logging.DEBUG)
        instance_id = overdue_registration(seeded, manual_clock)
        with SmtpReceiver() as smtp:   # SMTP without AUTH: the login with the password fails, and is retried
            channels = Channels.from_env({**secrets, "JINGZHI_SMTP_HOST": "127.0.0.1",
                                          "JINGZHI_SMTP_PORT": str(smtp.port), "JINGZHI_SMTP_USER": "jingzhi"})
            for _ in range(3):
                delivery.sweep(Jobs(seeded), settings=channels)
                manual_clock.advance(minutes=5)
        assert receiver.received  # the webhook went out, signed with the secret from the environment
    finally:
        receiver.down()
    failed = [d for d in seeded.outbox.sent_log() if d["last_error"]]
    assert {d["channel"] for d in failed} >= {"email", "wecom"}
    from sqlalchemy import text

    with seeded.store.read() as connection:
        dump = repr([connection.execute(text(f"SELECT * FROM {table}")).all() for table in (
            "outbox_event", "delivery", "webhook_subscription", "audit_event", "process_instance",
            "contact_details", "notification_template")])
    logs = caplog.text
    admin = login("admin")
    pages = "".join(admin.get(p).get_data(as_text=True) for p in ("/admin/notifications", "/admin/failed",
                                                                  f"/cases/{instance_id}", "/dashboard.csv"))
    for value in ("hook-secret-Qx81", "smtp-password-Zr42", "wecom-key-Lm07", "dingtalk-secret-Ty55", "sms-key-Pw33"):
        assert value not in dump and value not in logs and value not in pages, value


def test_the_command_line_manages_department_subscriptions(seeded, monkeypatch, capsys):
    from jingzhi.cli import main

    monkeypatch.setenv("DATABASE_URL", seeded.config.database_url)
    assert main(["hook", "add", "water_company", "https://water.example/jingzhi", "--events",
                 "case.opened,case.closed", "--secret-env", "JINGZHI_HOOK_WATER"]) == 0
    assert "JINGZHI_HOOK_WATER" in capsys.readouterr().err
    assert main(["hook", "add", "water_company", "https://water.example/x", "--secret-env", "X"]) == 2  # twice
    assert main(["hook", "add", "gas", "ftp://gas.example", "--secret-env", "X"]) == 2                 # not http
    assert main(["hook", "add", "gas", "https://gas.example", "--events", "case.exploded", "--secret-env", "X"]) == 2
    capsys.readouterr()
    assert main(["hook", "list"]) == 0
    listed = capsys.readouterr().out
    assert "water_company  on  https://water.example/jingzhi  case.closed,case.opened  secret from $JINGZHI_HOOK_WATER" \
        in listed
    assert main(["hook", "remove", "water_company"]) == 0 and main(["hook", "remove", "nobody"]) == 2
    assert seeded.outbox.subscriptions()[0]["active"] is False


def test_an_sla_reminder_tells_the_lead_before_the_deadline(seeded, lead, manual_clock):
    instance_id = seeded.start("closed_loop", fire_lane_alert())
    [register] = seeded.ready_tasks(instance_id=instance_id)
    manual_clock.set(register["due_at"] - timedelta(seconds=60))   # past the reminder, before the limit
    assert seeded.tick(instance_id) == ["register_remind"]
    delivery.sweep(Jobs(seeded))
    [note] = seeded.outbox.sent_log(recipient="duty_chief", channel="inbox")
    assert note["subject"] == f"【提醒】案件 #{instance_id} {register['label']} 即将超时"
    assert "城运中心指挥大厅" in note["body"] and "何家宅小区 3号楼消防通道" in note["body"]
    assert [e["kind"] for e in seeded.outbox.events(instance_id)].count("task.reminder") == 1


def test_an_admin_adds_a_template_and_skips_a_delivery_no_receiver_will_take(seeded, login, manual_clock,
                                                                            monkeypatch):
    from .receivers import HttpReceiver

    admin = login("admin")
    assert admin.get("/admin/notifications/templates/new?code=Bad Code").status_code == 302
    assert admin.get("/admin/notifications/templates/new?code=water_cut").headers["Location"].endswith(
        "/admin/notifications/templates/water_cut")
    assert 'value="water_cut"' in admin.get("/admin/notifications/templates/water_cut").get_data(as_text=True)
    assert admin.get("/admin/notifications/templates/NOT-A-CODE").status_code == 404
    assert admin.post("/admin/notifications/templates", {
        "code": "water_cut", "subject_zh": "停水通知 #{case_id}", "body_zh": "{address} 停水",
        "subject_en": "Water cut #{case_id}", "body_en": "No water at {address}"}).status_code == 302
    assert "water_cut" in [t["code"] for t in seeded.notify.templates()]
    assert admin.post("/me/contact", {"email": "x" * 190 + "@example.com"}).status_code == 422  # past the column

    monkeypatch.setenv("JINGZHI_TEST_HOOK_SECRET", "s")
    receiver = HttpReceiver()
    receiver.status = 400   # refuses the event, every time
    receiver.up()
    try:
        seeded.outbox.subscribe("water_company", receiver.url, ["case.opened", "task.created"],
                                "JINGZHI_TEST_HOOK_SECRET")
        seeded.start("closed_loop", fire_lane_alert())
        for _ in range(seeded.config.delivery_max_attempts + 1):
            delivery.sweep(Jobs(seeded))
            manual_clock.advance(hours=2)
        [dead] = seeded.outbox.incidents()
        assert dead["waiting"] >= 1
        receiver.status = 200
        admin = login("admin")   # a day and a half has passed: the morning's session has ended
        skipped = admin.post(f"/admin/failed/deliveries/{dead['id']}/skip")
        assert skipped.status_code == 302, skipped.get_data(as_text=True).split("<main>")[-1][:800]
        delivery.sweep(Jobs(seeded))
    finally:
        receiver.down()
    assert [b["event"] for b in receiver.json()] == ["task.created"] * dead["waiting"]   # the rest went on
    assert seeded.outbox.incidents() == []
    seeded.outbox.unsubscribe("water_company")
    assert {d["status"] for d in seeded.outbox.sent_log() if d["channel"] == "webhook"} == {"sent", "discarded"}
