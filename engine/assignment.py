"""Who holds a ready task: claim, unclaim, reassign. Touches only the inbox row, never the workflow state."""
from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, insert, or_, select, update

from .models import TASK_READY
from . import clock, outbox
from .exceptions import Message, NotAllowed, NotFound, TaskNotReady
from .models import AuditEvent, HumanTask

_tasks, _audit = HumanTask.__table__, AuditEvent.__table__
# Built once (claims are as frequent as completions): see _assign_statement for the conditional update.
_READ_TASK = select(_tasks.c.instance_id, _tasks.c.status, _tasks.c.assignee, _tasks.c.bpmn_id).where(
    _tasks.c.id == bindparam("task_id"))
_INSERT_AUDIT = insert(_audit)


@cache
def _assign_statement(nobody: tuple[bool, ...]):
    """The conditional update for one shape of ``expect``: ``nobody[n]`` says its n-th holder is None."""
    allowed = [_tasks.c.assignee.is_(None) if none else _tasks.c.assignee == bindparam(f"who{n}")
               for n, none in enumerate(nobody)]
    return (update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.status == TASK_READY, or_(*allowed))
            .values(assignee=bindparam("new_assignee")).returning(_tasks.c.instance_id, _tasks.c.bpmn_id))


def holder(connection, task_id: int) -> str | None:
    return connection.scalar(select(_tasks.c.assignee).where(_tasks.c.id == task_id))


def assign(store, task_id: int, assignee: str | None, expect: tuple, kind: str, actor: str) -> None:
    """Set the assignee when the current one is one of ``expect`` (None meaning nobody), atomically."""
    with store.begin() as connection:
        # The conditional update is the check; why it matched nothing is read only when it did not.
        holders = {f"who{n}": who for n, who in enumerate(expect) if who is not None}
        task = connection.execute(_assign_statement(tuple(who is None for who in expect)),
                                  {"task_id": task_id, "new_assignee": assignee, **holders}).one_or_none()
        if task is None:
            _refuse(connection, task_id)
        detail = {"task_id": task_id, "bpmn_id": task.bpmn_id, "assignee": assignee}
        now = clock.now()
        connection.execute(_INSERT_AUDIT, dict(instance_id=task.instance_id, at=now, actor=actor, kind=kind,
                                               detail=detail))
        outbox.record(connection, task.instance_id, [(kind, detail)], [], {}, now)


def _refuse(connection, task_id: int):
    """Raise why a task could not be (re)assigned: gone, no longer ready, or held by someone else."""
    task = connection.execute(_READ_TASK, {"task_id": task_id}).one_or_none()
    if task is None:
        raise NotFound(Message("task {task} does not exist", task=task_id))
    if task.status != TASK_READY:
        raise TaskNotReady(Message("task {task} is already {status}", task=task_id, status=task.status),
                           {"status": task.status})
    raise NotAllowed(Message("task {task} is held by {user}", task=task_id, user=task.assignee) if task.assignee
                     else Message("task {task} is held by nobody", task=task_id))
