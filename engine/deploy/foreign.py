"""What diagrams from other tools rely on that this engine would not run: named per element and line, with what to
do instead, before SpiffWorkflow parses anything.

Camunda 7 and Camunda 8 (Zeebe) exports carry vendor attributes and extension elements: Java delegates, external
workers, JUEL and FEEL expressions, form keys, variable mappings, listeners, assignees. SpiffWorkflow either fails on
them in its own terms ("A Service Task must have an operator", a Python syntax error for ``${amount > 100}``) or,
worse, parses the diagram and drops the vendor part, so that a mapping, listener or assignee the author relies on
silently does nothing. The engine has refusals and no warnings, so each of these is refused, once, here. Vendor
attributes that change nothing a case sees (asyncBefore, historyTimeToLive, versionTag, jobPriority, candidate
starters - starting is governed by Jingzhi's roles -, camunda/zeebe properties, Signavio metadata) pass.

Standard BPMN that SpiffWorkflow 3.2 parses but does not run is refused too: compensation and link events (parsed as
plain events that do nothing), complex gateways, resource assignments. Conditional, escalation, signal, error,
message, timer, cancel and terminate events it runs, so they pass.

Expressions are recognised by their dialect (JUEL ``${...}``, Zeebe's ``=`` FEEL, FEEL unary tests in DMN cells);
:mod:`engine.deploy.expressions` skips what is reported here, so each problem is named once, at the element that holds it.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .. import defaults
from ..exceptions import Message, Problem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

_SERVICE = Message("calling Java classes or external workers is not supported here; use a script task (Python, "
                   "run in the engine's sandbox) or a user task")
_FORM = Message("forms here are JSON Schema files: add the .json file to the deployment and name it in "
                "spiffworkflow:properties as property formJsonSchemaFilename")
_ASSIGN = Message("tasks are assigned by lane (the lane's name is the team) or by the spiffworkflow property team (a "
                  "Python expression giving the team code); people then claim them from their team's inbox")
_MAPPING = Message("variable mappings are not applied here, so the task would silently see and leave other data than "
                   "intended; every task reads and writes the case data directly - compute values in a script task "
                   "(Python)")
_CALL_MAPPING = Message("a call activity here passes all case data to the called process and back; remove the mapping "
                        "(or use variables=\"all\") and compute values in a script task (Python)")
_LISTENER = Message("listeners are not run here; put the work in a script task (Python) on the flow")
_DECISION = Message("name the decision with spiffworkflow:calledDecisionId (the id of a decision in a .dmn file of "
                    "the deployment); its outputs are written to the case data under their own names")
_LOOP = Message("write a multi-instance over a list with the standard loopDataInputRef (the variable holding the list) "
                "and inputDataItem (the name of each element), or loopCardinality (a Python expression)")
_DUE = Message("deadlines are the spiffworkflow property dueIn, a Python expression giving an ISO 8601 duration "
               "(\"PT4H\") or date-time")
_CORRELATION = Message("messages correlate here with bpmn:correlationKey and correlationProperty, whose retrieval "
                       "expressions are Python")
_CALLED = Message("name the called process in the call activity's calledElement attribute")
_SCRIPT = Message("write the script inline in the script task, in Python (run in the engine's sandbox)")
_RESULT = Message("results are not stored under another name here: a script assigns its variables itself, a decision "
                  "writes its outputs under their own names")
_COMPENSATION = Message("compensation is not run by this engine; model the undo as explicit tasks on an error or "
                        "escalation path")

#: Vendor attributes and extension elements, by qualified name: what they are, and what to do instead.
_VENDOR: dict[str, tuple[str, str]] = {
    f"{{{CAMUNDA}}}class": (Message("camunda:class (a Java delegate)"), _SERVICE),
    f"{{{CAMUNDA}}}delegateExpression": (Message("camunda:delegateExpression (a Java delegate)"), _SERVICE),
    f"{{{CAMUNDA}}}expression": (Message("camunda:expression (a JUEL method call)"), _SERVICE),
    f"{{{CAMUNDA}}}type": (Message("camunda:type (an external task or connector)"), _SERVICE),
    f"{{{CAMUNDA}}}connector": (Message("camunda:connector (an HTTP or SOAP connector)"), _SERVICE),
    f"{{{ZEEBE}}}taskDefinition": (Message("zeebe:taskDefinition (a job for an external worker)"), _SERVICE),
    f"{{{CAMUNDA}}}formKey": ("camunda:formKey", _FORM),
    f"{{{CAMUNDA}}}formRef": ("camunda:formRef", _FORM),
    f"{{{CAMUNDA}}}formData": (Message("camunda:formData (generated form fields)"), _FORM),
    f"{{{ZEEBE}}}formDefinition": ("zeebe:formDefinition", _FORM),
    f"{{{CAMUNDA}}}assignee": ("camunda:assignee", _ASSIGN),
    f"{{{CAMUNDA}}}candidateUsers": ("camunda:candidateUsers", _ASSIGN),
    f"{{{CAMUNDA}}}candidateGroups": ("camunda:candidateGroups", _ASSIGN),
    f"{{{ZEEBE}}}assignmentDefinition": ("zeebe:assignmentDefinition", _ASSIGN),
    f"{{{BPMN}}}potentialOwner": ("bpmn:potentialOwner", _ASSIGN),
    f"{{{BPMN}}}humanPerformer": ("bpmn:humanPerformer", _ASSIGN),
    f"{{{BPMN}}}performer": ("bpmn:performer", _ASSIGN),
    f"{{{CAMUNDA}}}dueDate": ("camunda:dueDate", _DUE),
    f"{{{ZEEBE}}}taskSchedule": ("zeebe:taskSchedule", _DUE),
    f"{{{CAMUNDA}}}inputOutput": (Message("camunda:inputOutput (input/output mappings)"), _MAPPING),
    f"{{{ZEEBE}}}ioMapping": (Message("zeebe:ioMapping (input/output mappings)"), _MAPPING),
    f"{{{CAMUNDA}}}in": (Message("camunda:in (a variable mapping into the called process)"), _CALL_MAPPING),
    f"{{{CAMUNDA}}}out": (Message("camunda:out (a variable mapping out of the called process)"), _CALL_MAPPING),
    f"{{{CAMUNDA}}}variableMappingClass": (Message("camunda:variableMappingClass (a Java variable mapping)"),
                                           _CALL_MAPPING),
    f"{{{CAMUNDA}}}variableMappingDelegateExpression": ("camunda:variableMappingDelegateExpression", _CALL_MAPPING),
    f"{{{CAMUNDA}}}initiator": ("camunda:initiator", Message("who started a case is kept in its history here, not "
                                                              "in a variable; pass it in the start data if the "
                                                              "process needs it")),
    f"{{{CAMUNDA}}}executionListener": ("camunda:executionListener", _LISTENER),
    f"{{{CAMUNDA}}}taskListener": ("camunda:taskListener", _LISTENER),
    f"{{{ZEEBE}}}executionListeners": ("zeebe:executionListeners", _LISTENER),
    f"{{{ZEEBE}}}taskListeners": ("zeebe:taskListeners", _LISTENER),
    f"{{{CAMUNDA}}}decisionRef": ("camunda:decisionRef", _DECISION),
    f"{{{ZEEBE}}}calledDecision": ("zeebe:calledDecision", _DECISION),
    f"{{{CAMUNDA}}}collection": ("camunda:collection", _LOOP),
    f"{{{ZEEBE}}}loopCharacteristics": ("zeebe:loopCharacteristics", _LOOP),
    f"{{{ZEEBE}}}subscription": (Message("zeebe:subscription (a FEEL correlation key)"), _CORRELATION),
    f"{{{ZEEBE}}}calledElement": ("zeebe:calledElement", _CALLED),
    f"{{{CAMUNDA}}}resource": (Message("camunda:resource (a script in a separate file)"), _SCRIPT),
    f"{{{ZEEBE}}}script": (Message("zeebe:script (a FEEL expression)"), _SCRIPT),
    f"{{{CAMUNDA}}}resultVariable": ("camunda:resultVariable", _RESULT),
}

#: Standard elements SpiffWorkflow 3.2 does not run, by local name.
_UNSUPPORTED = {
    "compensateEventDefinition": (Message("a compensation event"), _COMPENSATION),
    "linkEventDefinition": (Message("a link event"), Message("link events are not run by this engine; draw the "
                                                             "sequence flow directly")),
    "complexGateway": (Message("a gateway type this engine does not run"),
                       Message("use an inclusive or exclusive gateway with Python conditions")),
}

#: Elements whose text the engine evaluates as Python, by qualified name: what the expression is for.
_EXPRESSIONS = {**{f"{{{BPMN}}}{local}": what for local, what in (
    ("conditionExpression", Message("condition")), ("condition", Message("condition")),
    ("timeDate", Message("timer")), ("timeDuration", Message("timer")), ("timeCycle", Message("timer")),
    ("loopCardinality", Message("loop cardinality")), ("completionCondition", Message("completion condition")),
    ("loopCondition", Message("loop condition")), ("formalExpression", Message("expression")))},
    f"{{{SPIFF}}}messagePayload": Message("message payload"),
    f"{{{SPIFF}}}expression": Message("correlation expression")}
#: spiffworkflow properties holding a Python expression.
_EXPRESSION_PROPERTIES = (defaults.PROP_DUE_IN, defaults.PROP_TEAM)
#: Parts of an element, never the element a problem is shown on (an event's definition, a task's loop, ...).
_PARTS = re.compile(r"EventDefinition$|LoopCharacteristics$|Expression$|^(extensionElements|condition|timeDate|"
                    r"timeDuration|timeCycle|loopCardinality|completionCondition|loopCondition|potentialOwner|"
                    r"humanPerformer|performer|ioSpecification|dataInput|dataOutput|dataInputAssociation|"
                    r"dataOutputAssociation|script)$")

_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.S)
_FEEL = re.compile(r"^\s*=(?!=)(?P<body>.*)$", re.S)


def dialect(source) -> str | None:
    """The other tool's expression language ``source`` is written in, None for anything else (Python)."""
    if not isinstance(source, str):
        return None
    if _JUEL.match(source):
        return "JUEL (Camunda 7)"
    if _FEEL.match(source):
        return "FEEL (Camunda 8)"
    return None


