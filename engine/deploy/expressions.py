"""Finding and compiling every piece of Python a task spec will run, before any instance runs it."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition,
                                                              TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.operators import Operator

from .. import defaults
from ..exceptions import Message
from .foreign import dialect
from .foreign_dmn import feel_cell
from ..operators import check_operator
from ..sandbox import check_source

#: What an ISO 8601 duration, date-time or repeating interval looks like when someone forgot the quotes.
_BARE_ISO = re.compile(r"^(R\d*/)?(P(\d|T\d)|\d{4}-\d{2}-\d{2})")

Finding = tuple[str, str]  # (element id, message)


def _compile(element_id: str, what: str, source, mode: str, hint: str = "") -> Iterator[Finding]:
    """Compile problems of ``source``, each said as ``{what} does not compile: {error}``, with ``hint`` after it in
    parentheses when given; ``what`` and ``hint`` are Messages, the compiler's error is its own text."""
    if not isinstance(source, str) or not source.strip():
        return
    if mode == "eval" and dialect(source):
        return  # JUEL or FEEL: engine.deploy.foreign names it, on the element that holds it, with its Python spelling
    for error in check_source(source, mode):
        said = Message("{what} does not compile: {error}", what=what, error=error)
        yield element_id, Message("{problem} ({hint})", problem=said, hint=hint) if hint else said


def _timer(element_id: str, event) -> Iterator[Finding]:
    expression = event.expression or ""
    errors = list(_compile(element_id, Message("timer expression"), expression, "eval"))
    if errors:
        yield from errors
        return
    node = ast.parse(expression.strip(), mode="eval").body
    if isinstance(node, ast.Name) and _BARE_ISO.match(node.id) or \
            isinstance(node, (ast.BinOp, ast.UnaryOp)) and _BARE_ISO.match(expression.strip()):
        yield element_id, Message("timer expression {expression} is not quoted: timer expressions are Python, "
                                  "write \"{expression}\" (or name a variable holding the value)",
                                  expression=expression.strip())
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            if isinstance(event, CycleTimerEventDefinition):
                TimerEventDefinition.parse_iso_recurring_interval(node.value)
            elif isinstance(event, DurationTimerEventDefinition):
                TimerEventDefinition.parse_iso_duration(node.value)
            elif isinstance(event, TimeDateEventDefinition):
                TimerEventDefinition.parse_time_or_duration(node.value)
        except Exception as err:
            yield element_id, Message("timer value {value} is not a valid ISO 8601 expression: {error}",
                                      value=repr(node.value), error=str(err))


def _event(element_id: str, event) -> Iterator[Finding]:
    if isinstance(event, MultipleEventDefinition):
        for inner in event.event_definitions:
            yield from _event(element_id, inner)
        return
    if isinstance(event, TimerEventDefinition):
        yield from _timer(element_id, event)
        return
    yield from _compile(element_id, Message("event expression"), getattr(event, "expression", None), "eval")
    for prop in list(getattr(event, "correlation_properties", None) or []) + \
            list(getattr(event, "process_correlations", None) or []):
        yield from _compile(element_id, Message("correlation property {name}", name=prop.name),
                            prop.retrieval_expression, "eval")


def _dmn_cell(input_expression: str, cell: str) -> str:
    """The expression SpiffWorkflow's DMN engine builds from an input and a rule cell (mirrors DMNEngine)."""
    cell = re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", cell)
    if "dmninputexpr" in cell:
        return cell
    try:
        ast.parse(cell)
        return f"({input_expression}) == ({cell})"
    except SyntaxError:
        return f"{input_expression}{cell}"  # no space, exactly as the DMN engine joins them at run time


def _glued(input_expression: str, source: str) -> bool:
    """Whether the DMN engine's join ran a word of the cell into the input's name (``severityin (...)``)."""
    if not source.startswith(input_expression) or source.startswith(f"({input_expression})"):
        return False
    rest = source[len(input_expression):]
    return bool(rest) and (input_expression[-1:].isalnum() or input_expression[-1:] == "_") and \
        (rest[0].isalnum() or rest[0] == "_")


