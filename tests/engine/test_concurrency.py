"""Two workers advancing one instance at the same moment: one waits or gets a retryable error, no update is lost."""
from __future__ import annotations

import threading
import time

import pytest

from engine import Config, Engine
from engine import runtime as runtime_module
from engine.exceptions import ConcurrentUpdate
from engine.jobs import run_verb


@pytest.fixture
def two_workers(database_url, manual_clock):
    """Two engines with their own connection pools, as two worker processes would have."""
    workers = [Engine(Config(database_url=database_url)) for _ in range(2)]
    yield workers
    for worker in workers:
        worker.store.dispose()


@pytest.fixture
def instance(two_workers, deploy):
    deploy("parallel.bpmn")
    first, _ = two_workers
    instance_id = first.start("parallel")
    tasks = {t["bpmn_id"]: t["id"] for t in first.ready_tasks()}
    assert set(tasks) == {"photo", "notes"}
    return instance_id, tasks


class _WithoutForUpdate:
    """A connection that drops FOR UPDATE from what it executes, as on a backend without row locks."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, statement, *args, **kwargs):
        return self.connection.execute(_strip_for_update(statement), *args, **kwargs)


def _strip_for_update(statement):
    statement = statement._generate()
    statement._for_update_arg = None
    return statement


def run_both(actions):
    errors = []

    def guarded(action):
        try:
            action()
        except Exception as err:  # collected for the test to inspect
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def assert_both_completions_kept(engine, instance_id):
    view = engine.get(instance_id)
    statuses = {t["bpmn_id"]: t["status"] for t in view.tasks}
    assert statuses == {"photo": "completed", "notes": "completed", "review": "ready"}
    assert view.data["photo_ref"] == "p-1" and view.data["notes"] == "blocked the lane"
    kinds = [e["kind"] for e in engine.history(instance_id)]
    assert kinds.count("task.completed") == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_the_second_worker_waits_for_the_row_lock(two_workers, instance, monkeypatch):
    instance_id, tasks = instance
    first_loaded, order = threading.Event(), []
    original = runtime_module.load_state

    def slow_first_load(*args, **kwargs):
        workflow = original(*args, **kwargs)
        if not first_loaded.is_set():
            first_loaded.set()
            time.sleep(0.3)          # hold the row lock while the second worker arrives
            order.append("first saved")
        else:
            order.append("second loaded")
        return workflow

    monkeypatch.setattr(runtime_module, "load_state", slow_first_load)
    a, b = two_workers
    a.runtime.hot.clear()            # both must load from the database for the order to show

    def second():
        first_loaded.wait(10)
        b.complete_task(tasks["notes"], {"notes": "blocked the lane"}, actor="officer2")

    errors = run_both([lambda: a.complete_task(tasks["photo"], {"photo_ref": "p-1"}, actor="officer1"), second])
    assert errors == []
    assert order == ["first saved", "second loaded"]  # the second load happened only after the first commit
    assert_both_completions_kept(a, instance_id)


def test_without_row_locks_the_version_check_refuses_the_stale_write(two_workers, instance, monkeypatch):
    """Both workers load the same version (as on a backend without SELECT ... FOR UPDATE); one must lose."""
    instance_id, tasks = instance
    both_loaded = threading.Barrier(2, timeout=10)
    original_lock, original_load = runtime_module.Runtime._lock, runtime_module.load_state

    def lock_without_for_update(self, connection, instance_id, task_id):
        return original_lock(self, _WithoutForUpdate(connection), instance_id, task_id)

    def load_together(*args, **kwargs):
        workflow = original_load(*args, **kwargs)
        try:
            both_loaded.wait()
        except threading.BrokenBarrierError:
            pass                     # the retry loads alone
        return workflow

    monkeypatch.setattr(runtime_module.Runtime, "_lock", lock_without_for_update)
    monkeypatch.setattr(runtime_module, "load_state", load_together)
    a, b = two_workers
    a.runtime.hot.clear()
    errors = run_both([
        lambda: a.complete_task(tasks["photo"], {"photo_ref": "p-1"}, actor="officer1"),
        lambda: b.complete_task(tasks["notes"], {"notes": "blocked the lane"}, actor="officer2"),
    ])
    assert len(errors) == 1 and isinstance(errors[0], ConcurrentUpdate) and errors[0].retryable
    loser = b if any(t["status"] == "completed" and t["bpmn_id"] == "photo" for t in a.get(instance_id).tasks) \
        else a
    both_loaded.abort()
    monkeypatch.setattr(runtime_module.Runtime, "_lock", original_lock)
    retried = {"notes": ({"notes": "blocked the lane"}, "officer2"), "photo": ({"photo_ref": "p-1"}, "officer1")}
    pending = [t for t in loser.get(instance_id).tasks if t["status"] == "ready" and t["bpmn_id"] in retried]
    [task] = pending
    data, actor = retried[task["bpmn_id"]]
    run_verb("complete_task", {"task_id": task["id"], "data": data, "actor": actor}, loser)
    assert_both_completions_kept(a, instance_id)


def test_a_worker_whose_memory_is_stale_reloads_from_the_database(two_workers, instance):
    """Worker a keeps the workflow of its last save in memory; after b advanced the instance it must not use it."""
    instance_id, tasks = instance
    a, b = two_workers
    a.complete_task(tasks["photo"], {"photo_ref": "p-1"}, actor="officer1")     # a remembers version 2
    b.complete_task(tasks["notes"], {"notes": "blocked the lane"}, actor="officer2")  # b writes version 3
    [review] = a.ready_tasks(instance_id=instance_id)
    a.complete_task(review["id"], {"approved": True}, actor="lead1")            # a must load version 3
    view = a.get(instance_id)
    assert view.status == "completed"
    assert view.data["photo_ref"] == "p-1" and view.data["notes"] == "blocked the lane" and view.data["approved"]
