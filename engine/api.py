"""The engine's face: a small set of verbs taking ids and plain data, shared by the web app, workers and ingesters.

Shaped like SpiffWorkflow's own example engine (deploy, start, get, complete, send message, tick). Nothing here knows
about HTTP, MQTT or who is logged in: the edges check permissions and pass the actor's name along for the audit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, select
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from .models import TASK_COMPLETED, TASK_READY
from . import clock, defaults, queries, recorded, same_problem
from .assignment import assign, holder
from .config import Config
from .definitions import DeployDecision, Definitions, DeployResult
from .exceptions import (Conflict, InstanceFailed, Message, MessageNotCorrelated, NotAllowed, NotFound,
                         TaskNotReady)
from .migration import Migrations, Outcome
from .models import AuditEvent, HumanTask, MessageSubscription, ProcessInstance
from .outbox import Outbox, Settings as OutboxSettings
from .open311 import Open311
from .models import ERROR
from .read_services import Indicators, Maps, Search, Worklist
from .projection import _message_definitions, correlation_key, current_data, properties
from .deploy.forms import check_size, validate_form
from .runtime import Runtime, Step, run_engine
from .sandbox import SandboxScriptEngine
from .serialization import load_state
from .services import Alarms, Designs, Devices, Notify, People, Teams
from .store import Store
from .video_events import VideoEvents
from .whatif_runs import WhatifRuns

log = logging.getLogger(__name__)

# Reads of every claim and completion, built once (building a statement per call cost more than running it).
_HANDLERS = select(HumanTask.completed_by).where(
    HumanTask.instance_id == bindparam("instance_id"), HumanTask.bpmn_id.in_(bindparam("bpmn_ids", expanding=True)),
    HumanTask.status == TASK_COMPLETED)
_DEFINITION_OF = select(ProcessInstance.definition_id).where(ProcessInstance.id == bindparam("instance_id"))


@dataclass
class InstanceView:
    """An instance as its callers see it: plain data, safe to hand to templates or JSON."""

    id: int
    process_id: str
    version: int
    status: str
    business_key: str | None
    data: dict
    case: dict
    tasks: list[dict]
    next_timer_at: datetime | None
    error: str | None
    completed_elements: list[str] = field(default_factory=list)
    active_elements: list[str] = field(default_factory=list)


def check_separation(connection, human: dict, props: dict, actor: str) -> None:
    """Four eyes: refuse when ``actor`` completed one of the tasks named in the ``separateFrom`` property."""
    separate = [i.strip() for i in (props.get(defaults.PROP_SEPARATE_FROM) or "").split(",") if i.strip()]
    if not separate:
        return
    handlers = set(connection.scalars(_HANDLERS, {"instance_id": human["instance_id"], "bpmn_ids": separate}))
    if actor in handlers:
        raise NotAllowed(Message("{task} must be done by someone other than who did {before}",
                                 task=human["label"] or human["bpmn_id"], before=", ".join(separate)),
                         {"separate_from": separate})


def _task_spec(definition, bpmn_id: str):
    """The task spec named ``bpmn_id`` in the process or any of its sub-processes and called processes."""
    for spec in (definition.spec, *definition.subprocess_specs.values()):
        if bpmn_id in spec.task_specs:
            return spec.task_specs[bpmn_id]
    return None


def _reminder(timer, connection) -> dict:
    """For a reminder (a boundary timer whose path only ends: no escalation task), the task it reminds of: its team
    and label, so the outbox tells the team's lead (engine.outbox). Empty for any other timer."""
    outputs = [o for o in getattr(timer.task_spec, "outputs", None) or [] if not isinstance(o, BoundaryEventJoin)]
    if not outputs or not all(isinstance(o, EndEvent) for o in outputs) or timer.parent is None:
        return {}
    hosts = [str(s.id) for s in timer.parent.children if s is not timer and s.task_spec.manual]
    row = connection.execute(select(HumanTask.team, HumanTask.label).where(
        HumanTask.task_uuid.in_(hosts), HumanTask.status == TASK_READY)).first() if hosts else None
    return {"reminds": row.team, "label": row.label} if row is not None and row.team else {}


