"""Reads for the edges (inbox, case pages, history, the ticker's due list): SQLAlchemy Core, plain dicts out."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select

from .models import TASK_READY
from .exceptions import NotFound
from .models import AuditEvent, Case, HumanTask, ProcessDefinition, ProcessInstance
from .models import ERROR, RUNNING

_tasks, _instances, _cases = HumanTask.__table__, ProcessInstance.__table__, Case.__table__
_definitions, _audit = ProcessDefinition.__table__, AuditEvent.__table__
TASK_COLUMNS = ("id", "instance_id", "bpmn_id", "label", "process_id", "lane", "team", "assignee", "status",
                "due_at", "form_schema", "created_at", "ended_at", "completed_by")
_TASK_SELECT = select(*(_tasks.c[name] for name in TASK_COLUMNS))
# The reads every step of a client (and of the simulator) makes, built once: building and cache-keying a statement
# per call cost more than running it on SQLite.
_TASK_BY_ID = _TASK_SELECT.where(_tasks.c.id == bindparam("task_id"))
_READY_OF_INSTANCE = (_TASK_SELECT.where(_tasks.c.status == TASK_READY, _tasks.c.instance_id == bindparam("instance_id"))
                      .order_by(_tasks.c.due_at, _tasks.c.id))
_DUE_INSTANCES = (select(_instances.c.id).where(_instances.c.next_timer_at < bindparam("now"),
                                                _instances.c.status == RUNNING)
                  .order_by(_instances.c.next_timer_at).limit(bindparam("limit")))
_NEXT_DUE = select(func.min(_instances.c.next_timer_at)).where(_instances.c.status == RUNNING)


def task(connection, task_id: int) -> dict:
    row = connection.execute(_TASK_BY_ID, {"task_id": task_id}).mappings().one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    return dict(row)


def ready_tasks(connection, teams=None, assignee=None, instance_id=None) -> list[dict]:
    """Ready human tasks, soonest due first (the inbox index serves team and assignee filters)."""
    if teams is None and assignee is None and instance_id is not None:
        return [dict(r) for r in connection.execute(_READY_OF_INSTANCE, {"instance_id": instance_id}).mappings()]
    query = _TASK_SELECT.where(_tasks.c.status == TASK_READY)
    if teams is not None:
        query = query.where(_tasks.c.team.in_(list(teams)))
    if assignee is not None:
        query = query.where(_tasks.c.assignee == assignee)
    if instance_id is not None:
        query = query.where(_tasks.c.instance_id == instance_id)
    return [dict(r) for r in connection.execute(query.order_by(_tasks.c.due_at, _tasks.c.id)).mappings()]


def instance_tasks(connection, instance_id: int) -> list[dict]:
    query = _TASK_SELECT.where(_tasks.c.instance_id == instance_id).order_by(_tasks.c.id)
    return [dict(r) for r in connection.execute(query).mappings()]


def instance(connection, instance_id: int) -> dict:
    """The instance row with its definition's process id and version, and its case row."""
    row = connection.execute(select(_instances, _definitions.c.process_id, _definitions.c.version)
                             .join_from(_instances, _definitions, _instances.c.definition_id == _definitions.c.id)
                             .where(_instances.c.id == instance_id)).mappings().one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist")
    case = connection.execute(select(_cases).where(_cases.c.instance_id == instance_id)).mappings().one_or_none()
    return {**row, "case": dict(case) if case else {}}


def history(connection, instance_id: int) -> list[dict]:
    events = connection.execute(select(_audit.c.at, _audit.c.actor, _audit.c.kind, _audit.c.detail)
                                .where(_audit.c.instance_id == instance_id).order_by(_audit.c.id)).mappings()
    return [dict(e) for e in events]


def due_instances(connection, now: datetime, limit: int) -> list[int]:
    """Running instances whose next timer is due: one range scan of the next_timer_at index."""
    # Strictly before now: SpiffWorkflow fires a timer only once its moment has passed.
    return list(connection.scalars(_DUE_INSTANCES, {"now": now, "limit": limit}))


def next_timer_due(connection) -> datetime | None:
    """When the earliest timer of a running instance is due (the low end of the next_timer_at index), or None."""
    return connection.scalar(_NEXT_DUE)


def task_uuid(connection, task_id: int) -> str:
    """The SpiffWorkflow task id behind an inbox row."""
    found = connection.scalar(select(_tasks.c.task_uuid).where(_tasks.c.id == task_id))
    if found is None:
        raise NotFound(f"task {task_id} does not exist")
    return found

def diagram(connection, instance_id: int) -> str:
    """The deployed BPMN file that defines the instance's process."""
    from .catalogue import diagram_file
    from .models import Deployment

    row = connection.execute(select(_definitions.c.process_id, Deployment.__table__.c.files)
                             .join_from(_instances, _definitions, _instances.c.definition_id == _definitions.c.id)
                             .join(Deployment.__table__, Deployment.__table__.c.id == _definitions.c.deployment_id)
                             .where(_instances.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return diagram_file(row.files, row.process_id)[1]


def failed_instances(connection, limit: int = 500) -> list[dict]:
    """Instances parked by a failed automatic step (status ``error``), most recently failed first: what an operator
    retries or cancels. Each with its process and version, business key, case address and scenario, and why."""
    rows = connection.execute(
        select(_instances.c.id, _instances.c.business_key, _instances.c.error, _instances.c.updated_at,
               _instances.c.created_at, _definitions.c.process_id, _definitions.c.version, _cases.c.scenario,
               _cases.c.address)
        .join_from(_instances, _definitions, _instances.c.definition_id == _definitions.c.id)
        .outerjoin(_cases, _cases.c.instance_id == _instances.c.id)
        .where(_instances.c.status == ERROR).order_by(_instances.c.updated_at.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]
