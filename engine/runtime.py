"""Running instances: load under a lock, advance SpiffWorkflow, save everything in one transaction.

Every verb that changes an instance goes through :meth:`Runtime.step`, which locks the instance row (``SELECT ...
FOR UPDATE`` on PostgreSQL), loads the state with the cached spec of its version, applies the change, and writes the
new state together with its projection (inbox rows, case, subscriptions, next timer, audit). The row's version is
checked on write as well, so a backend without row locks (SQLite) turns a race into a retryable ConcurrentUpdate
instead of a lost update.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from jsonschema import Draft202012Validator
from sqlalchemy import delete, insert, select, update
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from . import clock, defaults
from .definitions import Definitions, LoadedDefinition
from .exceptions import (ConcurrentUpdate, FormInvalid, InstanceFailed, JingzhiError, NotFound, ScriptRefused,
                         TaskNotReady)
from .models import AuditEvent, Case, HumanTask, MessageSubscription, ProcessInstance
from .projection import Projection, project
from .serialization import SERIALIZER_VERSION, dump_state, load_state

log = logging.getLogger(__name__)

RUNNING, COMPLETED, CANCELLED, ERROR = "running", "completed", "cancelled", "error"
DEFAULT_STAGE = "discover"


@dataclass
class Step:
    """What one verb did to a workflow, for the audit trail and the inbox rows."""

    actor: str
    instance_id: int | None = None
    events: list[tuple[str, dict]] = field(default_factory=list)
    completed_task: str | None = None
    changed: bool = True

    def audit(self, kind: str, **detail) -> None:
        self.events.append((kind, detail))


def failure(err: Exception) -> InstanceFailed:
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


class Runtime:
    def __init__(self, store, definitions: Definitions, script_engine):
        self.store = store
        self.definitions = definitions
        self.script_engine = script_engine

    # -- creating -----------------------------------------------------------------------------------------------
    def start(self, process_id: str, data: dict | None, business_key: str | None, actor: str) -> int:
        data = dict(data or {})
        check_size(data)
        with self.store.transaction() as session:
            definition = self.definitions.load(session, self.definitions.latest_id(session, process_id))
            workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=self.script_engine)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data)
            run_engine(workflow.do_engine_steps)
            now = clock.now()
            row = ProcessInstance(definition_id=definition.id, business_key=business_key, status=RUNNING,
                                  state="{}", serializer_version=SERIALIZER_VERSION, row_version=0,
                                  created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            fields = {key: data[key] for key in defaults.CASE_FIELDS if key in data}
            session.add(Case(instance_id=row.id, business_key=business_key, process_id=process_id,
                             stage=DEFAULT_STAGE, stage_times={DEFAULT_STAGE: now.isoformat()}, opened_at=now,
                             urgent=bool(fields.pop("urgent", False)), **fields))
            step = Step(actor)
            step.audit("instance.started", process_id=process_id, version=definition.version,
                       business_key=business_key)
            self._save(session, row, workflow, step, now)
            return row.id

    # -- the one way to change an existing instance ---------------------------------------------------------------
    def step(self, instance_id: int, actor: str, change) -> Step:
        """Lock, load, ``change(workflow, definition, step)``, save. Any exception leaves the database as it was."""
        with self.store.transaction() as session:
            row = self._lock(session, instance_id)
            definition = self.definitions.load(session, row.definition_id)
            workflow = load_state(row.state, row.serializer_version, definition.spec, definition.subprocess_specs,
                                  self.script_engine)
            step = Step(actor, instance_id)
            change(workflow, definition, step, session)
            if step.changed:
                self._save(session, row, workflow, step, clock.now())
            return step

    def refresh_timer_index(self, instance_id: int) -> None:
        """Recompute next_timer_at alone (a tick that fired nothing must not leave the ticker spinning on it)."""
        with self.store.transaction() as session:
            row = self._lock(session, instance_id)
            definition = self.definitions.load(session, row.definition_id)
            workflow = load_state(row.state, row.serializer_version, definition.spec, definition.subprocess_specs,
                                  self.script_engine)
            row.next_timer_at = project(workflow, clock.now(), set()).next_timer_at

    def mark_failed(self, instance_id: int, failed: InstanceFailed, actor: str) -> None:
        """Park an instance whose automatic step failed, so the ticker stops retrying it and an admin sees why."""
        with self.store.transaction() as session:
            session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                          ProcessInstance.status == RUNNING)
                            .values(status=ERROR, error=failed.message, next_timer_at=None))
            session.add(AuditEvent(instance_id=instance_id, at=clock.now(), actor=actor, kind="instance.failed",
                                   detail=_jsonable(failed.details or {"message": failed.message})))

    def resume(self, instance_id: int, actor: str) -> None:
        """Put a failed instance back to running (after its diagram or data was fixed)."""
        with self.store.transaction() as session:
            result = session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                                   ProcessInstance.status == ERROR)
                                     .values(status=RUNNING, error=None))
            if result.rowcount != 1:
                raise TaskNotReady(f"instance {instance_id} is not in error")
            session.add(AuditEvent(instance_id=instance_id, at=clock.now(), actor=actor, kind="instance.resumed",
                                   detail={}))

    def _lock(self, session, instance_id: int) -> ProcessInstance:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update())
        if row is None:
            raise NotFound(f"instance {instance_id} does not exist")
        if row.status != RUNNING:
            raise TaskNotReady(f"instance {instance_id} is {row.status}", {"status": row.status})
        return row

    # -- saving ---------------------------------------------------------------------------------------------------
    def _save(self, session, row: ProcessInstance, workflow, step: Step, now: datetime) -> None:
        known = set(session.scalars(select(HumanTask.task_uuid).where(HumanTask.instance_id == row.id,
                                                                       HumanTask.status == "ready")))
        projection = run_engine(project, workflow, now, known)
        status = RUNNING
        if workflow.completed:
            status = CANCELLED if any(kind == "instance.cancelled" for kind, _ in step.events) else COMPLETED
        values = dict(state=dump_state(workflow), serializer_version=SERIALIZER_VERSION,
                      row_version=row.row_version + 1, next_timer_at=projection.next_timer_at, status=status,
                      updated_at=now, ended_at=now if status != RUNNING else None, error=None)
        result = session.execute(update(ProcessInstance)
                                 .where(ProcessInstance.id == row.id, ProcessInstance.row_version == row.row_version)
                                 .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"instance {row.id} was changed by another worker; retry")
        row.row_version += 1
        self._write_tasks(session, row.id, projection, known, step, now, workflow)
        self._write_subscriptions(session, row.id, projection)
        self._write_case(session, row.id, projection, status, now, step)
        if status == COMPLETED:
            step.audit("instance.completed")
        if step.events:
            session.execute(insert(AuditEvent), [
                dict(instance_id=row.id, at=now, actor=step.actor, kind=kind, detail=_jsonable(detail))
                for kind, detail in step.events])

    def _write_tasks(self, session, instance_id, projection: Projection, known, step: Step, now, workflow) -> None:
        ready = {t.task_uuid for t in projection.ready}
        for uuid in known - ready:
            done = uuid == step.completed_task
            task = workflow.get_task_from_id(UUID(uuid)) if not done else None
            status = "completed" if done or (task is not None and task.state == TaskState.COMPLETED) else "cancelled"
            session.execute(update(HumanTask).where(HumanTask.task_uuid == uuid).values(
                status=status, ended_at=now, completed_by=step.actor if done else None))
        new = [t for t in projection.ready if t.task_uuid not in known]
        if new:
            session.execute(insert(HumanTask), [dict(
                instance_id=instance_id, task_uuid=t.task_uuid, bpmn_id=t.bpmn_id, label=t.label,
                process_id=t.process_id, lane=t.lane, team=t.team, assignee=None, status="ready", due_at=t.due_at,
                form_schema=t.form_schema, created_at=now, ended_at=None, completed_by=None) for t in new])
            for t in new:
                step.audit("task.created", bpmn_id=t.bpmn_id, team=t.team,
                           due_at=t.due_at.isoformat() if t.due_at else None)

    def _write_subscriptions(self, session, instance_id, projection: Projection) -> None:
        session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance_id))
        if projection.subscriptions:
            session.execute(insert(MessageSubscription), [dict(
                instance_id=instance_id, message_name=s.message_name, correlation_key=s.correlation_key,
                task_uuid=s.task_uuid) for s in projection.subscriptions])

    def _write_case(self, session, instance_id, projection: Projection, status, now, step: Step) -> None:
        case = session.scalar(select(Case).where(Case.instance_id == instance_id))
        stage = projection.stage or case.stage
        if status == CANCELLED:
            stage = "cancelled"
        elif status == COMPLETED and not projection.stage:
            stage = "closed"
        if stage != case.stage:
            step.audit("stage.changed", stage=stage, previous=case.stage)
            case.stage = stage
        if stage not in case.stage_times:
            case.stage_times = {**case.stage_times, stage: now.isoformat()}
        for key, value in projection.case_fields.items():
            setattr(case, key, bool(value) if key == "urgent" else value)
        dues = [t.due_at for t in session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "ready")) if t.due_at]
        case.sla_due_at = min(dues) if dues else None
        if status != RUNNING:
            case.closed_at = now


def validate_form(definition: LoadedDefinition, form_name: str | None, data: dict) -> None:
    """Check task data against the task's JSON schema on the server; field errors go back to the form."""
    if not form_name:
        return
    schema = definition.forms.get(form_name)
    if schema is None:
        raise FormInvalid(f"form schema {form_name} is missing from the deployment")
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = {}
        for error in errors:
            path = ".".join(str(p) for p in error.absolute_path)
            if not path and error.validator == "required":
                path = error.message.split("'")[1] if "'" in error.message else ""
            fields.setdefault(path or "(form)", error.message)
        raise FormInvalid(f"the form has {len(fields)} error(s)", fields)


def check_size(data: dict) -> None:
    try:
        size = len(json.dumps(data, default=str))
    except (TypeError, ValueError) as err:
        raise FormInvalid(f"task data is not JSON: {err}") from err
    if size > defaults.MAX_TASK_DATA_BYTES:
        raise FormInvalid(f"task data is {size} bytes; at most {defaults.MAX_TASK_DATA_BYTES} are accepted")


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
