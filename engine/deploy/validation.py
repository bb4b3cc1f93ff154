"""Validating a deployment's file set: safe XML, XSD, SpiffWorkflow's parse, and every expression compiled.

Pure: takes file contents, returns parsed specs or raises :class:`DeploymentRejected` listing every problem found
(file, element id, line where known, message). What diagrams from other tools (Camunda, Zeebe) rely on and this engine
would not run is named first, by :mod:`engine.deploy.foreign` and :mod:`engine.deploy.foreign_dmn`. SpiffWorkflow's parser checks
no Python at all, so scripts, conditions, timer, message, DMN and property expressions are compiled here, in the same
sandbox that will run them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from .. import defaults
from . import sizes
from ..exceptions import DeploymentRejected, Message, Problem
from .expressions import check_task_spec
from .foreign import bpmn_problems
from .foreign_dmn import dmn_problems
from .forms import check_schema
from .roster import unknown_teams
from .sandbox_limits import size_problems

log = logging.getLogger(__name__)

BPMN_SUFFIX, DMN_SUFFIX, FORM_SUFFIX = ".bpmn", ".dmn", ".json"

#: No network, no DTD, no entity expansion: uploaded diagrams are untrusted (XXE, billion laughs).
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                            huge_tree=False)


class _DoctypeFound(Exception):
    pass


class _RefuseDoctype:
    """Parser target that stops at ``<!DOCTYPE``, before libxml2 reads a single entity declaration.

    Even with ``resolve_entities=False`` libxml2 parses a referenced entity's content once (a billion laughs got as
    far as its amplification limit and was reported as "malformed XML" on line 1), so declarations are refused
    before the real parse rather than after it.
    """

    def doctype(self, name, public_id, system_url):
        raise _DoctypeFound

    def close(self):
        return None


def _has_doctype(data: bytes) -> bool:
    parser = etree.XMLParser(target=_RefuseDoctype(), resolve_entities=False, no_network=True, load_dtd=False)
    try:
        etree.fromstring(data, parser)
    except _DoctypeFound:
        return True
    except etree.XMLSyntaxError:
        pass  # the real parse reports it, with its line
    return False


@dataclass
class ParsedSet:
    """The executable result of a valid file set."""

    specs: dict = field(default_factory=dict)             # process id -> BpmnProcessSpec
    subprocess_specs: dict = field(default_factory=dict)  # process id -> {called id: spec}
    names: dict = field(default_factory=dict)             # process id -> label
    forms: dict = field(default_factory=dict)             # file name -> JSON schema (dict)


def parse_xml(name: str, data: bytes, problems: list[Problem]):
    """Parse one XML file safely; record a problem and return None when it cannot be trusted or read."""
    if _has_doctype(data):
        at = data.find(b"<!DOCTYPE")
        problems.append(Problem(name, Message("DOCTYPE and entity declarations are not allowed in diagrams"),
                                line=data.count(b"\n", 0, at) + 1 if at >= 0 else None))
        return None
    try:
        return etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError as err:
        problems.append(Problem(name, Message("malformed XML: {error}", error=err.msg), line=err.lineno))
        return None


def _xsd_problems(name: str, root, validator) -> list[Problem]:
    validator.preprocess(root)
    if validator.validator.validate(root):
        return []
    return [Problem(name, Message("does not match the BPMN schema: {error}", error=e.message), line=e.line)
            for e in validator.validator.error_log]


def _element_lines(name: str, root, index: dict) -> None:
    for element in root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id and element_id not in index:
            index[element_id] = (name, element.sourceline)


def _from_validation_error(err: ValidationException, default_file: str, index: dict) -> Problem:
    element_id = getattr(err, "id", None) or None
    file_name, line = index.get(element_id, (None, None)) if element_id else (None, None)
    line = getattr(err, "line_number", None) or line
    message = str(err).split("\n")[0].strip() if str(err) else err.__class__.__name__
    return Problem(getattr(err, "file_name", None) or file_name or default_file, message, element_id,
                   line if isinstance(line, int) else None)


def validate_files(files: dict[str, bytes], roster: set[str] | None = None) -> ParsedSet:
    """Validate a whole file set and return its specs, or raise DeploymentRejected with every problem. With
    ``roster`` (the district's team codes) every team name the set fixes must be one of them (``engine.deploy.roster``)."""
    problems: list[Problem] = []
    parsed = ParsedSet()
    index: dict[str, tuple[str, int]] = {}
    bpmn, dmn = {}, {}
    foreign: list[Problem] = []  # what other tools' diagrams rely on, each named with what to do instead
    unparsed: list[Problem] = []  # SpiffWorkflow's parse errors: for an element named in foreign it says less
    if not any(name.endswith(BPMN_SUFFIX) for name in files):
        problems.append(Problem("(deployment)", Message("no .bpmn file in the deployment")))
    for name, data in sorted(files.items()):
        unreadable = _text_problems(name, data)
        if unreadable:  # stored as UTF-8 text: what cannot be stored is refused here, not by the database
            problems.extend(unreadable)
        elif len(data) > defaults.MAX_DEPLOY_FILE_BYTES:
            problems.append(Problem(name, Message("file is larger than {limit} bytes",
                                                   limit=defaults.MAX_DEPLOY_FILE_BYTES)))
        elif name.endswith(FORM_SUFFIX):
            schema, form_problems = check_schema(name, data)
            problems.extend(form_problems)
            if schema is not None:
                parsed.forms[name] = schema
        elif name.endswith((BPMN_SUFFIX, DMN_SUFFIX)):
            root = parse_xml(name, data, problems)
            oversized = size_problems(name, root) if root is not None and name.endswith(BPMN_SUFFIX) else []
            if root is not None:
                problems.extend(_column_problems(name, root))
            if oversized:  # SpiffWorkflow would recurse past Python's limit or take minutes on it: not parsed
                problems.extend(oversized)
            elif root is not None:
                _element_lines(name, root, index)
                foreign.extend((bpmn_problems if name.endswith(BPMN_SUFFIX) else dmn_problems)(name, root))
                (bpmn if name.endswith(BPMN_SUFFIX) else dmn)[name] = root
        else:
            problems.append(Problem(name, Message("unsupported file type (expected .bpmn, .dmn or .json)")))

    if roster:
        problems.extend(unknown_teams({**bpmn, **dmn}, roster))
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, root in dmn.items():
        # SpiffWorkflow's DMN parser reads every child node as an element and crashes on a comment inside a table
        # (and reports it at the business rule task, far from the cause); comments mean nothing to it anyway.
        etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
        _add(parser.add_dmn_xml, name, root, index, unparsed)
    for name, root in bpmn.items():
        xsd = _xsd_problems(name, root, VALIDATOR)
        if xsd:
            problems.extend(xsd)
        else:
            _add(parser.add_bpmn_xml, name, root, index, unparsed)

    executable = list(parser.get_process_ids())  # before get_subprocess_specs adds embedded sub-processes to it
    if bpmn and not executable and not problems and not unparsed:
        idle = [p for p in parser.process_parsers]
        problems.append(Problem(sorted(bpmn)[0], Message(
            "no executable process: set isExecutable=\"true\" on the process to run ({processes})",
            processes=", ".join(idle) if idle else Message("none found"))))
    for process_id in executable:
        process_file = getattr(parser.process_parsers.get(process_id), "filename", None) or "(deployment)"
        try:
            spec = parser.get_spec(process_id)
            missing = list(_missing_calls(parser, spec, process_file, index))
            if missing:  # Spiff's own error for this names neither the call activity nor its line
                problems.extend(missing)
                continue
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as err:
            unparsed.append(_from_validation_error(err, process_file, index))
            continue
        except Exception as err:  # the parser has raw KeyErrors and the like: never a server error
            unparsed.append(Problem(process_file, Message("could not be parsed: {error}",
                                                          error=_described(err)), process_id))
            continue
        parsed.specs[process_id] = spec
        parsed.subprocess_specs[process_id] = subprocess_specs
        parsed.names[process_id] = spec.description or process_id
        # embedded sub-processes are specs of their own: their scripts and conditions are compiled too
        nested = [s for s in subprocess_specs.values() if s.name not in executable]
        for task_spec in [t for s in (spec, *nested) for t in s.task_specs.values()]:
            for element_id, message in check_task_spec(task_spec, parsed.forms, set(files)):
                file_name, line = index.get(element_id, (process_file, None))
                problems.append(Problem(file_name, message, element_id, line))

    # "A Service Task must have an operator" says less than what foreign found on the same element
    explained = {(p.file, p.element_id) for p in foreign}
    problems = foreign + problems + [p for p in unparsed
                                     if p.element_id is None or (p.file, p.element_id) not in explained]
    if problems:
        raise DeploymentRejected(_unique(problems))
    return parsed


def unicode_problems(files: dict) -> list[Problem]:
    """Texts (as an editor sends them, ``{name: text}``) that are not valid Unicode: an unpaired surrogate, sent as
    a ``\\ud800`` escape in JSON, cannot be encoded as UTF-8, so it is refused by file and line like bad bytes are."""
    problems = []
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str):
            continue
        shown = name.encode("utf-8", "backslashreplace").decode("utf-8")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as err:
            problems.append(Problem(shown, Message("the file name has an unpaired surrogate ({character}): it is "
                                                   "not valid Unicode", character=ascii(name[err.start]))))
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            problems.append(Problem(shown, Message("contains an unpaired surrogate ({character}): the text is not "
                                                   "valid Unicode", character=ascii(text[err.start])),
                                    line=text.count("\n", 0, err.start) + 1))
    return problems


