"""Who holds a ready task: claim, unclaim, reassign. Touches only the inbox row, never the workflow state."""
from __future__ import annotations

from sqlalchemy import insert, select, update

from . import clock, outbox
from .exceptions import Message, NotAllowed, NotFound, TaskNotReady
from .models import AuditEvent, HumanTask

_tasks, _audit = HumanTask.__table__, AuditEvent.__table__


def holder(connection, task_id: int) -> str | None:
    return connection.scalar(select(_tasks.c.assignee).where(_tasks.c.id == task_id))


def assign(store, task_id: int, assignee: str | None, expect: tuple, kind: str, actor: str) -> None:
    """Set the assignee when the current one is one of ``expect`` (None meaning nobody), atomically."""
    with store.begin() as connection:
        task = connection.execute(select(_tasks.c.instance_id, _tasks.c.status, _tasks.c.assignee, _tasks.c.bpmn_id)
                                  .where(_tasks.c.id == task_id)).one_or_none()
        if task is None:
            raise NotFound(Message("task {task} does not exist", task=task_id))
        if task.status != "ready":
            raise TaskNotReady(Message("task {task} is already {status}", task=task_id, status=task.status),
                               {"status": task.status})
        allowed = [_tasks.c.assignee.is_(None) if who is None else _tasks.c.assignee == who for who in expect]
        condition = allowed[0]
        for other in allowed[1:]:
            condition = condition | other
        result = connection.execute(update(_tasks).where(_tasks.c.id == task_id, _tasks.c.status == "ready",
                                                         condition).values(assignee=assignee))
        if result.rowcount != 1:
            raise NotAllowed(Message("task {task} is held by {user}", task=task_id, user=task.assignee) if task.assignee
                             else Message("task {task} is held by nobody", task=task_id))
        detail = {"task_id": task_id, "bpmn_id": task.bpmn_id, "assignee": assignee}
        now = clock.now()
        connection.execute(insert(_audit).values(instance_id=task.instance_id, at=now, actor=actor, kind=kind,
                                                 detail=detail))
        outbox.record(connection, task.instance_id, [(kind, detail)], [], {}, now)
