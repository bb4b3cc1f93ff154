"""Decision tables from other tools (Camunda Modeler's DMN, written in FEEL): what this engine would read differently
or not run, named per cell and line, with the Python to write instead.

Jingzhi evaluates DMN cells as Python expressions (SpiffWorkflow's DMN engine joins the input and the cell, or puts
the input in for ``?``). Most simple FEEL cells mean the same in Python (``"a"``, ``5``, ``< 10``), but some do not
compile (``[1..5]``) and some compile to something else: ``"a","b"`` is a tuple the input never equals, ``not("x")``
is ``False`` - a rule that silently never matches. Those are refused with their Python spelling. Table shapes
SpiffWorkflow reads differently (a second decision in a file, a decision using another's result, hit policies it
treats as FIRST, COLLECT aggregations it ignores) are refused here too.
"""
from __future__ import annotations

import re

from ..exceptions import Message, Problem
from .foreign import Found, once

_HINT = Message("Jingzhi evaluates DMN cells as Python expressions")
_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$", re.S)
_NOT = re.compile(r"^not\s*\((.*)\)$", re.S)
_FEEL_FUNCTION = re.compile(r"^(date and time|years and months duration|date|time|duration)\s*\(")
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_COMPARISON = re.compile(r"^(<=|>=|<|>|!=|==)")
#: Hit policies SpiffWorkflow 3.2 answers with the first matching rule, though they mean something else.
_HIT_POLICIES = {"PRIORITY", "OUTPUT ORDER", "RULE ORDER"}


def _split(text: str) -> list[str]:
    """A cell's comma-separated parts, commas inside quotes and brackets kept."""
    parts, depth, quote, current = [], 0, None, ""
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth <= 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    return parts + [current.strip()]


def _range(text: str) -> str | None:
    match = _RANGE.match(text)
    if match is None:
        return None
    opening, low, high, closing = match.groups()
    return f"{low} {'<=' if opening == '[' else '<'} ? {'<=' if closing == ']' else '<'} {high}"


def _as_test(part: str) -> str:
    """One FEEL unary test as a Python test of ``?``."""
    return _range(part) or (f"? {part}" if _COMPARISON.match(part) else f"? == {_LITERALS.get(part, part)}")


def feel_cell(text: str | None, is_input: bool) -> tuple[str, str | None] | None:
    """(what FEEL construct the cell uses, its Python spelling or None) when a cell would not mean in Python what it
    means in FEEL; None for a cell that is fine (or empty, or ``-``)."""
    cell = (text or "").strip()
    if not cell or cell == "-":
        return None
    if cell in _LITERALS:
        return Message("the FEEL literal {cell}", cell=cell), _LITERALS[cell]
    if _FEEL_FUNCTION.match(cell):
        return Message("the FEEL function {function}()", function=_FEEL_FUNCTION.match(cell).group(1)), None
    if not is_input or "?" in re.sub(r"\"[^\"]*\"|'[^']*'", "", cell):
        return None  # a ? stands for the input only in Jingzhi's (Python) cells: this one is Python already
    negated = _NOT.match(cell)
    if negated:
        parts = _split(negated.group(1))
        if all(not _range(p) and not _COMPARISON.match(p) for p in parts):
            python = f"!= {parts[0]}" if len(parts) == 1 else f"? not in ({', '.join(parts)})"
        else:
            python = f"not ({' or '.join(_as_test(p) for p in parts)})"
        return Message("the FEEL negation {cell}", cell=cell), python
    parts = _split(cell)
    if len(parts) > 1:
        if all(not _range(p) and not _COMPARISON.match(p) for p in parts):
            return Message("the FEEL list {cell}", cell=cell), f"? in ({', '.join(parts)})"
        return Message("the FEEL list {cell}", cell=cell), " or ".join(_as_test(p) for p in parts)
    if _range(cell):
        return Message("the FEEL range {cell}", cell=cell), _range(cell)
    return None


def _local(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _children(element, local: str) -> list:
    return [child for child in element if _local(child) == local]


def _problem(name: str, element, what: str, advice: str) -> Found:
    return Found(name, element, element.sourceline, what, advice)


def _cells(name: str, table) -> list:
    found = []
    inputs = _children(table, "input")
    labels = [put.get("label") or "".join(put.itertext()).strip() or put.get("id") for put in inputs]
    for number, rule in enumerate(_children(table, "rule"), start=1):
        entries = [(e, True) for e in _children(rule, "inputEntry")] + \
                  [(e, False) for e in _children(rule, "outputEntry")]
        for position, (entry, is_input) in enumerate(entries):
            text = "".join(t.text or "" for t in _children(entry, "text"))
            where = Message("(rule {rule}, input {label})", rule=number, label=repr(labels[position])) \
                if is_input and position < len(labels) else Message("(rule {rule}, output)", rule=number)
            language = entry.get("expressionLanguage")
            if language and not any(word in language.lower() for word in ("python", "feel")):
                found.append(_problem(name, entry, Message("the expression language {language} {where}",
                                                           language=repr(language), where=where), _HINT))
                continue
            feel = feel_cell(text, is_input)
            if feel is not None:
                what, python = feel
                advice = Message("{hint}; write {python}", hint=_HINT, python=python) if python else \
                    Message("{hint}; compare ISO 8601 strings or numbers, or compute the value in a script task",
                            hint=_HINT)
                found.append(_problem(name, entry, Message("{what} {where}", what=what, where=where), advice))
    return found


def _table(name: str, decision) -> list:
    tables = _children(decision, "decisionTable")
    if not tables:
        kinds = ", ".join(sorted({_local(child) for child in decision} - {"description", "extensionElements",
                                                                          "informationRequirement",
                                                                          "authorityRequirement",
                                                                          "knowledgeRequirement"}))
        return [_problem(name, decision, Message("a {kinds} instead of a decision table", kinds=kinds) if kinds
                         else Message("no decision table"), Message("only decision tables are run here"))]
    table, found = tables[0], []
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy in _HIT_POLICIES:
        found.append(_problem(name, table, Message("the hit policy {policy}", policy=policy),
                              Message("this engine answers with the first matching rule: use FIRST, UNIQUE or "
                                      "COLLECT")))
    if table.get("aggregation"):
        found.append(_problem(name, table, Message("the COLLECT aggregation {aggregation}",
                                                   aggregation=table.get("aggregation")),
                              Message("COLLECT returns the list of every matching rule's outputs here; add them up in "
                                      "a script task after the decision")))
    return found + _cells(name, table)


def dmn_problems(name: str, root) -> list[Problem]:
    """Everything in one parsed .dmn file that this engine would read differently from the tool that wrote it."""
    found = []
    decisions = [element for element in root.iter() if _local(element) == "decision"]
    for position, decision in enumerate(decisions):
        if position > 0:
            found.append(_problem(name, decision, Message("the same file as decision {decision}",
                                                          decision=repr(decisions[0].get("id"))),
                                  Message("only one decision per .dmn file is read here; put each in its own file")))
        for requirement in decision.iter():
            if _local(requirement) == "requiredDecision":
                found.append(_problem(name, decision, Message("the result of decision {decision}",
                                                              decision=repr(requirement.get("href"))),
                                      Message("decisions here do not call each other; run each from its own business "
                                              "rule task, one after the other")))
                break
        found.extend(_table(name, decision))
    return once(found)
