"""The two systems the benchmark compares, each offering the same three operations on the same diagram.

Both run the diagram parsed by the engine's own validation and scripts in the same sandbox, so the figures differ
only in persistence: plain SpiffWorkflow keeps the library's JSON (spec embedded) in memory between steps, Jingzhi
goes through its public verbs to the database (state by reference, inbox, case, audit rows).
"""
from __future__ import annotations

from itertools import count
from pathlib import Path

from sqlalchemy import func, select
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import Config, Engine, runtime
from engine.models import AuditEvent, OutboxEvent, ProcessInstance
from engine.sandbox import SandboxScriptEngine
from engine.serialization import attach_script_engine, embedded_serializer
from engine.deploy.validation import validate_files

DIAGRAM = Path(__file__).parent / "diagrams" / "six_tasks.bpmn"
PROCESS_ID = "six_tasks"

START_DATA = {"scenario": "fire_lane", "channel": "sensor", "device_id": "FL-0042", "severity": "high",
              "address": "Shuidian Road 191", "compound": "Hejiazhai"}
#: What each of the six user tasks is completed with, in diagram order: a few fields per form.
TASK_DATA = [
    {"valid": True, "category": "fire_lane", "note": "vehicle on the fire lane, confirmed on camera"},
    {"team_code": "property_mgmt", "instructions": "tow or contact the owner", "priority": "urgent"},
    {"measures": "owner contacted, car moved", "minutes_on_site": 35, "photos": ["before.jpg", "after.jpg"]},
    {"report_text": "lane clear at 10:42", "resolved": True},
    {"passed": True, "verified_by": "sensor", "comment": "detector back to normal"},
    {"satisfaction": 4, "outcome": "resolved", "evaluator": "supervisor2"},
]
#: The register form of a report that is not a real problem: the gateway's default flow ends the case.
REJECT_DATA = {"valid": False, "category": "false_alarm", "note": "detector fault"}


def diagram_files() -> dict[str, bytes]:
    return {DIAGRAM.name: DIAGRAM.read_bytes()}


class PlainSpiff:
    """The baseline: SpiffWorkflow alone, its own serializer, a JSON string between every two steps.

    SpiffWorkflow is called through the engine's ``run_engine``, which only converts exceptions: the breakdown then
    times both systems' SpiffWorkflow work at the same seam.
    """

    def __init__(self):
        parsed = validate_files(diagram_files())
        self.spec = parsed.specs[PROCESS_ID]
        self.subprocess_specs = parsed.subprocess_specs[PROCESS_ID]
        self.serializer = embedded_serializer()
        self.script_engine = SandboxScriptEngine()

    def start(self) -> str:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(START_DATA)
        runtime.run_engine(workflow.do_engine_steps)
        return self.serializer.serialize_json(workflow)

    def load(self, state: str) -> BpmnWorkflow:
        workflow = self.serializer.deserialize_json(state)
        attach_script_engine(workflow, self.script_engine)  # not serialized: the sandbox must be set again
        return workflow

    def complete(self, state: str, data: dict) -> str:
        """Complete the one ready user task of a stored state and return the new state."""
        workflow = self.load(state)
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(data)
        runtime.run_engine(task.run)
        runtime.run_engine(workflow.do_engine_steps)
        return self.serializer.serialize_json(workflow)

    def lifecycle(self) -> str:
        state = self.start()
        for data in TASK_DATA:
            state = self.complete(state, data)
        return state

    def is_completed(self, state: str) -> bool:
        return self.load(state).completed


class Jingzhi:
    """Jingzhi through its public verbs, on whatever database ``database_url`` names (schema already there)."""

    def __init__(self, database_url: str):
        self.engine = Engine(Config(database_url=database_url))
        self.engine.deploy(diagram_files(), deployed_by="bench")
        self._keys = count(1)

    def start(self) -> int:
        return self.engine.start(PROCESS_ID, START_DATA, business_key=f"BENCH-{next(self._keys)}", actor="bench")

    def ready_task(self, instance_id: int) -> int:
        """The id of the instance's ready task, found the way an inbox finds it."""
        return self.engine.ready_tasks(instance_id=instance_id)[0]["id"]

    def complete(self, task_id: int, data: dict) -> int:
        return self.engine.complete_task(task_id, data, actor="bench")

    def lifecycle(self) -> int:
        return self.walk(TASK_DATA)

    def walk(self, steps: list[dict]) -> int:
        """Start an instance and complete its first ``len(steps)`` tasks, each found through the inbox."""
        instance_id = self.start()
        for data in steps:
            self.complete(self.ready_task(instance_id), data)
        return instance_id

    def status(self, instance_id: int) -> str:
        return self.engine.get(instance_id).status

    def stored(self) -> int:
        with self.engine.store.session() as session:
            return session.scalar(select(func.count()).select_from(ProcessInstance))

    def state_size(self, instance_id: int) -> int:
        with self.engine.store.session() as session:
            return len(session.get(ProcessInstance, instance_id).state)

    def rows_written(self, instance_id: int) -> tuple[int, int]:
        """How many audit and outbox rows the instance's steps wrote (what the floor writes too)."""
        with self.engine.store.read() as connection:
            audit, outbox = (connection.scalar(select(func.count()).select_from(table)
                                               .where(table.c.instance_id == instance_id))
                             for table in (AuditEvent.__table__, OutboxEvent.__table__))
        return audit, outbox

    def definition_id(self) -> int:
        with self.engine.store.read() as connection:
            return self.engine.definitions.latest_id(connection, PROCESS_ID)

    def close(self) -> None:
        self.engine.store.dispose()
