"""Workflow state to JSON and back, with the process spec stored by reference instead of inside every instance.

SpiffWorkflow's serializer embeds the whole spec (most of a document) and rebuilding it was the largest cost of a
load. Here the top-level converter leaves ``spec`` and ``subprocess_specs`` out, and loading takes the parsed specs
of the instance's definition version from the cache. Each stored state carries :data:`SERIALIZER_VERSION`; a state
written by another version is refused with a clear error until an upgrade step for it exists here.
"""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .exceptions import JingzhiError

#: Spiff's serializer format plus our "state by reference" layout.
SERIALIZER_VERSION = "1.5+ref1"


class _StateByReferenceConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _FinishedTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, keeping the dict of a finished task whose parent is finished too.

    Finished tasks are most of a long case's tree (every step passed, every rework round) and neither their data
    nor their parent's is run again, yet every save converted them afresh: the largest part of a dump. The dict is
    kept on the task with everything it was computed from (state, stamp, children, parent, the data dicts and the
    identity of every value in them), so any change to those - a reset, a migration, a value set - converts the
    task again. Workflows loaded from the database
    have none kept and convert everything once.
    """

    def to_dict(self, task):
        parent = task.parent
        if not task.state & _FINISHED or (parent is not None and not parent.state & _FINISHED):
            return super().to_dict(task)
        key = (task.state, task.last_state_change, task.triggered, task._parent, tuple(task._children),
               id(task.data), tuple(map(id, task.data.values())),
               None if parent is None else (id(parent.data), tuple(map(id, parent.data.values()))))
        kept = task.__dict__.get(_KEPT)
        if kept is not None and kept[0] == key:
            return kept[1]
        dct = super().to_dict(task)
        setattr(task, _KEPT, (key, dct))
        return dct


_FINISHED = TaskState.FINISHED_MASK
_KEPT = "_jingzhi_dumped"
_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StateByReferenceConverter
_config[Task] = _FinishedTaskConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's state as JSON, without its spec."""
    registry = _serializer.registry
    registry._encoder_mode = True  # what serialize_json does: lets the encoder handle registered types
    try:
        return json.dumps(_serializer.to_dict(workflow), cls=_serializer._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(state: str, serializer_version: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow from stored state and the cached specs of its version, with the sandbox attached.

    The script engine is not part of the serialization: without setting it here the restored workflow would
    fall back to SpiffWorkflow's unrestricted default.
    """
    if serializer_version != SERIALIZER_VERSION:
        raise JingzhiError(f"state was written by serializer {serializer_version}; this engine reads "
                           f"{SERIALIZER_VERSION} and has no upgrade step for it")
    workflow = _serializer.registry.restore(json.loads(state), spec=spec, subprocess_specs=subprocess_specs)
    attach_script_engine(workflow, script_engine)
    return workflow


def attach_script_engine(workflow: BpmnWorkflow, script_engine) -> None:
    # Subprocesses (call activities, embedded subprocesses) have no engine of their own: their read-only
    # ``script_engine`` property returns the top workflow's, so setting it there covers them all.
    workflow.script_engine = script_engine


def embedded_serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's own serializer (spec embedded): the baseline the benchmark compares against."""
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
