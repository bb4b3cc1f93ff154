"""Running instances: lock, load, advance SpiffWorkflow, save everything in one transaction.

Every verb that changes an instance goes through :meth:`Runtime.step`: it locks the instance row (``SELECT ... FOR
UPDATE`` on PostgreSQL), loads the state with the cached spec of its version, applies the change and writes the
new state with its projection (inbox rows, case, subscriptions, next timer, audit). The row version is checked on
write too, so a backend without row locks (SQLite) turns a race into a retryable ConcurrentUpdate instead of a lost
update.

The workflow object of the last save stays in memory (:class:`HotInstances`) next to the row version it was saved
as. The next step on that instance reuses it when the locked row still has that version, which skips
deserialization; any other version, or any failure, drops it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from . import clock, defaults, operators
from .definitions import Definitions
from .exceptions import InstanceFailed, JingzhiError, Message, NotFound, ScriptRefused, TaskNotReady
from .models import AuditEvent, HumanTask, ProcessInstance
from .models import ERROR, RUNNING
from .persistence import (Memo, StepRecord, insert_instance, memo_of_new_case, new_case,
                          read_memo, status_of, update_instance, write_projection)
from .projection import next_timer, project
from .serialization import SERIALIZER_VERSION, dump_state, load_state

log = logging.getLogger(__name__)

_instances, _tasks = ProcessInstance.__table__, HumanTask.__table__
_LOCK_COLUMNS = (_instances.c.id, _instances.c.definition_id, _instances.c.status, _instances.c.row_version,
                 _instances.c.serializer_version, _instances.c.state, _instances.c.next_timer_at)
# Built once: constructing and cache-keying a statement costs about as much as a round trip to the database.
_LOCK_INSTANCE = select(*_LOCK_COLUMNS).where(_instances.c.id == bindparam("instance_id")).with_for_update()
_LOCK_BY_TASK = (select(*_LOCK_COLUMNS, *(c.label(f"task_{c.name}") for c in _tasks.c))
                 .join_from(_tasks, _instances, _tasks.c.instance_id == _instances.c.id)
                 .where(_tasks.c.id == bindparam("task_id")).with_for_update(of=_instances))
_SET_TIMER = update(_instances).where(_instances.c.id == bindparam("b_id"))


@dataclass
class Step(StepRecord):
    """One verb's work on one instance."""

    instance_id: int | None = None
    task: dict | None = None   # the human task row, for verbs on a task
    changed: bool = True
    #: When the step began, on the clock SpiffWorkflow stamps task state changes with (``time.time()``): elements
    #: changed since then were passed in this step, so their stages are recorded even if nothing waits in them.
    since: float = field(default_factory=time.time)


def failure(err: BaseException) -> InstanceFailed:
    """Turn whatever a script or SpiffWorkflow raised into one error that keeps the element id and line."""
    task = getattr(err, "task", None)
    bpmn_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    cause = getattr(err, "exception", None) or _wrapped(err) or err
    line = getattr(err, "line_number", None) or None
    where = f" in {bpmn_id}" if bpmn_id else ""
    message = cause.message if isinstance(cause, JingzhiError) else str(cause) or cause.__class__.__name__
    kind = cause.__class__.__name__
    if isinstance(cause, ScriptRefused):
        kind = "refused by the sandbox"
    text = f"{kind}{where}: {message}" + (f" (line {line})" if line else "")
    return InstanceFailed(text, {"element_id": bpmn_id, "line": line, "error": kind, "message": message})


def _wrapped(err: Exception) -> Exception | None:
    """The exception SpiffWorkflow's script engine wrapped: it keeps only its class name, the rest is the context."""
    context = err.__context__
    if isinstance(err, WorkflowTaskException) and context is not None \
            and getattr(err, "error_type", None) == type(context).__name__:
        return context
    return None


