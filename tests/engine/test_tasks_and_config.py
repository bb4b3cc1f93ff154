"""Claiming and handing back tasks, unknown ids, and the configuration read from the environment."""
from __future__ import annotations

import pytest

from engine import Config
from engine.exceptions import NotAllowed, NotFound, TaskNotReady


@pytest.fixture
def register_task(engine, deploy):
    deploy("inspection.bpmn", "register.schema.json")
    instance_id = engine.start("inspection", {"device_id": "D-1"})
    [task] = engine.ready_tasks(instance_id=instance_id)
    return task


def test_claim_makes_the_task_mine_and_blocks_others(engine, register_task):
    engine.claim(register_task["id"], "alice")
    assert engine.task(register_task["id"])["assignee"] == "alice"
    assert [t["id"] for t in engine.ready_tasks(assignee="alice")] == [register_task["id"]]
    engine.claim(register_task["id"], "alice")                      # claiming again is harmless
    with pytest.raises(NotAllowed):
        engine.claim(register_task["id"], "bob")
    with pytest.raises(NotAllowed):
        engine.complete_task(register_task["id"], {"valid": True}, actor="bob")
    with pytest.raises(NotAllowed):
        engine.unclaim(register_task["id"], "bob")
    engine.complete_task(register_task["id"], {"valid": True}, actor="alice")
    with pytest.raises(TaskNotReady):
        engine.claim(register_task["id"], "alice")


def test_unclaim_and_reassign_by_a_lead(engine, register_task):
    engine.claim(register_task["id"], "alice")
    engine.unclaim(register_task["id"], "alice")
    assert engine.task(register_task["id"])["assignee"] is None
    engine.claim(register_task["id"], "bob")
    engine.reassign(register_task["id"], "carol", actor="lead1")
    assert engine.task(register_task["id"])["assignee"] == "carol"
    engine.unclaim(register_task["id"], "lead1", as_lead=True)
    assert engine.task(register_task["id"])["assignee"] is None
    kinds = [e["kind"] for e in engine.history(register_task["instance_id"])]
    assert kinds.count("task.claimed") == 2 and kinds.count("task.unclaimed") == 2
    assert "task.reassigned" in kinds


def test_unknown_ids_are_not_found(engine, register_task):
    with pytest.raises(NotFound):
        engine.start("no_such_process")
    with pytest.raises(NotFound):
        engine.get(99999)
    with pytest.raises(NotFound):
        engine.complete_task(99999, {})
    with pytest.raises(NotFound):
        engine.claim(99999, "alice")


def test_config_comes_from_the_environment():
    config = Config.from_env({"DATABASE_URL": "postgresql+psycopg://u:secret@db/j", "REDIS_URL": "redis://r:6379/0",
                              "JINGZHI_SCRIPT_TIME_LIMIT_S": "1.5"})
    assert config.database_url.endswith("@db/j") and config.uses_jobs_queue
    assert config.script_time_limit_s == 1.5
    assert "secret" not in config.describe()
    defaults = Config.from_env({})
    assert defaults.database_url.startswith("sqlite:///") and not defaults.uses_jobs_queue
    assert defaults.mqtt_url is None and defaults.secret_key is None
    assert Config.from_env({"JINGZHI_HOT_INSTANCES": "0"}).hot_instances == 0


def test_with_the_hot_cache_off_every_step_loads_the_instance_it_saved(engine, database_url, deploy):
    from engine import Engine

    deploy("inspection.bpmn", "register.schema.json")
    cold = Engine(Config(database_url=database_url, hot_instances=0))
    try:
        for each in (engine, cold):
            instance_id = each.start("inspection", {"device_id": "D-1"})
            [task] = each.ready_tasks(instance_id=instance_id)
            each.claim(task["id"], "alice")
        assert (len(engine.runtime.hot), len(cold.runtime.hot)) == (1, 0)
        cold.complete_task(task["id"], {"valid": True}, actor="alice")      # a step that had to deserialize
        assert "task.completed" in [e["kind"] for e in cold.history(instance_id)]
        assert cold.get(instance_id).status == "running" and len(cold.runtime.hot) == 0
    finally:
        cold.store.dispose()


def test_times_in_other_zones_are_stored_as_the_same_moment(engine, register_task):
    from datetime import datetime, timedelta, timezone
    from sqlalchemy import update
    from engine.models import HumanTask

    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 3, 1, 18, 30, tzinfo=shanghai)
    with engine.store.begin() as connection:
        connection.execute(update(HumanTask).where(HumanTask.id == register_task["id"]).values(due_at=moment))
    stored = engine.task(register_task["id"])["due_at"]
    assert stored == moment and stored.utcoffset() == timedelta(0)


def test_a_message_without_a_correlation_value_is_refused(engine, deploy):
    from engine.exceptions import MessageNotCorrelated

    deploy("inspection.bpmn", "register.schema.json")
    instance_id = engine.start("inspection", {})                 # a case without a device
    engine.complete_task(engine.ready_tasks()[0]["id"], {"valid": True})
    engine.complete_task(engine.ready_tasks()[0]["id"], {})
    for correlations in ({"device_id": None}, {"device_id": ""}, {}):
        with pytest.raises(MessageNotCorrelated):
            engine.send_message("sensor_clear", correlations)
    assert engine.get(instance_id).case["stage"] == "verify"
