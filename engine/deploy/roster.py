"""Team names in a file set checked against the district's roster, so a typo cannot route tasks to an inbox nobody
reads: a lane named ``property_compny`` deploys fine as BPMN and then sends every task in it nowhere.

What can be known before a case runs is checked: the name of every lane holding a user or manual task, a ``team``
property that is a plain string (``"command_centre.lead"``), and the plain-string cells of a DMN output column
named ``team`` (or ending in ``.team``, like the routing table's ``route.team``). A team expression computed from
case data is only known when the case runs. ``<code>.lead`` names the lead's inbox of team ``code``. Pure: called
by ``validation.validate_files`` on the files it parsed, with the roster's codes (``people.roster``).
"""
from __future__ import annotations

import ast

from .. import defaults
from ..exceptions import Message, Problem

#: A team lead also works the inbox "<team>.lead" of each team they belong to (seed/teams.json: lead_suffix).
#: Defined here, in the pure roster check, so deploying needs no people tables; ``people`` re-exports it.
LEAD_SUFFIX = ".lead"

_HUMAN_TASKS = ("userTask", "manualTask")


class Roster(frozenset):
    """The codes of the district's active teams, carrying the codes of its retired ones (``retired``) so a name of a
    retired team is refused as retired, not as unknown (``people.roster`` builds it)."""

    retired: frozenset = frozenset()

    def __new__(cls, active=(), retired=()):
        found = super().__new__(cls, active)
        found.retired = frozenset(retired)
        return found


def team_names(roots: dict):
    """Every fixed team name in the parsed files ``roots`` (file name -> lxml root): (name, file, element, what)."""
    for file, root in sorted(roots.items()):
        if file.endswith(".bpmn"):
            human = {e.get("id") for tag in _HUMAN_TASKS for e in root.iter(f"{{*}}{tag}")}
            for lane in root.iter("{*}lane"):
                holds_work = any((ref.text or "").strip() in human for ref in lane.iter("{*}flowNodeRef"))
                if holds_work and lane.get("name"):
                    yield lane.get("name").strip(), file, lane, Message("lane")
            for prop in root.iter("{*}property"):
                literal = _string_literal(prop.get("value")) if prop.get("name") == defaults.PROP_TEAM else None
                if literal is not None:
                    task = next((a for a in prop.iterancestors() if a.get("id")), prop)  # the task it is set on
                    yield literal, file, task, Message("team property")
        else:
            for table in root.iter("{*}decisionTable"):
                outputs = [o.get("name") or "" for o in table.findall("{*}output")]
                for rule in table.findall("{*}rule"):
                    for column, entry in zip(outputs, rule.findall("{*}outputEntry")):
                        literal = _string_literal(entry.findtext("{*}text"))
                        if (column == "team" or column.endswith(".team")) and literal is not None:
                            yield literal, file, entry, Message("routing output")


def team_code(name: str) -> str:
    """The team a name routes to: ``grid_patrol.lead`` is the lead's inbox of ``grid_patrol``."""
    return name.removesuffix(LEAD_SUFFIX)


def unknown_teams(roots: dict, roster: set[str]) -> list[Problem]:
    """A problem for every team name in the parsed files ``roots`` (file name -> lxml root) that is neither a code
    of ``roster`` nor ``<code>.lead``; a team retired in the web app (``Roster.retired``) is named as such."""
    known = roster | {code + LEAD_SUFFIX for code in roster}
    retired = getattr(roster, "retired", frozenset())
    problems: list[Problem] = []
    for name, file, element, what in team_names(roots):
        if name in known:
            continue
        if team_code(name) in retired:
            message = Message("{what} '{name}' names a retired team: it takes no new tasks (route to an active team, "
                              "or restore the team on the teams page)", what=what, name=name)
        else:
            message = Message("{what} '{name}' is not a team of the roster (known: {known}; a lead's inbox is "
                              "<code>{suffix})", what=what, name=name, known=", ".join(sorted(roster)),
                              suffix=LEAD_SUFFIX)
        problems.append(Problem(file, message, element_id=element.get("id"), line=element.sourceline))
    return problems


def _string_literal(expression: str | None) -> str | None:
    """The string an expression is when it is only a quoted string (``"grid_patrol"``), else None."""
    try:
        value = ast.literal_eval((expression or "").strip())
    except (ValueError, SyntaxError):
        return None
    return value.strip() if isinstance(value, str) else None
