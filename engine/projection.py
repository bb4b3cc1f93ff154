"""What a workflow looks like from outside: ready human tasks, subscriptions, next timer, case stage and fields.

Pure: reads a SpiffWorkflow ``BpmnWorkflow`` and returns plain values that the store writes in the same
transaction as the state, so the inbox, the message index and the timer index can never disagree with it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import defaults

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class ReadyTask:
    task_uuid: str
    bpmn_id: str
    label: str | None
    process_id: str
    lane: str | None
    team: str | None
    due_at: datetime | None
    form_schema: str | None


@dataclass
class Subscription:
    message_name: str
    correlation_key: str
    task_uuid: str


@dataclass
class Projection:
    ready_uuids: set[str] = field(default_factory=set)        # every ready human task
    new_tasks: list[ReadyTask] = field(default_factory=list)  # those not known before, with team and due time
    subscriptions: list[Subscription] = field(default_factory=list)
    next_timer_at: datetime | None = None
    stage: str | None = None
    passed_stages: list[str] = field(default_factory=list)  # stages entered since the step began, in order
    case_fields: dict = field(default_factory=dict)
    completed: bool = False


def properties(task_spec) -> dict:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}


def correlation_key(values: dict) -> str:
    """The index key of a set of correlation values: canonical JSON, so equal values give equal keys."""
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _when(value, now: datetime) -> datetime | None:
    """A due time from an ISO 8601 duration ("PT30M"), date-time, or datetime value."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value)
    if text.startswith("P"):
        parts = TimerEventDefinition.parse_iso_duration(text)
        return now + TimerEventDefinition.get_timedelta_from_start(parts, now)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _timer_due(pending_value) -> datetime | None:
    if isinstance(pending_value, dict):  # cycle timers: {'cycles', 'next', 'duration'}
        pending_value = pending_value.get("next")
    if not pending_value:
        return None
    moment = datetime.fromisoformat(str(pending_value))
    return moment if moment.tzinfo else moment.astimezone(timezone.utc)


def _message_definitions(task_spec):
    event = getattr(task_spec, "event_definition", None)
    for definition in getattr(event, "event_definitions", None) or [event]:
        if isinstance(definition, MessageEventDefinition):
            yield definition


def _sibling_timer_due(task, now) -> datetime | None:
    """Due time of a timer boundary event attached to ``task`` (they wait beside it under one parent)."""
    dues = []
    for sibling in task.parent.children if task.parent else []:
        event = getattr(sibling.task_spec, "event_definition", None)
        if sibling is not task and isinstance(event, TimerEventDefinition) and sibling.state == TaskState.WAITING:
            dues.append(_timer_due(event.details(sibling).value))
    dues = [d for d in dues if d]
    return min(dues) if dues else None


def project(workflow, now: datetime, known_tasks: set[str], since: float | None = None) -> Projection:
    """Project ``workflow``; due times and teams are computed only for tasks not in ``known_tasks``.

    ``since`` (a ``time.time()`` value) asks for the stages of elements entered since then, ``passed_stages``.
    """
    engine = workflow.script_engine
    result = Projection(completed=workflow.completed)
    # One walk of the task tree instead of one per question: SpiffWorkflow's iterator descends the same way for
    # every filter of definite states, so each subset below keeps the order its own walk would have given.
    tasks = workflow.get_tasks(state=ACTIVE | TaskState.COMPLETED)
    for task in tasks:
        if task.state != TaskState.READY or not task.task_spec.manual:
            continue
        uuid = str(task.id)
        result.ready_uuids.add(uuid)
        if uuid in known_tasks:
            continue
        props = properties(task.task_spec)
        team = engine.evaluate(task, props[defaults.PROP_TEAM]) if props.get(defaults.PROP_TEAM) else None
        due = _when(engine.evaluate(task, props[defaults.PROP_DUE_IN]), now) \
            if props.get(defaults.PROP_DUE_IN) else _sibling_timer_due(task, now)
        lane = task.task_spec.lane
        result.new_tasks.append(ReadyTask(
            uuid, task.task_spec.bpmn_id, task.task_spec.bpmn_name, task.workflow.spec.name,
            lane, str(team) if team else lane, due, props.get(defaults.PROP_FORM_SCHEMA)))

    for task in tasks:
        if task.state != TaskState.WAITING:
            continue
        for definition in _message_definitions(task.task_spec):
            values = {prop.name: _correlation_value(engine, prop.retrieval_expression, task.data)
                      for prop in definition.correlation_properties}
            result.subscriptions.append(Subscription(definition.name, correlation_key(values), str(task.id)))

    result.next_timer_at = next_timer(workflow)
    result.stage = _stage(workflow, tasks)
    if since is not None:
        result.passed_stages = _passed_stages(workflow, since, tasks)
    data = current_data(workflow)
    result.case_fields = {key: data[key] for key in defaults.CASE_FIELDS if key in data}
    return result


def current_data(workflow) -> dict:
    """The instance's data as it stands: the workflow's when finished, else that of its last completed task."""
    return workflow.data if workflow.completed else (workflow.last_task or workflow.task_tree).data


def _correlation_value(engine, expression: str, data: dict):
    """The value an instance waits with; None when its data lacks it (no sender may then reach it by value)."""
    try:
        return engine.environment.evaluate(expression, dict(data))
    except Exception:  # a case without a device simply waits for a person instead
        return None


def next_timer(workflow) -> datetime | None:
    """When the workflow's earliest waiting timer is due (what the ticker's index holds)."""
    dues = [_timer_due(event.value) for event in workflow.waiting_events()
            if event.event_type.endswith("TimerEventDefinition")]
    dues = [d for d in dues if d]
    return min(dues) if dues else None


def _passed_stages(workflow, since: float, tasks=None) -> list[str]:
    """Stages of the elements that became active or completed at or after ``since``, oldest first.

    A script, decision or gateway carrying a stage runs and completes within one step; without this its stage
    would never be seen by :func:`_stage`, which looks only at what is active when the step ends.
    """
    if tasks is None:
        tasks = workflow.get_tasks(state=ACTIVE | TaskState.COMPLETED)
    entered = [t for t in tasks if t.last_state_change >= since and properties(t.task_spec).get(defaults.PROP_STAGE)]
    stages: list[str] = []
    for task in sorted(entered, key=lambda t: t.last_state_change):
        stage = properties(task.task_spec)[defaults.PROP_STAGE]
        if stage not in stages:
            stages.append(stage)
    return stages


def _stage(workflow, tasks=None) -> str | None:
    """The stage property of the most recently activated element carrying one (end events when finished).

    ``tasks``: the workflow's active and completed tasks, when the caller has walked the tree already."""
    if tasks is None:
        tasks = workflow.get_tasks(state=ACTIVE | TaskState.COMPLETED)
    if workflow.completed:
        candidates = [t for t in tasks if t.state == TaskState.COMPLETED
                      and isinstance(t.task_spec, EndEvent) and properties(t.task_spec).get(defaults.PROP_STAGE)]
    else:
        candidates = [t for t in tasks if t.state & ACTIVE and properties(t.task_spec).get(defaults.PROP_STAGE)]
    if not candidates:
        return None
    latest = max(candidates, key=lambda t: t.last_state_change)
    return properties(latest.task_spec)[defaults.PROP_STAGE]

