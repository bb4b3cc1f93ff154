"""A discrete-event simulation (SimPy) of the district that drives the real engine on a virtual clock.

One :class:`Simulation` replays a :class:`simulation.stream.Stream` through an :class:`engine.Engine`:

- sensor messages go through the intake every ingester uses (``sensors.intake.accept_batch``, then
  ``engine.alarms.after_commit`` for a batch's new alarms and clears, as HTTP and MQTT do), batched per virtual minute;
- reports start the closed loop with the start data the Open311 path gives them (``integrations/open311.py``);
- officers (:mod:`simulation.people`) take their inbox's tasks earliest-due first while on shift, ``claim`` and
  ``complete_task`` them after a drawn handling time;
- a ticker process calls :meth:`engine.ticker.Ticker.tick_due` every virtual minute (reminders, overdue timers,
  escalations, rectification periods) and the clear-delivering part of the alarm sweep every five.

The engine's process-wide clock is a :class:`engine.clock.ManualClock` set to the virtual time before every engine
call, so every stamp the engine writes (opened, due, ended, stage times) is the simulated one, and the indicators read
from its tables afterwards (:func:`engine.indicators.indicators`) are the simulated month's. The simulator counts
nothing that ends up in the result line.

Not simulated: heartbeats (generated streams have none; a stream exported from a database may, and they go through
the intake like the others, but no device is ever marked offline, so no maintenance cases), malformed messages.
"""
from __future__ import annotations

import logging
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import simpy

from engine import Engine, Jobs, Ticker, clock
from engine.exceptions import FormInvalid, JingzhiError, NotAllowed
from sensors.intake import Incoming, accept_batch

from .people import Pool, Work, draw_minutes, form_data, roster
from .stream import Stream

log = logging.getLogger(__name__)

MAIN_PROCESS = "closed_loop"
LOCAL_OFFSET_S = 8 * 3600   # Shanghai is UTC+8 all year


@dataclass
class Counters:
    engine_steps: int = 0        # Runtime.start and Runtime.step calls (one transaction on the instance each)
    claims: int = 0
    completions: int = 0
    sensor_messages: int = 0
    reports: int = 0
    refused: dict = field(default_factory=dict)


