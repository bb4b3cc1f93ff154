"""The state dump that keeps finished tasks' dicts writes exactly what SpiffWorkflow's full conversion writes."""
from __future__ import annotations

import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.workload import PROCESS_ID, START_DATA, TASK_DATA, diagram_files
from engine import serialization
from engine.sandbox import SandboxScriptEngine
from engine.deploy.validation import validate_files

_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = serialization._StateByReferenceConverter
FULL = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def full_dump(workflow) -> str:
    FULL.registry._encoder_mode = True
    try:
        return json.dumps(FULL.to_dict(workflow), cls=FULL._encoder_cls, separators=(",", ":"))
    finally:
        FULL.registry._encoder_mode = False


def complete_next(workflow, data: dict) -> None:
    task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def test_every_step_dumps_as_the_full_conversion_also_after_a_reset_and_a_reload():
    parsed = validate_files(diagram_files())
    spec, subprocess_specs = parsed.specs[PROCESS_ID], parsed.subprocess_specs[PROCESS_ID]
    engine = SandboxScriptEngine()
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(START_DATA)
    workflow.do_engine_steps()
    for data in TASK_DATA[:3]:
        assert serialization.dump_state(workflow) == full_dump(workflow)
        complete_next(workflow, data)
    assert serialization.dump_state(workflow) == full_dump(workflow)
    assert any(serialization._KEPT in vars(t) for t in workflow.get_tasks())   # the kept dicts were used

    # Going back to the first task rewrites finished tasks: none of their kept dicts may be reused.
    first = next(t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.manual)
    workflow.reset_from_task_id(first.id)
    assert serialization.dump_state(workflow) == full_dump(workflow)

    # Data changed in place on a finished task (what a migration's data fix does) is converted again too.
    first = next(t for t in workflow.get_tasks(state=TaskState.COMPLETED))
    first.data["added_later"] = 1
    assert serialization.dump_state(workflow) == full_dump(workflow)
    first.data["added_later"] = 2
    assert serialization.dump_state(workflow) == full_dump(workflow)
    child = first.children[0]
    child.data["scenario"] = "changed"     # a key it shares with its parent: now part of its delta
    assert serialization.dump_state(workflow) == full_dump(workflow)

    reloaded = serialization.load_state(serialization.dump_state(workflow), serialization.SERIALIZER_VERSION, spec,
                                        subprocess_specs, engine)
    for data in TASK_DATA:
        if reloaded.completed:
            break
        complete_next(reloaded, data)
        assert serialization.dump_state(reloaded) == full_dump(reloaded)
    assert reloaded.completed