def _python_for(source: str) -> str | None:
    """A Python spelling of a simple JUEL or FEEL expression, offered as an example; None when not obvious."""
    match = _JUEL.match(source) or _FEEL.match(source)
    body = match.group("body").strip()
    if re.search(r"[.(]\s*[A-Za-z_(]", body):  # method calls and paths have no one-to-one Python spelling
        return None
    words = {"&&": " and ", "||": " or ", "true": "True", "false": "False", "null": "None", "eq": "==", "ne": "!=",
             "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
    words.update({"!": " not ", "=": " == "})  # FEEL compares with a single =; JUEL negates with !
    tokens = re.split(r"(\"[^\"]*\"|'[^']*'|&&|\|\||!=|<=|>=|==|!|=|\b\w+\b)", body)
    out = [words.get(token, token) for token in tokens]
    candidate = re.sub(r"\s+", " ", "".join(out)).strip()
    try:
        ast.parse(candidate, mode="eval")
    except SyntaxError:
        return None
    return candidate or None


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _owner(element):
    """The diagram element a problem belongs on: the nearest one with an id that is not a part of another."""
    node = element
    while node is not None:
        if isinstance(node.tag, str) and node.get("id") and node.tag.startswith(f"{{{BPMN}}}") and \
                not _PARTS.search(_local(node.tag)):
            return node
        node = node.getparent()
    return element


@dataclass
class Found:
    """One use of something that would not run, before uses on the same element with the same advice are merged."""

    file: str
    owner: object  # the lxml element the problem is shown on
    line: int | None
    what: str
    advice: str


def _found(name: str, at, what: str, advice: str) -> Found:
    return Found(name, _owner(at), at.sourceline, what, advice)


def _vendor(name: str, element) -> list[Found]:
    found = [_found(name, element, *_VENDOR[attribute]) for attribute in element.attrib if attribute in _VENDOR]
    passes_everything = element.tag in (f"{{{CAMUNDA}}}in", f"{{{CAMUNDA}}}out") and \
        dict(element.attrib) == {"variables": "all"}  # what a call activity here does anyway
    if element.tag in _VENDOR and not passes_everything:
        found.append(_found(name, element, *_VENDOR[element.tag]))
    return found


def _calls_something(element) -> bool:
    return any(_VENDOR.get(key, ("", ""))[1] == _SERVICE for key in element.attrib) or any(
        element.find(f".//{tag}") is not None for tag in (f"{{{ZEEBE}}}taskDefinition", f"{{{CAMUNDA}}}connector",
                                                         f"{{{SPIFF}}}serviceTaskOperator"))


def _standard(name: str, element) -> list[Found]:
    local = _local(element.tag)
    if local in _UNSUPPORTED:
        return [_found(name, element, *_UNSUPPORTED[local])]
    if element.get("isForCompensation") == "true":
        return [_found(name, element, Message("isForCompensation=\"true\" (a compensation handler)"),
                       _COMPENSATION)]
    if local == "scriptTask" and "python" not in (element.get("scriptFormat") or "python").lower():
        return [_found(name, element, f"scriptFormat {element.get('scriptFormat')!r}",
                       Message("scripts here are Python, run in the engine's sandbox"))]
    if local == "serviceTask" and not _calls_something(element):
        return [_found(name, element, Message("no implementation this engine can call"), _SERVICE)]
    return []


def _expression(name: str, element, what: str, text: str | None) -> list[Found]:
    advice = Message("expressions here are Python, evaluated on the case data")
    language = element.get("language")
    if language and "python" not in language.lower():
        return [_found(name, element, Message("a {what} in the language {language}", what=what,
                                              language=repr(language)), advice)]
    found = dialect(text)
    if found is None:
        return []
    example = _python_for(text)
    if example:
        advice = Message("{advice}; e.g. {example}", advice=advice, example=example)
    if what == "timer":
        advice = Message("{advice} (a literal ISO 8601 value is quoted: {example})", advice=advice, example='"PT5M"')
    return [_found(name, element, Message("the {dialect} {what} {expression}", dialect=found, what=what,
                                          expression=text.strip()), advice)]


def bpmn_problems(name: str, root) -> list[Problem]:
    """Everything in one parsed .bpmn file that comes from another tool and would not run here."""
    found: list[Found] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        found.extend(_vendor(name, element))
        if element.tag in _EXPRESSIONS:
            found.extend(_expression(name, element, _EXPRESSIONS[element.tag], element.text))
        elif element.tag == f"{{{SPIFF}}}property" and element.get("name") in _EXPRESSION_PROPERTIES:
            found.extend(_expression(name, element, Message("property {name}", name=element.get("name")),
                                     element.get("value")))
        elif element.tag.startswith(f"{{{BPMN}}}"):
            found.extend(_standard(name, element))
    return once(found)


def once(found: list[Found]) -> list[Problem]:
    """One problem per element and piece of advice, naming everything it covers: an assignee and candidate groups
    are one thing to fix."""
    merged: dict[tuple, list[Found]] = {}
    for item in found:
        merged.setdefault((item.file, item.owner.get("id"), item.owner.sourceline, item.advice), []).append(item)
    problems = []
    for items in merged.values():
        first, owner = items[0], items[0].owner
        whats = list(dict.fromkeys(item.what for item in items))
        what = whats[0] if len(whats) == 1 else Message("{some} and {last}", some=Message.join(", ", whats[:-1]),
                                                        last=whats[-1])
        element = f"{_local(owner.tag)} {owner.get('id')!r}" if owner.get("id") else _local(owner.tag)
        problems.append(Problem(first.file, Message("{element} uses {what}: {advice}", element=element, what=what,
                                                    advice=first.advice), owner.get("id"), first.line))
    return problems