def _text_problems(name: str, data: bytes) -> list[Problem]:
    """A file name or content the deployment table cannot hold: not UTF-8, NUL characters, unpaired surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as err:
        return [Problem(name.encode("utf-8", "backslashreplace").decode("ascii", "replace"),
                        Message("the file name has an unpaired surrogate ({character}): it is not valid Unicode",
                                character=ascii(name[err.start])))]
    if "\x00" in name:
        return [Problem(name.replace("\x00", "\\x00"), Message("the file name contains a NUL character"))]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            found = Message("it is UTF-16 (it starts with a UTF-16 byte order mark)")
        else:
            found = Message("byte {byte} at offset {offset} is not UTF-8", byte=hex(data[err.start]),
                            offset=err.start)
        return [Problem(name, Message("is not UTF-8 text: {found}; save the file as UTF-8", found=found),
                        line=data.count(b"\n", 0, err.start) + 1)]
    at = text.find("\x00")
    if at >= 0:
        return [Problem(name, Message("contains a NUL character, which a diagram, table or form may not hold"),
                        line=text.count("\n", 0, at) + 1)]
    return []


def _column_lengths() -> dict[str, int]:
    """How long each id or name taken from a diagram may be: the length of the column that will hold it."""
    return {Message("process id"): sizes.PROCESS_ID, Message("process name"): sizes.PROCESS_NAME,
            Message("element id"): sizes.ELEMENT_ID, Message("element name"): sizes.ELEMENT_NAME,
            Message("lane name"): sizes.LANE_NAME, Message("message name"): sizes.MESSAGE_NAME,
            Message("form file name"): sizes.FORM_FILE_NAME}


def _column_problems(name: str, root) -> list[Problem]:
    """Ids and names longer than the columns that will hold them (the process name, a task's label, ...)."""
    limits = _column_lengths()
    said = {what: what for what in limits}  # the names as Messages, looked up by their English text
    problems = []

    def check(element, what: str, value) -> None:
        if isinstance(value, str) and len(value) > limits[what]:
            element_id = element.get("id")
            problems.append(Problem(name, Message("{what} is {length} characters long; at most {limit} fit",
                                                  what=said[what], length=len(value), limit=limits[what]),
                                    element_id if element_id and len(element_id) <= limits["element id"] else None,
                                    element.sourceline))

    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = element.tag.rsplit("}", 1)[-1]
        if local == "process":
            check(element, "process id", element.get("id"))
            check(element, "process name", element.get("name"))
        elif local == "lane":
            check(element, "lane name", element.get("name"))
        elif local == "message":
            check(element, "message name", element.get("name"))
        elif local == "property" and element.get("name") in (defaults.PROP_FORM_SCHEMA, defaults.PROP_FORM_UI_SCHEMA):
            check(element, "form file name", element.get("value"))
        else:
            if local != "definitions":
                check(element, "element id", element.get("id"))
            if element.get("id") is not None and local not in ("definitions", "collaboration"):
                check(element, "element name", element.get("name"))
    return problems


def _missing_calls(parser, spec, process_file: str, index: dict):
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, CallActivity) and parser.get_process_parser(task_spec.spec) is None:
            file_name, line = index.get(task_spec.bpmn_id, (process_file, None))
            yield Problem(file_name, Message("calls process '{process}', which is not in the deployment "
                                             "(processes here: {processes})", process=task_spec.spec,
                                             processes=", ".join(parser.get_process_ids())),
                          task_spec.bpmn_id, line)


def _add(add, name, root, index, problems) -> None:
    try:
        add(root, name)
    except ValidationException as err:
        problems.append(_from_validation_error(err, name, index))
    except Exception as err:
        problems.append(Problem(name, Message("could not be parsed: {error}",
                                              error=_described(err))))


def _described(err: Exception) -> str:
    """A parser's exception as its class and text (library words, said as they are)."""
    return f"{err.__class__.__name__}: {err}"


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, result = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
