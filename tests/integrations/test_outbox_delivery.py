"""The outbox end to end: engine steps write events in their own transaction, the sweep delivers them to a real HTTP
receiver on loopback, signed, in order per case, each once; a receiver that was down gets everything afterwards."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from engine import Config, Engine, people
from engine.exceptions import DeploymentRejected
from engine.jobs import Jobs
from integrations import delivery
from integrations.channels import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.conftest import read_files

from .receivers import HttpReceiver

DIAGRAMS = __import__("pathlib").Path(__file__).parent / "diagrams"
SECRET = "water-company-shared-secret"


@pytest.fixture
def outbox_engine(database_url, manual_clock, monkeypatch):
    monkeypatch.setenv("JINGZHI_TEST_HOOK_SECRET", SECRET)
    engine = Engine(Config(database_url=database_url, script_time_limit_s=0.5, delivery_backoff_s=10,
                           delivery_max_attempts=4))
    engine.deploy(read_files(DIAGRAMS / "outbox_steps.bpmn"), deployed_by="test")
    people.seed_teams(engine.store, [{"code": "grid_patrol", "name_zh": "网格巡查", "name_en": "Grid patrol",
                                      "kind": "in_house"}])
    yield engine
    engine.store.dispose()


def run_case(engine: Engine) -> int:
    """Open a case and walk it to its end: opened, task created, completed, escalated to the lead, closed."""
    instance_id = engine.start("outbox_steps", {"scenario": "hydrant_pressure", "address": "长寿路 1 号"})
    for _ in range(2):
        task = engine.ready_tasks(instance_id=instance_id)[0]
        engine.complete_task(task["id"], {"note": "done"}, actor="patrol1")
    return instance_id


def sweep_until(jobs, manual_clock, done, rounds: int = 40) -> None:
    """Sweep (moving the clock past each backoff, never sleeping) until ``done()`` or the rounds run out."""
    for _ in range(rounds):
        delivery.sweep(jobs)
        if done():
            return
        manual_clock.advance(seconds=30)
    raise AssertionError("deliveries did not arrive")


def test_each_step_writes_its_events_in_its_own_transaction(outbox_engine):
    instance_id = run_case(outbox_engine)
    kinds = [e["kind"] for e in outbox_engine.outbox.events(instance_id)]
    assert kinds[0] == "case.opened"
    assert kinds.count("task.created") == 2 and kinds.count("task.completed") == 2
    assert "case.escalated" in kinds and "notify" in kinds and kinds[-1] == "case.closed"
    # form data never leaves with an event
    assert all("note" not in json.dumps(e["payload"]) for e in outbox_engine.outbox.events(instance_id))


def test_a_step_that_fails_writes_no_event(outbox_engine):
    instance_id = outbox_engine.start("outbox_steps", {})
    before = len(outbox_engine.outbox.events(instance_id))
    task = outbox_engine.ready_tasks(instance_id=instance_id)[0]
    outbox_engine.claim(task["id"], actor="patrol1")
    with pytest.raises(Exception):
        outbox_engine.complete_task(task["id"], {}, actor="patrol2")  # held by someone else: refused, rolled back
    kinds = [e["kind"] for e in outbox_engine.outbox.events(instance_id)]
    assert len(kinds) == before + 1 and kinds[-1] == "task.claimed"


def test_webhooks_arrive_signed_once_in_order_per_case(outbox_engine, manual_clock):
    receiver = HttpReceiver().up()
    try:
        outbox_engine.outbox.subscribe("water_company", receiver.url, ["*"], "JINGZHI_TEST_HOOK_SECRET")
        cases = [run_case(outbox_engine) for _ in range(2)]
        expected = {c: [e["id"] for e in outbox_engine.outbox.events(c) if e["kind"] != "notify"] for c in cases}
        total = sum(len(v) for v in expected.values())
        sweep_until(Jobs(outbox_engine), manual_clock, lambda: len(receiver.received) >= total)
        delivery.sweep(Jobs(outbox_engine))  # nothing is left to send a second time
    finally:
        receiver.down()
    bodies = receiver.json()
    assert len(bodies) == total
    for case in cases:
        assert [b["event_id"] for b in bodies if b["case_id"] == case] == expected[case]
    keys = [r["headers"][IDEMPOTENCY_HEADER] for r in receiver.received]
    assert len(set(keys)) == total
    first = receiver.received[0]
    signed = first["headers"][TIMESTAMP_HEADER].encode() + b"." + first["body"]
    assert first["headers"][SIGNATURE_HEADER] == "sha256=" + hmac.new(SECRET.encode(), signed,
                                                                       hashlib.sha256).hexdigest()
    assert bodies[0]["event"] == "case.opened" and bodies[0]["case"]["address"] == "长寿路 1 号"


def test_a_receiver_down_for_a_while_gets_every_event_afterwards_once_and_in_order(outbox_engine, manual_clock):
    receiver = HttpReceiver()  # not listening: connection refused
    outbox_engine.outbox.subscribe("water_company", receiver.url, ["case.opened", "task.created", "task.completed",
                                                                     "case.closed"], "JINGZHI_TEST_HOOK_SECRET")
    jobs = Jobs(outbox_engine)
    cases = [run_case(outbox_engine) for _ in range(3)]
    for _ in range(3):  # three failed attempts each for the head of every case; the rest wait behind them
        delivery.sweep(jobs)
        manual_clock.advance(seconds=30)
    log = outbox_engine.outbox.sent_log()
    assert {d["status"] for d in log} == {"pending"}
    heads = [d for d in log if d["attempts"] > 0]
    assert len(heads) == len(cases) and all(d["last_error"] for d in heads)
    expected = {c: [e["id"] for e in outbox_engine.outbox.events(c)
                    if e["kind"] in ("case.opened", "task.created", "task.completed", "case.closed")] for c in cases}
    total = sum(len(v) for v in expected.values())
    receiver.up()
    try:
        sweep_until(jobs, manual_clock, lambda: len(receiver.received) >= total)
        for _ in range(3):
            manual_clock.advance(seconds=600)
            delivery.sweep(jobs)
    finally:
        receiver.down()
    bodies = receiver.json()
    assert len(bodies) == total
    assert len({b["id"] for b in bodies}) == total  # none twice
    for case in cases:
        assert [b["event_id"] for b in bodies if b["case_id"] == case] == expected[case]


def test_a_final_failure_is_an_incident_that_blocks_its_case_until_retried(outbox_engine, manual_clock):
    receiver = HttpReceiver()
    receiver.status = 503
    receiver.up()
    try:
        outbox_engine.outbox.subscribe("water_company", receiver.url, ["*"], "JINGZHI_TEST_HOOK_SECRET")
        jobs = Jobs(outbox_engine)
        instance_id = run_case(outbox_engine)
        for _ in range(6):
            delivery.sweep(jobs)
            manual_clock.advance(seconds=600)
        incidents = outbox_engine.outbox.incidents()
        assert len(incidents) == 1 and incidents[0]["attempts"] == 4 and "503" in incidents[0]["last_error"]
        assert incidents[0]["waiting"] > 0 and receiver.received == []
        receiver.status = 200
        outbox_engine.outbox.retry(incidents[0]["id"], actor="admin")
        count = len([e for e in outbox_engine.outbox.events(instance_id) if e["kind"] != "notify"])
        sweep_until(jobs, manual_clock, lambda: len(receiver.received) >= count)
        assert outbox_engine.outbox.incidents() == []
        # replay: the department lost everything; it gets it again, in order, with the same keys
        keys = [r["headers"][IDEMPOTENCY_HEADER] for r in receiver.received]
        subscription = outbox_engine.outbox.subscriptions()[0]["id"]
        assert outbox_engine.outbox.replay(subscription, manual_clock.now().replace(year=2000), "admin") == count
        sweep_until(jobs, manual_clock, lambda: len(receiver.received) >= 2 * count)
        assert [r["headers"][IDEMPOTENCY_HEADER] for r in receiver.received[count:]] == keys
        assert all(r["headers"]["X-Jingzhi-Replay"] == "1" for r in receiver.received[count:])
    finally:
        receiver.down()


def test_deploy_refuses_a_notify_task_with_a_bad_target_by_element_and_line(outbox_engine):
    diagram = (DIAGRAMS / "outbox_steps.bpmn").read_text(encoding="utf-8")
    broken = diagram.replace("&quot;team:grid_patrol&quot;", "&quot;somebody&quot;").replace(
        'id="channel" type="str" value="&quot;inbox&quot;"', 'id="channel" type="str" value="&quot;pigeon&quot;"')
    with pytest.raises(DeploymentRejected) as refused:
        outbox_engine.deploy({"outbox_steps.bpmn": broken.encode()})
    problems = [p for p in refused.value.details if p["element_id"] == "tell"]
    assert any("'to' must be one of" in p["message"] for p in problems)
    assert any("channel must be one of" in p["message"] for p in problems)
    assert all(p["line"] for p in problems)


@pytest.mark.redis
def test_with_redis_deliveries_are_rq_jobs_run_by_a_worker(outbox_engine, manual_clock):
    import os
    import uuid

    from redis import Redis

    redis = Redis.from_url(os.environ.get("JINGZHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    jobs = Jobs(outbox_engine, redis, queue_name=f"outbox-test-{uuid.uuid4().hex[:8]}")
    receiver = HttpReceiver().up()
    try:
        outbox_engine.outbox.subscribe("water_company", receiver.url, ["case.opened", "case.closed"],
                                       "JINGZHI_TEST_HOOK_SECRET")
        instance_id = run_case(outbox_engine)
        for _ in range(10):
            counts = delivery.sweep(jobs)          # queues the first of the case; the worker sends it
            assert counts["sent"] == 0
            jobs.work(burst=True)
            if len(receiver.received) >= 2:
                break
    finally:
        receiver.down()
        jobs.queue.delete(delete_jobs=True)
        redis.close()
    assert [(b["event"], b["case_id"]) for b in receiver.json()] == [("case.opened", instance_id),
                                                                    ("case.closed", instance_id)]


def test_a_redirect_is_not_a_delivery(outbox_engine, manual_clock):
    receiver = HttpReceiver()
    receiver.status = 302   # followed, urllib would re-send it as a GET without the body and count the 200
    receiver.up()
    try:
        outbox_engine.outbox.subscribe("water_company", receiver.url, ["case.opened"], "JINGZHI_TEST_HOOK_SECRET")
        outbox_engine.start("outbox_steps", {})
        delivery.sweep(Jobs(outbox_engine))
    finally:
        receiver.down()
    [attempted] = outbox_engine.outbox.sent_log()
    assert attempted["status"] == "pending" and "HTTP 302" in attempted["last_error"]