def run_engine(action, *args):
    """Call into SpiffWorkflow, converting its and the sandbox's exceptions into InstanceFailed."""
    try:
        return action(*args)
    except JingzhiError as err:
        if not isinstance(err, ScriptRefused):
            raise
        raise failure(err) from err
    except Exception as err:  # scripts raise anything; none of it may escape as a server error
        raise failure(err) from err
    except (KeyboardInterrupt, SystemExit):
        # Scripts that raise these run in a sandbox worker and come back as ScriptRefused; here they are the
        # process being stopped (Ctrl-C, a signal handler), which must stop it.
        raise
    except BaseException as err:  # GeneratorExit or another BaseException subclass out of a diagram
        raise failure(err) from err


@contextmanager
def collecting(step: Step):
    """Collect what the step's ``notify`` service tasks ask for into ``step.notifications`` (engine.operators)."""
    token = operators.collected.set(step.notifications)
    try:
        yield
    finally:
        operators.collected.reset(token)


class HotInstances:
    """Workflows of recent saves by instance id, each valid only for the row version it was saved as.

    ``take`` removes the entry, so two threads can never advance one in-memory workflow at once; the loser of a race
    loads from the database like anyone else.
    """

    def __init__(self, size: int = defaults.HOT_INSTANCES):
        self._entries: OrderedDict[int, tuple[int, BpmnWorkflow, Memo]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, row_version: int):
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is not None and entry[0] == row_version:
            return entry[1], entry[2]
        return None

    def put(self, instance_id: int, row_version: int, workflow: BpmnWorkflow, memo: Memo) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._entries[instance_id] = (row_version, workflow, memo)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Runtime:
    def __init__(self, store, definitions: Definitions, script_engine, hot_size: int = defaults.HOT_INSTANCES):
        self.store = store
        self.definitions = definitions
        self.script_engine = script_engine
        self.hot = HotInstances(hot_size)

    def start(self, process_id: str, data: dict, business_key: str | None, actor: str) -> int:
        with self.store.begin() as connection:
            instance_id, workflow, memo = self.start_in(connection, process_id, data, business_key, actor)
        if not workflow.completed:
            self.hot.put(instance_id, 1, workflow, memo)
        return instance_id

    def start_in(self, connection, process_id: str, data: dict, business_key: str | None, actor: str):
        """Start an instance in the caller's transaction (case starts in batches: engine.alarms); returns its id,
        workflow and memo. Nothing goes to the hot cache: the caller's transaction may still roll back."""
        definition = self.definitions.load(connection, self.definitions.latest_id(connection, process_id))
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        step = Step(actor, since=0.0)  # everything so far happened in this step
        with collecting(step):
            run_engine(workflow.do_engine_steps)
        now = clock.now()
        projection = run_engine(project, workflow, now, set(), step.since)
        status = status_of(workflow, step)
        case = new_case(process_id, business_key, data, now)
        instance_id = insert_instance(connection, dict(
            definition_id=definition.id, business_key=business_key, created_at=now,
            **_state_values(workflow, projection, status, 1, now)), case)
        step.audit("instance.started", process_id=process_id, version=definition.version,
                   business_key=business_key)
        memo = write_projection(connection, instance_id, workflow, projection, memo_of_new_case(case),
                                step, status, now)
        return instance_id, workflow, memo

    def step(self, instance_id: int | None, actor: str, change, task_id: int | None = None) -> Step:
        """Lock, load, ``change(workflow, definition, step, connection)``, save; all or nothing.

        With ``task_id`` the instance is found from the human task, whose row the change gets as ``step.task``.
        """
        with self.store.begin() as connection:
            row, task = self._lock(connection, instance_id, task_id)
            instance_id = row.id
            definition = self.definitions.load(connection, row.definition_id)
            hot = self.hot.take(instance_id, row.row_version)
            if hot is None:
                workflow = load_state(row.state, row.serializer_version, definition.spec,
                                      definition.subprocess_specs, self.script_engine)
                memo = read_memo(connection, instance_id)
            else:
                workflow, memo = hot
            step = Step(actor, instance_id=instance_id, task=task)
            with collecting(step):
                change(workflow, definition, step, connection)
            if step.changed:
                memo = self._save(connection, row, workflow, step, memo)
            else:
                self._refresh_timer_index(connection, row, workflow)
        # Reached only after the commit: a step that raised left its entry taken, and so dropped. A step that
        # saved nothing may have touched the workflow in memory (timers refreshed): it is not put back either, nor
        # is a finished workflow: no step runs on an instance that is not running, and the cache would otherwise
        # be mostly closed cases (a simulated month has at most 246 open at once and 11,534 in all).
        if step.changed and not workflow.completed:
            self.hot.put(instance_id, row.row_version + 1, workflow, memo)
        return step

    def _lock(self, connection, instance_id: int | None, task_id: int | None):
        if task_id is not None:
            found = connection.execute(_LOCK_BY_TASK, {"task_id": task_id}).mappings().one_or_none()
            if found is None:
                raise NotFound(Message("task {task} does not exist", task=task_id))
            task = {c.name: found[f"task_{c.name}"] for c in _tasks.c}
        else:
            found = connection.execute(_LOCK_INSTANCE, {"instance_id": instance_id}).mappings().one_or_none()
            if found is None:
                raise NotFound(Message("instance {instance} does not exist", instance=instance_id))
            task = None
        row = _Row(**{c.name: found[c.name] for c in _LOCK_COLUMNS})
        if row.status != RUNNING:
            raise TaskNotReady(Message("instance {instance} is {status}", instance=row.id, status=row.status),
                               {"status": row.status})
        return row, task

    def _save(self, connection, row, workflow, step: Step, memo: Memo) -> Memo:
        now = clock.now()
        projection = run_engine(project, workflow, now, set(memo.ready), step.since)
        status = status_of(workflow, step)
        update_instance(connection, row.id, row.row_version,
                        _state_values(workflow, projection, status, row.row_version + 1, now))
        return write_projection(connection, row.id, workflow, projection, memo, step, status, now)

    def _refresh_timer_index(self, connection, row, workflow) -> None:
        """A step that changed nothing (a tick before anything was due) still corrects a stale timer index."""
        due = next_timer(workflow)
        if due != row.next_timer_at:
            connection.execute(_SET_TIMER, {"b_id": row.id, "next_timer_at": due})

    def mark_failed(self, instance_id: int, failed: InstanceFailed, actor: str) -> None:
        """Park an instance whose automatic step failed, so the ticker stops retrying it and an admin sees why."""
        with self.store.transaction() as session:
            session.execute(update(_instances).where(_instances.c.id == instance_id, _instances.c.status == RUNNING)
                            .values(status=ERROR, error=failed.message, next_timer_at=None, updated_at=clock.now()))
            session.add(AuditEvent(instance_id=instance_id, at=clock.now(), actor=actor, kind="instance.failed",
                                   detail=failed.details or {"message": failed.message}))

    def resume(self, instance_id: int, actor: str) -> None:
        """Put a failed instance back to running (after its diagram or data was fixed)."""
        with self.store.transaction() as session:
            result = session.execute(update(_instances).where(_instances.c.id == instance_id,
                                                              _instances.c.status == ERROR)
                                     .values(status=RUNNING, error=None))
            if result.rowcount != 1:
                raise TaskNotReady(Message("instance {instance} is not in error", instance=instance_id))
            session.add(AuditEvent(instance_id=instance_id, at=clock.now(), actor=actor, kind="instance.resumed",
                                   detail={}))


def _state_values(workflow, projection, status: str, row_version: int, now) -> dict:
    """The instance row's columns that every save writes."""
    return dict(state=dump_state(workflow), serializer_version=SERIALIZER_VERSION, row_version=row_version,
                next_timer_at=projection.next_timer_at, status=status, updated_at=now,
                ended_at=now if status != RUNNING else None, error=None)


@dataclass
class _Row:
    id: int
    definition_id: int
    status: str
    row_version: int
    serializer_version: str
    state: str
    next_timer_at: object
