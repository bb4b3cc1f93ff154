"""Moving running instances to another version of their process, when that cannot change what they already did.

(Not to be confused with ``engine/migrations/``, the database schema upgrades.)

The rule: an instance may move from its version to another version of the same process only when every task it has
reached - completed, cancelled, started, ready, waiting or failed, in the process itself and in every subprocess or
call activity it has entered - keeps its element, unchanged, in the target version. What it has not reached yet (the
predicted rest of the diagram) may change freely: a later deadline, lane, form or script, a new later task, a removed
later branch. Two allowances: a task the instance waits at may get new outgoing flows, because they describe what
comes after it, which it has not done yet; and a cancelled task (a boundary timer that never fired) never ran, so it
may change, but not disappear, since the instance's history still names it.

"Unchanged" is SpiffWorkflow's own comparison (``SpiffWorkflow.bpmn.util.diff``): the serialized task specs are
compared attribute by attribute, elements are aligned by BPMN id. A business rule task compares with its decision
table, so a changed table counts as a change of every decision task that used it.

:func:`assess` decides (pure: reads a workflow and two specs, writes nothing); :func:`apply` moves a workflow that
was assessed safe, using SpiffWorkflow's ``migrate_workflow``. :class:`Migrations` is the I/O around them: one
transaction per instance with the same lock and row-version check as every engine step.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .exceptions import ConcurrentUpdate, InstanceFailed, NotFound, TaskNotReady
from .models import ProcessDefinition, ProcessInstance
from .models import ERROR, RUNNING
from .persistence import move_to_definition
from .runtime import Step, run_engine
from .serialization import SERIALIZER_VERSION, dump_state, load_state

log = logging.getLogger(__name__)

#: Converts task specs to plain dicts, which is how SpiffWorkflow's diff compares them.
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
#: Tasks in these states are only SpiffWorkflow's prediction of what comes next; they are rebuilt after a move.
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE
#: Tasks the instance is at: SpiffWorkflow resets these (and re-predicts what follows them) when it migrates.
_AT = TaskState.READY | TaskState.WAITING
#: Spec attributes that describe only what follows a task: they may change on a task the instance waits at.
_FORWARD = frozenset({"outputs"})


@dataclass(frozen=True)
class Blocker:
    """One task the instance has reached whose element the target version removed or changed."""

    process_id: str       # the process (or called / embedded subprocess) the task belongs to
    element_id: str       # BPMN id, or SpiffWorkflow's internal name for elements it adds (boundary splits)
    label: str | None
    state: str            # READY, WAITING, STARTED, COMPLETED, CANCELLED, ERROR
    change: str           # "removed", or "changed: <attributes>"
    attributes: tuple[str, ...] = ()   # the changed attributes of its element (SpiffWorkflow's names)

    def __str__(self) -> str:
        name = f"{self.element_id} '{self.label}'" if self.label else self.element_id
        return f"{name} ({self.state}, in {self.process_id}) {self.change}"


@dataclass
class Assessment:
    """What moving one workflow to a target spec would do: safe, or the tasks that stop it."""

    blockers: list[Blocker] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # whole subprocesses that cannot be moved
    _top_diff: object = None
    _sub_diffs: dict = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        return not self.blockers and not self.problems

    @property
    def reason(self) -> str | None:
        if self.safe:
            return None
        return "; ".join([*self.problems, *map(str, self.blockers)])


def assess(workflow, spec, subprocess_specs: dict) -> Assessment:
    """Decide whether ``workflow`` may move to ``spec`` (with its called/embedded ``subprocess_specs``)."""
    top_diff, sub_diffs = diff_workflow(_REGISTRY, workflow, spec, subprocess_specs)
    result = Assessment(_top_diff=top_diff, _sub_diffs=sub_diffs)
    result.blockers.extend(_blockers(top_diff, workflow.spec.name))
    for sub_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            result.problems.append(f"subprocess {sub.spec.name} was entered by the instance and is not part of "
                                   f"the target version")
        else:
            result.blockers.extend(_blockers(sub_diff, sub.spec.name))
    return result


def _blockers(diff, process_id: str) -> list[Blocker]:
    """Reached tasks whose spec was removed, or changed beyond what the allowance for waiting tasks covers."""
    found: dict[tuple, Blocker] = {}
    for task in diff.removed:
        if not task.has_state(_PREDICTED):
            blocker = _blocker(task, process_id, "removed")
            found.setdefault((blocker.element_id, blocker.state), blocker)
    comparisons = {}
    for task in diff.changed:
        if task.has_state(_PREDICTED | TaskState.CANCELLED) or task in diff.removed:
            continue
        if task.task_spec not in comparisons:
            comparisons[task.task_spec] = _changed_attributes(task.task_spec, diff.alignment[task])
        attributes = comparisons[task.task_spec]
        if task.has_state(_AT):
            attributes = [a for a in attributes if a not in _FORWARD]
        if attributes:
            blocker = _blocker(task, process_id, "changed: " + ", ".join(attributes), tuple(attributes))
            found.setdefault((blocker.element_id, blocker.state), blocker)
    return sorted(found.values(), key=lambda b: (b.element_id, b.state))


def _changed_attributes(old_spec, new_spec) -> list[str]:
    old, new = _REGISTRY.convert(old_spec), _REGISTRY.convert(new_spec)
    if old.get("typename") != new.get("typename"):
        return ["typename"]
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def _blocker(task, process_id: str, change: str, attributes: tuple[str, ...] = ()) -> Blocker:
    spec = task.task_spec
    return Blocker(process_id, getattr(spec, "bpmn_id", None) or spec.name, getattr(spec, "bpmn_name", None),
                   TaskState.get_name(task.state), change, attributes)


def apply(assessment: Assessment, workflow, spec, subprocess_specs: dict) -> None:
    """Move ``workflow`` (assessed safe) to ``spec``: every task takes its element of the target version and what
    follows the tasks it waits at is predicted again from the target version.

    SpiffWorkflow's ``migrate_workflow`` resets the tasks the instance waits at, which would also restart their
    timers, drop their data and make them look newly entered (the case stage follows the latest one); a move
    changes the diagram, not the instance, so all of that is put back afterwards.
    Raises InstanceFailed when the moved workflow would not run or load (nothing is kept then: the caller's
    transaction rolls back).
    """
    if not assessment.safe:
        raise ValueError("apply() needs an assessment without blockers")
    kept = {task.id: (task.data, task.internal_data, task.last_state_change)
            for task in workflow.get_tasks(state=_AT)}
    # migrate_workflow forgets every workflow's last task (it looks for a Task among the ids of ``tasks``), and the
    # instance's data is read from it
    last_tasks = {sub: sub.last_task for sub in [workflow, *workflow.subprocesses.values()]}
    run_engine(migrate_workflow, assessment._top_diff, workflow, spec)
    for sub_id, sub_diff in assessment._sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        run_engine(migrate_workflow, sub_diff, sub, subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = subprocess_specs
    for task in workflow.get_tasks(state=_AT):
        if task.id in kept:
            task.data, task.internal_data, task.last_state_change = kept[task.id]
    for sub, last in last_tasks.items():
        sub.last_task = last if last is not None and last.id in sub.tasks else None
    _check_resolved(workflow, spec, subprocess_specs)


def _check_resolved(workflow, spec, subprocess_specs: dict) -> None:
    """Every task left in the tree must point at an element of the target version, or the state would not load."""
    for sub in [workflow, *workflow.subprocesses.values()]:
        target = spec if sub is workflow else subprocess_specs[sub.spec.name]
        for task in sub.get_tasks(skip_subprocesses=True):
            if target.task_specs.get(task.task_spec.name) is not task.task_spec:
                raise InstanceFailed(f"task {task.task_spec.name} ({TaskState.get_name(task.state)}) has no "
                                     f"element in the target version",
                                     {"element_id": task.task_spec.name, "state": TaskState.get_name(task.state)})


@dataclass(frozen=True)
class Outcome:
    """What happened to one instance: moved, or refused with the reason (and the tasks that stopped it)."""

    instance_id: int
    process_id: str
    from_version: int
    to_version: int
    migrated: bool
    reason: str | None = None
    blockers: tuple[Blocker, ...] = ()

    def to_dict(self) -> dict:
        return {"instance_id": self.instance_id, "process_id": self.process_id, "from_version": self.from_version,
                "to_version": self.to_version, "migrated": self.migrated, "reason": self.reason,
                "blockers": [{**b.__dict__, "attributes": list(b.attributes)} for b in self.blockers]}


_definitions, _instances = ProcessDefinition.__table__, ProcessInstance.__table__


class Migrations:
    """The migrate verbs' I/O: find versions and instances, and move each instance in its own engine step."""

    def __init__(self, store, definitions, runtime, script_engine):
        self.store = store
        self.definitions = definitions
        self.runtime = runtime
        self.script_engine = script_engine

    def migrate(self, instance_id: int, to_version: int | None, actor: str) -> Outcome:
        """Move one instance to ``to_version`` of its process (default: the newest)."""
        with self.store.read() as connection:
            found = connection.execute(
                select(_definitions.c.process_id, _definitions.c.version)
                .join_from(_instances, _definitions, _instances.c.definition_id == _definitions.c.id)
                .where(_instances.c.id == instance_id)).one_or_none()
            if found is None:
                raise NotFound(f"instance {instance_id} does not exist")
            target_id, target_version = self._target(connection, found.process_id, to_version)
        return self._move(instance_id, found.process_id, found.version, target_id, target_version, actor,
                          strict=False)

    def migrate_version(self, process_id: str, from_version: int, to_version: int | None,
                        actor: str) -> list[Outcome]:
        """Move every unfinished instance of ``from_version`` to ``to_version`` (default: the newest), each on its
        own; those that cannot move are refused with their reason and left as they were."""
        with self.store.read() as connection:
            source_id, _ = self._target(connection, process_id, from_version)
            target_id, target_version = self._target(connection, process_id, to_version)
            instance_ids = list(connection.scalars(
                select(_instances.c.id).where(_instances.c.definition_id == source_id,
                                              _instances.c.status.in_((RUNNING, ERROR)))
                .order_by(_instances.c.id)))
        outcomes = [self._move(i, process_id, from_version, target_id, target_version, actor, strict=True)
                    for i in instance_ids]
        log.info("migrated %s of %s instances of %s v%s to v%s", sum(o.migrated for o in outcomes), len(outcomes),
                 process_id, from_version, target_version)
        return outcomes

    def _target(self, connection, process_id: str, number: int | None) -> tuple[int, int]:
        query = select(_definitions.c.id, _definitions.c.version).where(_definitions.c.process_id == process_id)
        query = query.where(_definitions.c.version == number) if number is not None else \
            query.order_by(_definitions.c.version.desc()).limit(1)
        found = connection.execute(query).one_or_none()
        if found is None:
            raise NotFound(f"process '{process_id}' has no version {number}" if number is not None else
                           f"no process '{process_id}' is deployed")
        return found.id, found.version

    def _move(self, instance_id: int, process_id: str, from_version: int, target_id: int, target_version: int,
              actor: str, strict: bool) -> Outcome:
        """One instance in one engine step (locked, row version checked); a refusal writes nothing. ``strict``
        refuses an instance that is no longer on ``from_version`` when locked (a batch over one version)."""
        attempt = _Attempt(from_version)

        def change(workflow, definition, step: Step, connection):
            attempt.from_version = definition.version
            step.changed = False
            if strict and definition.version != from_version:
                attempt.reason = f"the instance moved to v{definition.version} meanwhile"
                return
            if definition.id == target_id:
                attempt.reason = f"the instance is on v{target_version} already"
                return
            target = self.definitions.load(connection, target_id)
            assessment = run_engine(assess, workflow, target.spec, target.subprocess_specs)
            if not assessment.safe:
                attempt.reason, attempt.blockers = assessment.reason, tuple(assessment.blockers)
                return
            apply(assessment, workflow, target.spec, target.subprocess_specs)
            try:  # what is saved must load again on the target version, or the instance would be stuck
                load_state(dump_state(workflow), SERIALIZER_VERSION, target.spec, target.subprocess_specs,
                           self.script_engine)
            except Exception as err:
                raise InstanceFailed(f"the moved state does not load on v{target_version}: {err}") from err
            move_to_definition(connection, step.instance_id, target_id)
            step.changed = True
            step.audit("instance.migrated", process_id=process_id, from_version=definition.version,
                       to_version=target_version)

        try:
            self.runtime.step(instance_id, actor, change)
        except (TaskNotReady, ConcurrentUpdate) as err:  # not running (ended, or parked in error), or raced
            attempt.reason = err.message
        except InstanceFailed as err:
            attempt.reason = f"the target version fails for this instance: {err.message}"
        return Outcome(instance_id, process_id, attempt.from_version, target_version, attempt.reason is None,
                       attempt.reason, attempt.blockers)


@dataclass
class _Attempt:
    """What one instance's step found out, read after its transaction ended."""

    from_version: int
    reason: str | None = None     # set when refused
    blockers: tuple[Blocker, ...] = ()