class Simulation:
    def __init__(self, engine: Engine, params: dict, stream: Stream, seed: int, drain_days: float = 0.0,
                 staffing_scale: dict[str, float] | None = None, progress=None):
        self.engine, self.params, self.stream, self.seed = engine, params, stream, seed
        self.env = simpy.Environment()
        self.clock = clock.ManualClock(stream.start)
        self.start = stream.start
        self.end_s = stream.days * 86400
        self.drain_s = drain_days * 86400
        self.rng = random.Random(f"people/{seed}")
        self.pools: dict[str, Pool] = {}
        self.seen: set[int] = set()
        self.truth: dict[int, str] = {}            # instance id -> real | false (what officers will find)
        self.alarm_instances: dict[int, int] = {}
        self.counters = Counters()
        self.progress = progress
        self.snapshot: dict | None = None
        self.officers = roster(params["staffing"], staffing_scale)
        self.ticker = Ticker(Jobs(engine))
        self._count_steps()

    # -- the engine's clock and step count ----------------------------------------------------------------------
    def _now(self) -> datetime:
        moment = self.start + timedelta(seconds=self.env.now)
        self.clock.set(moment)
        return moment

    def _count_steps(self) -> None:
        runtime = self.engine.runtime
        # start_in, not start: every start runs through it, the batched case starts of alerts too (engine.alarms)
        for name in ("start_in", "step"):
            original = getattr(runtime, name)

            def counted(*args, _original=original, **kwargs):
                self.counters.engine_steps += 1
                return _original(*args, **kwargs)
            setattr(runtime, name, counted)

    # -- inboxes ------------------------------------------------------------------------------------------------
    def pool(self, inbox: str) -> Pool:
        if inbox not in self.pools:
            self.pools[inbox] = Pool(self.env, inbox)
            officers = self.officers.get(inbox)
            if not officers:   # an inbox nobody is staffed for: the data file's default team
                default = self.params["staffing"]["default"]
                officers = roster({inbox: default}).get(inbox, [])
                self.officers[inbox] = officers
            for actor, shift in officers:
                self.env.process(self.officer(actor, shift, self.pools[inbox]))
        return self.pools[inbox]

    def refresh(self, instance_id: int) -> None:
        """Put the instance's newly ready tasks into their inboxes (what an inbox page shows after a step)."""
        for task in self.engine.ready_tasks(instance_id=instance_id):
            if task["id"] in self.seen:
                continue
            self.seen.add(task["id"])
            due = (task["due_at"] - self.start).total_seconds() if task["due_at"] else float("inf")
            self.pool(task["team"] or "default").put(
                Work(due, task["id"], task["id"], instance_id, task["bpmn_id"]))

    # -- processes ----------------------------------------------------------------------------------------------
    def officer(self, actor: str, shift, pool: Pool):
        env = self.env
        while True:
            on, change = shift.next_change((self.start.timestamp() + LOCAL_OFFSET_S + env.now) % 86400)
            if not on:
                yield env.timeout(change)
                continue
            wanted = pool.get(actor)
            yield wanted | env.timeout(change)
            if not wanted.triggered:
                pool.cancel(wanted)
                continue
            work: Work = wanted.value
            self._now()
            try:
                self.engine.claim(work.task_id, actor)
                self.counters.claims += 1
            except NotAllowed:    # four eyes: someone else of the team must do it
                work.refused.add(actor)
                pool.put(work)
                continue
            except JingzhiError:  # gone meanwhile (a timer or a sensor clear ended it)
                continue
            yield env.timeout(60 * draw_minutes(self.rng, self.params["handling"], work.bpmn_id))
            self._complete(work, actor)

    def _complete(self, work: Work, actor: str) -> None:
        self._now()
        truth = self.truth.get(work.instance_id, "real")
        data = form_data(self.params["forms"], self.params["outcomes"], self.rng, work.bpmn_id, truth)
        try:
            try:
                self.engine.complete_task(work.task_id, data, actor=actor)
            except FormInvalid:   # a varied decision the form does not accept here: the happy path
                self.engine.complete_task(work.task_id, form_data(self.params["forms"], {"verify_fails": 0,
                                          "not_complied": 0}, self.rng, work.bpmn_id, truth), actor=actor)
        except JingzhiError as err:   # ended by a timer or a clear while the officer worked on it
            kind = type(err).__name__
            self.counters.refused[kind] = self.counters.refused.get(kind, 0) + 1
            return
        self.counters.completions += 1
        self.refresh(work.instance_id)

    def feeder(self):
        """Replay the stream: sensor messages in per-minute batches, reports one by one."""
        env, batch_s = self.env, self.params["sensor_batch_s"]["value"]
        events, n = self.stream.events, 0
        while n < len(events):
            event = events[n]
            if event.at > env.now:
                yield env.timeout(event.at - env.now)
            if event.kind == "report":
                self._report(event)
                n += 1
                continue
            window = (int(event.at // batch_s) + 1) * batch_s
            batch = []
            while n < len(events) and events[n].kind == "sensor" and events[n].at < window:
                batch.append(events[n])
                n += 1
            if batch[-1].at > env.now:
                yield env.timeout(batch[-1].at - env.now)
            self._sensors(batch)

    def _report(self, event) -> None:
        self._now()
        self.counters.reports += 1
        key = f"sim-{self.stream.seed}-{event.seq}"
        try:
            instance_id = self.engine.start(MAIN_PROCESS, event.body, business_key=key,
                                            actor=f"open311:sim-{event.body['channel']}")
        except JingzhiError as err:
            log.warning("report %s did not start: %s", key, err.message)
            return
        self.truth[instance_id] = event.truth
        self.refresh(instance_id)

    def _sensors(self, batch) -> None:
        self._now()
        self.counters.sensor_messages += len(batch)
        result = accept_batch(self.engine, [Incoming(e.body, "sim") for e in batch])
        truth_by_device = {}
        for e in batch:
            if e.body["event"] == "alarm" and e.truth in ("real", "false"):
                truth_by_device[e.body["device_id"]] = e.truth
        if not (result.new_alarms or result.pending_clears):
            return
        devices = self.engine.alarms.devices_of(result.new_alarms) if result.new_alarms else {}
        # one after-commit for the batch, as the ingester hands it over: its new alarms' cases start in batches
        done = self.engine.alarms.after_commit(result.new_alarms, result.pending_clears)
        for alarm_id, instance_id in done.started.items():
            self.alarm_instances[alarm_id] = instance_id
            self.truth[instance_id] = truth_by_device.get(devices.get(alarm_id), "real")
            self.refresh(instance_id)
        self._delivered(done.cleared)

    def _delivered(self, alarm_ids: list[int]) -> None:
        for alarm_id in alarm_ids:
            if alarm_id in self.alarm_instances:
                self.refresh(self.alarm_instances[alarm_id])

    def ticker_process(self):
        """The ticker's looks on the virtual clock. Only the simulation changes the database, so a look is skipped
        when nothing happened since one that found nothing to do: no engine step and no sensor message since, and
        (for timers) the earliest due timer still ahead. A look can then only find what the skipped one would have
        found: nothing. The simulated month's nights and drain days are mostly such looks."""
        tick_s, sweep_s = self.params["ticker"]["tick_s"], self.params["ticker"]["sweep_s"]
        next_sweep = 0.0
        quiet_timers = quiet_sweep = None     # the activity seen at the last look that found nothing to do
        next_due = None
        while True:
            now = self._now()
            activity = (self.counters.engine_steps, self.counters.sensor_messages)
            if activity != quiet_timers or (next_due is not None and now > next_due):
                handed = self.ticker.tick_due()
                for instance_id in handed:
                    self.refresh(instance_id)
                quiet_timers = None
                if not handed:
                    next_due = self.engine.next_timer_due()
                    quiet_timers = (self.counters.engine_steps, self.counters.sensor_messages)
            if self.env.now >= next_sweep:
                next_sweep = self.env.now + sweep_s
                activity = (self.counters.engine_steps, self.counters.sensor_messages)
                if activity != quiet_sweep:
                    delivered = self.engine.alarms.deliver_clears()
                    self._delivered(delivered)
                    closed = self.engine.alarms.close_ended()
                    quiet_sweep = None if delivered or closed else \
                        (self.counters.engine_steps, self.counters.sensor_messages)
            yield self.env.timeout(tick_s)

    def watcher(self, started: float):
        day = 0
        while True:
            yield self.env.timeout(86400)
            day += 1
            if self.env.now >= self.end_s and self.snapshot is None:
                self.take_snapshot()
            if self.progress:
                waiting = sum(len(p) for p in self.pools.values())
                self.progress(f"day {day}/{self.stream.days + self.drain_s / 86400:g}: "
                              f"{self.counters.reports} reports, {self.counters.sensor_messages} sensor messages, "
                              f"{self.counters.completions} tasks done, {waiting} waiting, "
                              f"{self.counters.engine_steps} engine steps, {time.monotonic() - started:.0f} s")

    def take_snapshot(self) -> None:
        """Per-inbox backlog and overdue at the end of the arrivals, from the engine's inbox table."""
        now = self._now()
        self.snapshot = self.engine.indicators.teams(self.start, now, now)

    def run(self) -> None:
        started = time.monotonic()
        self._now()
        self.env.process(self.feeder())
        self.env.process(self.ticker_process())
        self.env.process(self.watcher(started))
        self.env.run(until=self.end_s + self.drain_s + 1)
        if self.snapshot is None:
            self.take_snapshot()
        self._now()


def stderr_progress(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