#: Said with every DMN compile error: a table from Camunda Modeler is written in FEEL.
_DMN_HINT = Message("Jingzhi evaluates DMN cells as Python expressions")


def _decision_table(element_id: str, table) -> Iterator[Finding]:
    for put in table.inputs:
        yield from _compile(put.id or element_id, Message("DMN input '{label}'", label=put.label or put.name),
                            put.expression, "eval", _DMN_HINT)
    for rule in table.rules:
        for entry in rule.inputEntries:
            for cell in entry.lhs:
                if not cell or feel_cell(cell, is_input=True):  # FEEL: engine.deploy.foreign_dmn names it
                    continue
                input_expression = entry.input.expression or "None"
                source = _dmn_cell(input_expression, cell)
                if _glued(input_expression, source):
                    yield entry.id or rule.id, Message(
                        "DMN rule {rule} input {cell} would be read as {source}: start the cell with ? "
                        "(e.g. {example})",
                        rule=rule.row_number, cell=repr(cell.strip()), source=repr(source),
                        example=repr("? " + cell.strip()))
                    continue
                yield from _compile(entry.id or rule.id, Message("DMN rule {rule} input", rule=rule.row_number),
                                    source, "eval", _DMN_HINT)
        for entry in rule.outputEntries:
            if not feel_cell(entry.text, is_input=False):
                yield from _compile(entry.id or rule.id, Message("DMN rule {rule} output", rule=rule.row_number),
                                    entry.text, "eval", _DMN_HINT)


def check_task_spec(task_spec, forms: dict, file_names: set[str]) -> Iterator[Finding]:
    """Every compile problem of one task spec, as (element id, message)."""
    element_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
    yield from _compile(element_id, Message("script"), getattr(task_spec, "script", None), "exec")
    yield from _compile(element_id, Message("pre-script"), getattr(task_spec, "prescript", None), "exec")
    yield from _compile(element_id, Message("post-script"), getattr(task_spec, "postscript", None), "exec")
    for condition, target in getattr(task_spec, "cond_task_specs", None) or []:
        # Spiff wraps each flow's condition in an operator object holding the expression text
        condition = condition.args[0] if isinstance(condition, Operator) else condition
        target_name = getattr(task_spec._wf_spec.task_specs.get(target), "bpmn_id", target) \
            if hasattr(task_spec, "_wf_spec") else target
        yield from _compile(element_id, Message("condition of the flow to {target}", target=target_name), condition,
                            "eval")
    for attribute, what in (("condition", Message("condition")), ("cardinality", Message("cardinality")),
                            ("completion_condition", Message("completion condition"))):
        yield from _compile(element_id, what, getattr(task_spec, attribute, None), "eval")
    event = getattr(task_spec, "event_definition", None)
    if event is not None:
        yield from _event(element_id, event)
    engine = getattr(task_spec, "dmnEngine", None)
    if engine is not None:
        yield from _decision_table(element_id, engine.decision_table)
    operation = getattr(task_spec, "operation_name", None)
    if operation is not None:  # a spiff service task: only the engine's operators (engine.operators)
        params = getattr(task_spec, "operation_params", None) or {}
        for problem in check_operator(operation, params):
            yield element_id, problem
        for name, param in params.items():
            yield from _compile(element_id, f"parameter {name}", (param or {}).get("value"), "eval")
    properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}
    for name in (defaults.PROP_DUE_IN, defaults.PROP_TEAM):
        yield from _compile(element_id, Message("property {name}", name=name), properties.get(name), "eval")
    for name in (defaults.PROP_FORM_SCHEMA, defaults.PROP_FORM_UI_SCHEMA):
        form = properties.get(name)
        if form and form not in file_names:
            yield element_id, Message("property {name} names {form}, which is not in the deployment", name=name,
                                      form=repr(form))
        elif form and name == defaults.PROP_FORM_SCHEMA and form not in forms:
            yield element_id, Message("form schema {form} is not usable (see its own problem)", form=repr(form))
