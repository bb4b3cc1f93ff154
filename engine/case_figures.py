"""The figures a case contributes to the district's indicators (engine/indicators.py), kept on its row.

Each step recomputes them from the case row it writes (persistence), so a period's indicators are sums over plain,
indexed columns: no JSON read per case, no look-up of the case's tasks. Migration 0014 computed the same for the
cases that existed before.

- ``resolved_at``: when the case counts as closed (closure rate, handling time): the time it reached ``closed``
  (else ``evaluate``) in ``stage_times``, else the moment the instance ended unless it was rejected or cancelled.
- ``handling_s``: seconds from opening to ``resolved_at``.
- ``verified``: the case reached verification (the rework rate's denominator).
- ``late``: a task of the case was completed after its due time (so a closed case was not closed on time). Set by
  the step that completes such a task, never cleared.
"""
from __future__ import annotations

from datetime import datetime

#: Stages whose time in ``stage_times`` is the closing time, the first present wins.
CLOSED_STAGES = ("closed", "evaluate")
#: Cases that ended without being closed: their end is no closing time.
NEVER_CLOSED = ("rejected", "cancelled")
#: The columns this module keeps (engine/models.py ``Case``).
COLUMNS = ("resolved_at", "handling_s", "verified", "late")


def resolved_at(stage: str, stage_times: dict, closed_at: datetime | None) -> datetime | None:
    for name in CLOSED_STAGES:
        if stage_times.get(name):
            return datetime.fromisoformat(stage_times[name])
    return closed_at if closed_at is not None and stage not in NEVER_CLOSED else None


def figures(case: dict, late: bool) -> dict:
    """The figure columns of ``case`` (its ``stage``, ``stage_times``, ``closed_at`` and ``opened_at``)."""
    resolved = resolved_at(case["stage"], case["stage_times"], case.get("closed_at"))
    return {"resolved_at": resolved,
            "handling_s": (resolved - case["opened_at"]).total_seconds() if resolved is not None else None,
            "verified": bool(case["stage_times"].get("verify")), "late": bool(late)}


def completed_late(due_times: dict, completed: list[str], now: datetime) -> bool:
    """Whether a task among ``completed`` (uuids, completed at ``now``) was past its due time (``due_times``)."""
    return any(due_times.get(uuid) is not None and now > due_times[uuid] for uuid in completed)
