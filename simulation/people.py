"""The district's people in the simulation: a work queue per inbox, officers on shifts, and what they submit.

An inbox (a team code, or ``<team>.lead``) is a :class:`Pool` of ready tasks, served earliest-due first, the way an
officer sorts the inbox page. Officers of the team are SimPy processes (:mod:`simulation.model`) that take a task
from their pool while on shift, claim it through the engine, spend the handling time drawn for it and complete it.
"""
from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field


@dataclass(order=True)
class Work:
    """A ready task waiting in a pool: earliest due first, then first come."""

    due: float
    seq: int
    task_id: int = field(compare=False)
    instance_id: int = field(compare=False)
    bpmn_id: str = field(compare=False)
    refused: set = field(compare=False, default_factory=set)   # officers four eyes keeps from it


class Pool:
    """Ready tasks of one inbox and the officers of that inbox waiting for one."""

    def __init__(self, env, name: str):
        self.env, self.name = env, name
        self.items: list[Work] = []
        self.waiting: list[tuple[str, object]] = []    # (actor, event), in the order they began to wait

    def put(self, work: Work) -> None:
        for n, (actor, event) in enumerate(self.waiting):
            if actor not in work.refused:
                del self.waiting[n]
                event.succeed(work)
                return
        heapq.heappush(self.items, work)

    def get(self, actor: str):
        """An event that fires with the first task ``actor`` may take (at once when one is waiting)."""
        event = self.env.event()
        skipped, found = [], None
        while self.items:
            work = heapq.heappop(self.items)
            if actor in work.refused:
                skipped.append(work)
                continue
            found = work
            break
        for work in skipped:
            heapq.heappush(self.items, work)
        if found is not None:
            event.succeed(found)
        else:
            self.waiting.append((actor, event))
        return event

    def cancel(self, event) -> None:
        self.waiting = [(a, e) for a, e in self.waiting if e is not event]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Shift:
    start_h: float       # hour of the day it starts (Shanghai time)
    end_h: float         # may pass 24: the shift ends the next morning

    def next_change(self, local_seconds: float) -> tuple[bool, float]:
        """(on duty now, seconds until that changes), ``local_seconds`` counted from a local midnight."""
        day, into = divmod(local_seconds, 86400)
        start, end = self.start_h * 3600, self.end_h * 3600
        for base in (-86400, 0, 86400):
            if base + start <= into < base + end:
                return True, base + end - into
        for base in (0, 86400, 2 * 86400):
            if into < base + start:
                return False, base + start - into
        return False, 86400 - into + start   # pragma: no cover - unreachable


def roster(staffing: dict, scale: dict[str, float] | None = None) -> dict[str, list[tuple[str, Shift]]]:
    """Officers by inbox: ``{inbox: [(actor, shift), ...]}``. ``scale`` multiplies a team's officers (a staffing
    plan of a what-if: 0.5 halves the team, rounding down; at least one officer stays on each shift group that
    had any).

    The lead inbox (``<team>.lead``) is served by the team's first officers on the data file's ``leads`` shifts:
    a lead is one of the team's officers, so the indicators count one person, not two."""
    scale = scale or {}
    officers: dict[str, list[tuple[str, Shift]]] = {}
    for team, spec in staffing.items():
        if team.startswith("_"):
            continue
        factor = scale.get(team, 1.0)
        number = 0
        for start_h, end_h, count in spec["shifts"]:
            count = max(1, int(count * factor)) if count else 0
            for _ in range(count):
                number += 1
                officers.setdefault(team, []).append((f"{team}-{number}", Shift(start_h, end_h)))
        lead = 0
        for start_h, end_h, count in spec.get("leads", [[8, 20, 1]]):
            for _ in range(count):
                lead += 1
                officers.setdefault(f"{team}.lead", []).append((f"{team}-{lead}", Shift(start_h, end_h)))
    return officers


def draw_minutes(rng: random.Random, handling: dict, bpmn_id: str) -> float:
    """Handling time of one task: lognormal around the task's median (data file ``handling``)."""
    key = "escalation" if bpmn_id.endswith("_escalate") else bpmn_id
    median, sigma = handling.get(key, handling["default"])
    return median * math.exp(rng.gauss(0, sigma))


#: The playbooks' "did it work" fields, answered no at the ``not_complied`` share (the playbook then escalates).
_DID_IT_WORK = ("complied",)


def form_data(forms: dict, outcomes: dict, rng: random.Random, bpmn_id: str, truth: str) -> dict:
    """What the officer submits for ``bpmn_id``: the data file's happy path, with the decisions the simulation
    varies (a false report rejected at registration, a failed verification, a shop that does not comply)."""
    key = "escalation" if bpmn_id.endswith("_escalate") else bpmn_id
    data = dict(forms.get(key) or {})
    if bpmn_id == "register" and truth == "false":
        data = {"decision": "false_alarm", "reason": "现场核实无此情况"}
    elif bpmn_id == "verify" and rng.random() < outcomes["verify_fails"]:
        data = dict(data, passed=False, failure_reason="问题仍存在")
    for name in _DID_IT_WORK:
        if name in data and rng.random() < outcomes["not_complied"]:
            data[name] = False
    return data