def _lane_of(task) -> str | None:
    """A waiting event's lane; a boundary event (drawn on its host, in no lane of its own) has its host's."""
    if task.task_spec.lane:
        return task.task_spec.lane
    for sibling in task.parent.children if task.parent else []:
        if sibling is not task and sibling.task_spec.lane:
            return sibling.task_spec.lane
    return None


class Engine:
    def __init__(self, config: Config, store: Store | None = None):
        self.config = config
        self.store = store or Store(config.database_url)
        self.script_engine = SandboxScriptEngine(config.script_time_limit_s, config.script_memory_limit_mb)
        self.definitions = Definitions(self.store)
        self.runtime = Runtime(self.store, self.definitions, self.script_engine, hot_size=config.hot_instances)
        #: case events and notifications for the edges to deliver (engine/outbox.py)
        self.outbox = Outbox(self.store, OutboxSettings(backoff_s=config.delivery_backoff_s,
                                                        max_attempts=config.delivery_max_attempts))
        # The service objects the edges use besides the verbs below (engine/services.py, engine/read_services.py)
        self.people = People(self.store)
        self.teams = Teams(self.store)
        self.designs = Designs(self.store)
        self.notify = Notify(self.store)
        self.devices = Devices(self.store)
        self.alarms = Alarms(self)
        self.worklist = Worklist(self.store)
        self.maps = Maps(self.store)
        self.indicators = Indicators(self.store)
        self.search = Search()
        self.open311 = Open311(self.store)
        self.video = VideoEvents(self.store)
        self.whatif_runs = WhatifRuns(self.store)   # the designer's what-if runs

    # -- the database ---------------------------------------------------------------------------------------------
    def upgrade_schema(self) -> None:
        """Create or migrate the tables to the newest schema (alembic)."""
        self.store.upgrade()

    def has_schema(self) -> bool:
        return self.store.has_schema()

    def ping(self) -> None:
        """One round trip to the database; raises when it is away (the health check)."""
        with self.store.read() as connection:
            connection.execute(select(1)).scalar()

    def dispose(self) -> None:
        """Close the pooled connections (before a fork, or at exit)."""
        self.store.dispose()

    @property
    def database_url(self) -> str:
        return self.store.url

    @property
    def sql_engine(self):
        """The SQLAlchemy engine and its connection pool, for a web app's Flask-SQLAlchemy to share."""
        return self.store.engine

    # -- definitions ----------------------------------------------------------------------------------------------
    def deploy(self, files: dict[str, bytes], deployed_by: str = "system",
               roster: set[str] | None = None) -> DeployResult:
        """Validate and store ``files`` as a new version of every process in them. With ``roster`` (the district's
        team codes) a lane, team property or routing output naming a team that is not in it refuses the set."""
        return self.definitions.deploy(files, deployed_by, roster=roster)

    def deploy_if_changed(self, files: dict[str, bytes], deployed_by: str = "setup",
                          roster: set[str] | None = None) -> DeployDecision:
        """Deploy ``files`` only where a process differs from its newest version, never over a newer version
        someone else (a designer) deployed; the decision says why, process by process."""
        return self.definitions.deploy_if_changed(files, deployed_by, roster=roster)

    def roll_back(self, deployment_id: int, deployed_by: str = "system") -> DeployResult:
        """Make an older deployment's content the newest version again (running instances stay where they are)."""
        return self.definitions.roll_back(deployment_id, deployed_by)

    # -- instances ------------------------------------------------------------------------------------------------
    def start(self, process_id: str, data: dict | None = None, business_key: str | None = None,
              actor: str = "system") -> int:
        data = dict(data or {})
        check_size(data)
        return self.runtime.start(process_id, data, business_key, actor)

    def _read(self, connection, instance_id: int):
        """An instance's row and its workflow, for looking only (no lock; never saved)."""
        row = queries.instance(connection, instance_id)
        definition = self.definitions.load(connection, row["definition_id"])
        workflow = load_state(row["state"], row["serializer_version"], definition.spec, definition.subprocess_specs,
                              self.script_engine)
        return row, definition, workflow

    def get(self, instance_id: int, with_elements: bool = False) -> InstanceView:
        with self.store.read() as connection:
            row, _, workflow = self._read(connection, instance_id)
            tasks = queries.instance_tasks(connection, instance_id)
        data = dict(current_data(workflow))
        view = InstanceView(row["id"], row["process_id"], row["version"], row["status"], row["business_key"], data,
                            row["case"], tasks, row["next_timer_at"], row["error"])
        if with_elements:
            for task in workflow.get_tasks():
                bpmn_id = getattr(task.task_spec, "bpmn_id", None)
                if bpmn_id and task.state == TaskState.COMPLETED:
                    view.completed_elements.append(bpmn_id)
                elif bpmn_id and task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                    view.active_elements.append(bpmn_id)
        return view

    def complete_task(self, task_id: int, data: dict | None = None, actor: str = "system") -> int:
        """Complete a ready human task with ``data`` (checked against its form schema). Returns the instance id."""
        data = dict(data or {})
        check_size(data)

        def change(workflow, definition, step: Step, connection):
            human = step.task
            if human["status"] != TASK_READY:
                raise TaskNotReady(Message("task {task} is already {status}", task=task_id, status=human["status"]),
                                   {"status": human["status"]})
            if human["assignee"] and human["assignee"] != actor:
                raise NotAllowed(Message("task {task} is claimed by {user}", task=task_id, user=human["assignee"]))
            task = workflow.get_task_from_id(UUID(human["task_uuid"]))
            if task is None or task.state != TaskState.READY:
                raise TaskNotReady(Message("task {task} is not ready", task=task_id))
            validate_form(definition.forms, human["form_schema"], data)
            check_separation(connection, human, properties(task.task_spec), actor)
            task.data.update(data)
            run_engine(task.run)
            run_engine(workflow.do_engine_steps)
            step.completed_task = human["task_uuid"]
            step.audit("task.completed", task_id=task_id, bpmn_id=human["bpmn_id"], data=data)

        return self.runtime.step(None, actor, change, task_id=task_id).instance_id

    def claim(self, task_id: int, actor: str) -> None:
        """Take a ready task; refused when someone else holds it, or when four eyes keep ``actor`` from completing it
        (claiming it would only block it for the others)."""
        refusal = self.separation_refusal(task_id, actor)
        if refusal is not None:
            raise NotAllowed(refusal.message, refusal.details)
        assign(self.store, task_id, actor, expect=(None, actor), kind="task.claimed", actor=actor)

    def separation_refusal(self, task_id: int, actor: str) -> NotAllowed | None:
        """Why ``actor`` may not complete the task because of four eyes (``separateFrom``), or None. Read from the
        deployed definition, without loading the instance, so a page can say so before the officer fills the form."""
        with self.store.read() as connection:
            human = queries.task(connection, task_id)
            spec = _task_spec(self._definition_of(connection, human), human["bpmn_id"])
            if spec is None:
                return None
            try:
                check_separation(connection, human, properties(spec), actor)
            except NotAllowed as refused:
                return refused
        return None

    def unclaim(self, task_id: int, actor: str, as_lead: bool = False) -> None:
        """Give a task back; only its holder may, or a team lead (``as_lead``, checked by the caller)."""
        with self.store.read() as connection:
            current = holder(connection, task_id)
        assign(self.store, task_id, None, expect=(current,) if as_lead else (actor,), kind="task.unclaimed",
               actor=actor)

    def reassign(self, task_id: int, assignee: str, actor: str) -> None:
        """A lead hands a task to a member of the team (the caller checks both roles)."""
        with self.store.read() as connection:
            current = holder(connection, task_id)
        assign(self.store, task_id, assignee, expect=(current,), kind="task.reassigned", actor=actor)

    def send_message(self, name: str, correlations: dict, payload: dict | None = None,
                     actor: str = "system", lane: str | None = None) -> list[int]:
        """Deliver a message to every instance waiting for it with exactly these correlation values. With ``lane``
        (a department system answering) only catch events drawn in that team's lane take it."""
        missing = sorted(name for name, value in correlations.items() if value is None or value == "")
        if missing or not correlations:
            # An empty value would match every instance that never had one (a case without a device).
            raise MessageNotCorrelated(f"message '{name}' needs a value for its correlation "
                                       f"{', '.join(missing) or 'properties'}", {"missing": missing})
        key = correlation_key(correlations)
        with self.store.read() as connection:
            instance_ids = sorted(set(connection.scalars(select(MessageSubscription.instance_id).where(
                MessageSubscription.message_name == name, MessageSubscription.correlation_key == key))))
        delivered = []
        for instance_id in instance_ids:
            try:
                step = self.runtime.step(instance_id, actor, self._deliver(name, key, correlations, payload or {},
                                                                           lane))
            except TaskNotReady:  # the instance ended since the lookup
                continue
            except InstanceFailed as failed:  # nobody waits on the sender: park the instance for an admin
                self.runtime.mark_failed(instance_id, failed, actor)
                continue
            if step.changed:
                delivered.append(instance_id)
        if not delivered:
            raise MessageNotCorrelated(f"no instance is waiting for message '{name}' with {correlations}",
                                       {"message": name, "correlations": correlations})
        return delivered

    @staticmethod
    def _deliver(name, key, correlations, payload, lane=None):
        def change(workflow, definition, step: Step, connection):
            uuids = connection.scalars(select(MessageSubscription.task_uuid).where(
                MessageSubscription.instance_id == step.instance_id, MessageSubscription.message_name == name,
                MessageSubscription.correlation_key == key)).all()
            waiting = [workflow.get_task_from_id(UUID(u)) for u in uuids]
            waiting = [t for t in waiting if t is not None and t.state == TaskState.WAITING
                       and (lane is None or _lane_of(t) == lane)]
            if not waiting:
                step.changed = False
                return
            keys: dict = {}
            for definition_ in _message_definitions(waiting[0].task_spec):
                for prop in definition_.correlation_properties:
                    for correlation in prop.correlation_keys:
                        keys.setdefault(correlation, {})[prop.name] = correlations.get(prop.name)
            event = BpmnEvent(MessageEventDefinition(name), {**payload, **correlations}, keys)
            run_engine(workflow.send_event, event)
            run_engine(workflow.do_engine_steps)
            step.audit("message.received", name=name, correlations=correlations,
                       **({"lane": lane} if lane else {}))
        return change

    def tick(self, instance_id: int, actor: str = "ticker") -> list[str]:
        """Fire the instance's due timers and run on. Returns the BPMN ids of the timer events that fired."""
        fired: list[str] = []

        def change(workflow, definition, step: Step, connection):
            waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING)
                       if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
            # do_engine_steps refreshes timers only at its end: refresh first so the fired branch runs now
            run_engine(workflow.refresh_timers)
            run_engine(workflow.do_engine_steps)
            for task in waiting:
                if task.state != TaskState.WAITING:
                    fired.append(task.task_spec.bpmn_id)
                    step.audit("timer.fired", bpmn_id=task.task_spec.bpmn_id, **_reminder(task, connection))
            step.changed = bool(fired)

        try:
            self.runtime.step(instance_id, actor, change)
        except InstanceFailed as failed:
            self.runtime.mark_failed(instance_id, failed, actor)
            raise
        return fired

    def retry(self, instance_id: int, actor: str = "admin") -> list[str]:
        """Resume an instance parked by a failed automatic step and tick it again."""
        self.runtime.resume(instance_id, actor)
        return self.tick(instance_id, actor)

    def due_instances(self, now: datetime | None = None, limit: int = 200) -> list[int]:
        """Running instances whose next timer is due (one indexed range query)."""
        with self.store.read() as connection:
            return queries.due_instances(connection, now or clock.now(), limit)

    def cancel(self, instance_id: int, reason: str, actor: str = "system") -> None:
        """End an instance where it stands (its open tasks are cancelled); one parked by a failed step too."""
        with self.store.read() as connection:
            parked = queries.instance(connection, instance_id)["status"] == ERROR
        if parked:
            self.runtime.resume(instance_id, actor)

        def change(workflow, definition, step: Step, connection):
            run_engine(workflow.cancel)
            step.audit("instance.cancelled", reason=reason)

        self.runtime.step(instance_id, actor, change)

    def migrate(self, instance_id: int, to_version: int | None = None, actor: str = "system") -> Outcome:
        """Move a running instance to another version of its process (default: the newest) when that changes
        nothing it has already reached; otherwise it stays as it is and the outcome says why
        (see ``engine.migration``)."""
        return Migrations(self.store, self.definitions, self.runtime, self.script_engine).migrate(
            instance_id, to_version, actor)

    def migrate_version(self, process_id: str, from_version: int, to_version: int | None = None,
                        actor: str = "system") -> list[Outcome]:
        """Move every unfinished instance of one version, each in its own transaction: one outcome per instance."""
        return Migrations(self.store, self.definitions, self.runtime, self.script_engine).migrate_version(
            process_id, from_version, to_version, actor)

    # -- reads for the edges --------------------------------------------------------------------------------------
    def task(self, task_id: int) -> dict:
        with self.store.read() as connection:
            return queries.task(connection, task_id)

    def ready_tasks(self, teams: list[str] | None = None, assignee: str | None = None,
                    instance_id: int | None = None) -> list[dict]:
        with self.store.read() as connection:
            return queries.ready_tasks(connection, teams, assignee, instance_id)

    def history(self, instance_id: int) -> list[dict]:
        with self.store.read() as connection:
            return queries.history(connection, instance_id)

    def recorded_arrivals(self, since: datetime, until: datetime, heartbeats: bool = True) -> dict:
        """What [since, until) brought in, for replaying it (``engine.recorded``): ``sensor`` messages as they came,
        in the order received, ``reports`` as their cases were opened, and the ``devices`` the messages name."""
        with self.store.read() as connection:
            sensor = list(recorded.sensor_messages(connection, since, until, heartbeats))
            found = recorded.reports(connection, since, until)
            rows = recorded.devices(connection, {m["message"]["device_id"] for m in sensor})
        return {"sensor": sensor, "reports": found, "devices": rows}

    def recorded_counts(self, since: datetime, until: datetime) -> dict:
        """How many cases [since, until)'s arrivals opened: ``sensor`` (alarms) and ``reports`` by channel."""
        with self.store.read() as connection:
            return recorded.counts(connection, since, until)

    def has_instances(self) -> bool:
        """Whether any case was ever started in this database (a simulation wants an empty one)."""
        with self.store.read() as connection:
            return connection.scalar(select(ProcessInstance.id).limit(1)) is not None

    def next_timer_due(self) -> datetime | None:
        """When the earliest timer still waiting falls due (None: no timer waits)."""
        with self.store.read() as connection:
            return queries.next_timer_due(connection)

    def failed_instances(self, limit: int = 500) -> list[dict]:
        """Instances parked by a failed automatic step, newest first (the admin page, ``jingzhi failed``)."""
        with self.store.read() as connection:
            return queries.failed_instances(connection, limit)

    def record(self, instance_id: int, kind: str, detail: dict, actor: str) -> None:
        """Write an event an edge witnessed (evidence received, a contact looked at) into the case's timeline."""
        with self.store.begin() as connection:
            connection.execute(AuditEvent.__table__.insert().values(instance_id=instance_id, at=clock.now(),
                                                                    actor=actor, kind=kind, detail=detail))

    # -- one problem, one case (engine/same_problem.py) -----------------------------------------------------------
    def same_problem_waiting(self) -> list[dict]:
        """Reports waiting for registration with an open case of their scenario nearby: [{case, neighbours}]."""
        limits = same_problem.metres(self.config.same_problem_metres)
        with self.store.read() as connection:
            return same_problem.waiting(connection, limits)

    def same_problem(self, instance_id: int) -> tuple[dict, list[dict]]:
        """A report's case row and the open cases it may be the same problem as, nearest first."""
        limits = same_problem.metres(self.config.same_problem_metres)
        with self.store.read() as connection:
            found = same_problem.report(connection, instance_id)
            if found is None:
                raise NotFound(f"case {instance_id} is not a report of {', '.join(same_problem.REPORT_CHANNELS)}")
            return found, same_problem.neighbours(connection, found, limits)

    def merge_report(self, instance_id: int, into: int, actor: str) -> dict:
        """Merge the report ``instance_id`` into the open case ``into``: the report's registration ends as a duplicate
        of it, its Open311 requests follow ``into``, and ``into``'s timeline gets ``report.merged``."""
        found, near = self.same_problem(instance_id)
        if into not in {n["instance_id"] for n in near}:
            raise Conflict(f"case {into} is not an open case of the same scenario near #{instance_id}", {"into": into})
        register = next((t for t in self.ready_tasks(instance_id=instance_id)
                         if t["bpmn_id"] == same_problem.REGISTER_TASK), None)
        if register is None:
            raise Conflict(f"case {instance_id} is no longer waiting for registration")
        self.complete_task(register["id"], {"decision": "duplicate", "duplicate_of": str(into),
                                            "reason": f"同一问题，已并入案件 #{into}"}, actor=actor)
        with self.store.begin() as connection:
            return same_problem.record_merge(connection, found, into, actor)

    def _definition_of(self, connection, human: dict):
        """The parsed definition a task's instance runs on (cached), without loading the instance."""
        return self.definitions.load(connection, connection.scalar(_DEFINITION_OF,
                                                                   {"instance_id": human["instance_id"]}))

    def task_schema(self, task_id: int) -> dict | None:
        """A task's form schema, from its deployed definition: no instance is deserialized."""
        with self.store.read() as connection:
            human = queries.task(connection, task_id)
            definition = self._definition_of(connection, human)
        return definition.forms.get(human["form_schema"]) if human["form_schema"] else None

    def task_form(self, task_id: int) -> dict:
        """What a person needs to do a task: its row, JSON schema, UI schema, the diagram's instructions."""
        with self.store.read() as connection:
            human = queries.task(connection, task_id)
            uuid = queries.task_uuid(connection, task_id)
            _, definition, workflow = self._read(connection, human["instance_id"])
        task = workflow.get_task_from_id(UUID(uuid))
        spec = task.task_spec if task is not None else None
        props = properties(spec) if spec is not None else {}
        ui_name = props.get(defaults.PROP_FORM_UI_SCHEMA)
        return {"task": human, "schema": definition.forms.get(human["form_schema"]) if human["form_schema"] else None,
                "ui_schema": definition.forms.get(ui_name) if ui_name else None,
                "instructions": ((getattr(spec, "extensions", None) or {}).get("instructionsForEndUser") or None),
                "documentation": getattr(spec, "documentation", None) or None,
                "data": dict(task.data) if task is not None else {}}

    def diagram(self, instance_id: int) -> str:
        """The BPMN XML of the file defining the instance's process (for the diagram viewer)."""
        with self.store.read() as connection:
            return queries.diagram(connection, instance_id)
