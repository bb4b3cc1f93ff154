"""Team names in a file set checked against the district's roster, so a typo cannot route tasks to an inbox nobody
reads: a lane named ``property_compny`` deploys fine as BPMN and then sends every task in it nowhere.

What can be known before a case runs is checked: the name of every lane holding a user or manual task, a ``team``
property that is a plain string (``"command_centre.lead"``), and the plain-string cells of a DMN output column
named ``team`` (or ending in ``.team``, like the routing table's ``route.team``). A team expression computed from
case data is only known when the case runs. ``<code>.lead`` names the lead's inbox of team ``code``. Pure: the
caller passes the roster's codes (``people.team_codes``).
"""
from __future__ import annotations

import ast

from . import defaults
from .exceptions import DeploymentRejected, Problem
from .people import LEAD_SUFFIX
from .validation import BPMN_SUFFIX, DMN_SUFFIX, parse_xml, validate_files

_HUMAN_TASKS = ("userTask", "manualTask")


def unknown_teams(files: dict[str, bytes], roster: set[str]) -> list[Problem]:
    """A problem for every team name in ``files`` that is neither a code of ``roster`` nor ``<code>.lead``."""
    known = roster | {code + LEAD_SUFFIX for code in roster}
    problems: list[Problem] = []

    def check(name: str, file: str, element, what: str) -> None:
        if name not in known:
            problems.append(Problem(file, f"{what} '{name}' is not a team of the roster (known: "
                                          f"{', '.join(sorted(roster))}; a lead's inbox is <code>{LEAD_SUFFIX})",
                                    element_id=element.get("id"), line=element.sourceline))

    for file, data in sorted(files.items()):
        if not file.endswith((BPMN_SUFFIX, DMN_SUFFIX)):
            continue
        root = parse_xml(file, data, [])
        if root is None:
            continue  # unreadable files are the deploy validation's to report
        if file.endswith(BPMN_SUFFIX):
            human = {e.get("id") for tag in _HUMAN_TASKS for e in root.iter(f"{{*}}{tag}")}
            for lane in root.iter("{*}lane"):
                holds_work = any((ref.text or "").strip() in human for ref in lane.iter("{*}flowNodeRef"))
                if holds_work and lane.get("name"):
                    check(lane.get("name").strip(), file, lane, "lane")
            for prop in root.iter("{*}property"):
                literal = _string_literal(prop.get("value")) if prop.get("name") == defaults.PROP_TEAM else None
                if literal is not None:
                    check(literal, file, prop.getparent().getparent().getparent(), "team property")
        else:
            for table in root.iter("{*}decisionTable"):
                outputs = [o.get("name") or "" for o in table.findall("{*}output")]
                for rule in table.findall("{*}rule"):
                    for column, entry in zip(outputs, rule.findall("{*}outputEntry")):
                        literal = _string_literal(entry.findtext("{*}text"))
                        if (column == "team" or column.endswith(".team")) and literal is not None:
                            check(literal, file, entry, "routing output")
    return problems


def refuse_unknown_teams(files: dict[str, bytes], roster: set[str]) -> None:
    """Raise DeploymentRejected when ``files`` name a team the roster does not have, listing the deploy
    validation's own problems with them, so one answer shows everything to mend."""
    unknown = unknown_teams(files, roster)
    if unknown:
        try:
            validate_files(files)
        except DeploymentRejected as rejected:
            raise DeploymentRejected(rejected.problems + unknown) from None
        raise DeploymentRejected(unknown)


def _string_literal(expression: str | None) -> str | None:
    """The string an expression is when it is only a quoted string (``"grid_patrol"``), else None."""
    try:
        value = ast.literal_eval((expression or "").strip())
    except (ValueError, SyntaxError):
        return None
    return value.strip() if isinstance(value, str) else None
