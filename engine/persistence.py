"""Writing one engine step: the state row and everything projected from it, in the caller's transaction.

Only what changed is written, decided against a :class:`Memo` of what the database already holds for the instance
(its ready tasks, subscriptions and case row). The memo comes from the previous save of the same instance when this
process made it, and is read back with three indexed queries otherwise. Statements are SQLAlchemy Core: a step is a
handful of round trips, not an ORM flush.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, insert, select, update
from SpiffWorkflow.util.task import TaskState

from .models import CANCELLED, COMPLETED, RUNNING, TASK_CANCELLED, TASK_COMPLETED, TASK_READY
from . import case_figures, defaults, outbox
from .exceptions import ConcurrentUpdate
from .models import AuditEvent, Case, HumanTask, MessageSubscription, ProcessInstance, Team
from .people import LEAD_SUFFIX
from .projection import Projection

DEFAULT_STAGE = "discover"

_instances, _tasks, _cases = ProcessInstance.__table__, HumanTask.__table__, Case.__table__
_subscriptions, _audit = MessageSubscription.__table__, AuditEvent.__table__
#: Case columns a step may change, besides the copied data fields.
_CASE_STATE = ("stage", "stage_times", "sla_due_at", "closed_at") + case_figures.COLUMNS
_CASE_COLUMNS = _CASE_STATE + defaults.CASE_FIELDS + ("opened_at",)   # opened_at: the figures' handling time
# Built once and executed with parameters: building a statement per call costs about as much as a round trip.
_UPDATE_STATE = update(_instances).where(_instances.c.id == bindparam("b_id"),
                                         _instances.c.row_version == bindparam("b_version"))
_COMPLETE_TASK = update(_tasks).where(_tasks.c.task_uuid == bindparam("b_uuid"))
_UPDATE_CASE = update(_cases).where(_cases.c.instance_id == bindparam("b_instance"))
_INSERT_TASK, _INSERT_AUDIT, _INSERT_SUBSCRIPTION = insert(_tasks), insert(_audit), insert(_subscriptions)
_INSERT_INSTANCE, _INSERT_CASE = insert(_instances), insert(_cases)
_END_TASKS = update(_tasks).where(_tasks.c.task_uuid.in_(bindparam("b_uuids", expanding=True))).values(
    status=bindparam("b_status"), ended_at=bindparam("b_ended"))
_DELETE_SUBSCRIPTIONS = delete(_subscriptions).where(
    _subscriptions.c.instance_id == bindparam("b_instance"))
_RETIRED_TEAMS = select(Team.code).where(Team.code.in_(bindparam("codes", expanding=True)),
                                         Team.retired.is_(True))
_MEMO_TASKS = select(_tasks.c.task_uuid, _tasks.c.due_at).where(
    _tasks.c.instance_id == bindparam("instance_id"), _tasks.c.status == TASK_READY)
_MEMO_SUBSCRIPTIONS = select(_subscriptions.c.message_name, _subscriptions.c.correlation_key,
                             _subscriptions.c.task_uuid).where(
    _subscriptions.c.instance_id == bindparam("instance_id")).order_by(_subscriptions.c.id)
_MEMO_CASE = select(*(_cases.c[name] for name in _CASE_COLUMNS)).where(
    _cases.c.instance_id == bindparam("instance_id"))


@dataclass
class Memo:
    """What the database holds for an instance besides its state row."""

    ready: dict[str, datetime | None] = field(default_factory=dict)  # ready task uuid -> due time
    subscriptions: tuple = ()                                       # (message, correlation key, task uuid)
    case: dict = field(default_factory=dict)                         # the case columns a step may change


@dataclass
class StepRecord:
    """What a verb did, for the audit trail and the inbox rows."""

    actor: str
    events: list[tuple[str, dict]] = field(default_factory=list)
    completed_task: str | None = None
    #: what the step's ``notify`` service tasks asked for (engine.operators), written to the outbox with the step
    notifications: list[dict] = field(default_factory=list)

    def audit(self, kind: str, **detail) -> None:
        self.events.append((kind, detail))


def read_memo(connection, instance_id: int) -> Memo:
    ready = dict(connection.execute(_MEMO_TASKS, {"instance_id": instance_id}).all())
    subscriptions = tuple(tuple(r) for r in connection.execute(_MEMO_SUBSCRIPTIONS, {"instance_id": instance_id}))
    case = connection.execute(_MEMO_CASE, {"instance_id": instance_id}).mappings().one()
    return Memo(ready, subscriptions, dict(case))


def insert_instance(connection, values: dict, case: dict) -> int:
    instance_id = connection.execute(_INSERT_INSTANCE, values).inserted_primary_key[0]
    connection.execute(_INSERT_CASE, {"instance_id": instance_id, **case})
    return instance_id


def update_instance(connection, instance_id: int, row_version: int, values: dict) -> None:
    """Write the new state, refusing when the row is no longer the version that was loaded."""
    result = connection.execute(_UPDATE_STATE, {"b_id": instance_id, "b_version": row_version, **values})
    if result.rowcount != 1:
        raise ConcurrentUpdate(f"instance {instance_id} was changed by another worker; retry")


def move_to_definition(connection, instance_id: int, definition_id: int) -> None:
    """Point an instance at another version of its process (a migration; the caller holds the row lock)."""
    connection.execute(update(_instances).where(_instances.c.id == instance_id).values(definition_id=definition_id))


def status_of(workflow, record: StepRecord) -> str:
    if not workflow.completed:
        return RUNNING
    return CANCELLED if any(kind == "instance.cancelled" for kind, _ in record.events) else COMPLETED


def write_projection(connection, instance_id: int, workflow, projection: Projection, memo: Memo,
                     record: StepRecord, status: str, now: datetime) -> Memo:
    """Write inbox rows, subscriptions, case and audit for a saved state; returns the new memo."""
    ready, completed = _write_tasks(connection, instance_id, workflow, projection, memo, record, now)
    subscriptions = tuple((s.message_name, s.correlation_key, s.task_uuid) for s in projection.subscriptions)
    if subscriptions != memo.subscriptions:
        if memo.subscriptions:
            connection.execute(_DELETE_SUBSCRIPTIONS, {"b_instance": instance_id})
        if subscriptions:
            _execute_rows(connection, _INSERT_SUBSCRIPTION, [
                dict(instance_id=instance_id, message_name=m, correlation_key=k, task_uuid=t)
                for m, k, t in subscriptions])
    case = _next_case(memo.case, projection, ready, status, now, record)
    case.update(case_figures.figures(case, memo.case.get("late") or case_figures.completed_late(memo.ready, completed,
                                                                                                now)))
    changed = {k: v for k, v in case.items() if memo.case.get(k) != v}
    if changed:
        connection.execute(_UPDATE_CASE, {"b_instance": instance_id, **changed})
    if status == COMPLETED:
        record.audit("instance.completed")
    if record.events:
        _execute_rows(connection, _INSERT_AUDIT, [
            dict(instance_id=instance_id, at=now, actor=record.actor, kind=kind, detail=_jsonable(detail))
            for kind, detail in record.events])
    outbox.record(connection, instance_id, record.events, record.notifications, case, now)
    return Memo(ready, subscriptions, case)


def _write_tasks(connection, instance_id, workflow, projection: Projection, memo: Memo, record: StepRecord,
                 now) -> tuple[dict, list[str]]:
    """Write the inbox rows; returns the ready tasks (uuid -> due time) and the uuids completed by this step."""
    ready_now = projection.ready_uuids
    ended = [uuid for uuid in memo.ready if uuid not in ready_now]
    if record.completed_task in ended:
        connection.execute(_COMPLETE_TASK, {"b_uuid": record.completed_task, "status": TASK_COMPLETED,
                                            "ended_at": now, "completed_by": record.actor})
    by_status: dict[str, list[str]] = {}
    for uuid in ended:
        if uuid != record.completed_task:
            task = workflow.get_task_from_id(UUID(uuid))
            done = task is not None and task.state == TaskState.COMPLETED
            by_status.setdefault(TASK_COMPLETED if done else TASK_CANCELLED, []).append(uuid)
    for status, uuids in by_status.items():
        connection.execute(_END_TASKS, {"b_uuids": uuids, "b_status": status, "b_ended": now})
    new = projection.new_tasks
    if new:
        _execute_rows(connection, _INSERT_TASK, [dict(
            instance_id=instance_id, task_uuid=t.task_uuid, bpmn_id=t.bpmn_id, label=t.label,
            process_id=t.process_id, lane=t.lane, team=t.team, assignee=None, status=TASK_READY, due_at=t.due_at,
            form_schema=t.form_schema, created_at=now, ended_at=None, completed_by=None) for t in new])
        for t in new:
            record.audit("task.created", bpmn_id=t.bpmn_id, label=t.label, team=t.team,
                         due_at=t.due_at.isoformat() if t.due_at else None)
        _flag_retired_teams(connection, new, record)
    ready = {uuid: due for uuid, due in memo.ready.items() if uuid in ready_now}
    ready.update({t.task_uuid: t.due_at for t in new})
    completed = [record.completed_task] if record.completed_task in ended else []
    return ready, completed + by_status.get(TASK_COMPLETED, [])


def _flag_retired_teams(connection, new, record: StepRecord) -> None:
    """A case on an older version (or a team computed from case data) can route a task to a team retired since:
    the task stays in that inbox, where its members still see it, and the timeline says so (engine/teams.py)."""
    codes = {t.team.removesuffix(LEAD_SUFFIX) for t in new if t.team}
    if not codes:
        return
    retired = set(connection.scalars(_RETIRED_TEAMS, {"codes": sorted(codes)}))
    for t in new:
        if t.team and t.team.removesuffix(LEAD_SUFFIX) in retired:
            record.audit("task.team_retired", bpmn_id=t.bpmn_id, team=t.team)


def _next_case(case: dict, projection: Projection, ready: dict, status: str, now, record: StepRecord) -> dict:
    case = dict(case)
    stage = projection.stage or case["stage"]
    if status == CANCELLED:
        stage = "cancelled"
    elif status == COMPLETED and not projection.stage:
        stage = "closed"
    if stage != case["stage"]:
        record.audit("stage.changed", stage=stage, previous=case["stage"])
        case["stage"] = stage
    for passed in [*projection.passed_stages, stage]:  # instant elements (scripts, decisions) count too
        if passed not in case["stage_times"]:
            case["stage_times"] = {**case["stage_times"], passed: now.isoformat()}
    for key, value in projection.case_fields.items():
        case[key] = bool(value) if key == "urgent" else value
    dues = [due for due in ready.values() if due is not None]
    case["sla_due_at"] = min(dues) if dues else None
    if status != RUNNING and case.get("closed_at") is None:
        case["closed_at"] = now
    return case


def new_case(process_id: str, business_key: str | None, data: dict, now: datetime) -> dict:
    case = dict(business_key=business_key, process_id=process_id, stage=DEFAULT_STAGE,
                stage_times={DEFAULT_STAGE: now.isoformat()}, opened_at=now, sla_due_at=None, closed_at=None,
                outcome=None, rework_count=0)
    case.update({key: data[key] for key in defaults.CASE_FIELDS if key in data})
    case["urgent"] = bool(case.get("urgent", False))
    case.update(case_figures.figures(case, late=False))
    return case


def memo_of_new_case(case: dict) -> Memo:
    return Memo({}, (), {name: case.get(name) for name in _CASE_COLUMNS})


def _execute_rows(connection, statement, rows: list[dict]) -> None:
    """One row as a plain execute (executemany has its own setup cost), several as one batched executemany."""
    connection.execute(statement, rows[0] if len(rows) == 1 else rows)


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))

