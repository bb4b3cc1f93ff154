"""The ticker: the one owner of periodic work, in every install (compose, the embedded default, the demo).

Each look finds the instances whose next timer is due and has each one ticked: one indexed range query
(``next_timer_at <= now``), one look a second by default, so a timer fires within seconds of its due time without
polling every waiting instance (the spiff-arena approach that fired timers minutes to hours late). Every few seconds
it also runs the alarm sweep (:func:`engine.alarms.lifecycle.sweep`): devices gone silent, clears that arrived before their
case reached verification, alarms whose case ended, cases that failed to start. The sweep lived in the MQTT
ingester before, so installs that take alerts over HTTP (the embedded default, the demo) never delivered a held
clear: the case waited at verification for a person although the sensor had reported normal.
"""
from __future__ import annotations

import logging
import threading
import time

from . import clock, defaults
from .alarms import lifecycle
from .exceptions import InstanceFailed, JingzhiError
from .jobs import Jobs

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, jobs: Jobs, interval_s: float = defaults.TICK_INTERVAL_S, batch: int = defaults.TICK_BATCH,
                 sweep_interval_s: float = defaults.SWEEP_INTERVAL_S, periodic=()):
        self.jobs = jobs
        #: work of the edges run at every look, each called with the jobs (the outbox delivery sweep of
        #: integrations.delivery, handed in by ``jingzhi ticker`` and the demo: the engine does not import the edges)
        self.periodic = tuple(periodic)
        self.interval_s = interval_s
        self.batch = batch
        self.sweep_interval_s = sweep_interval_s
        self._next_sweep = time.monotonic()

    def run_once(self) -> list[int]:
        """One look: tick every due instance once, then sweep alarms when the sweep is due.

        Returns the ids of the instances handed over (queued or ticked here).
        """
        handed = self.tick_due()
        for work in self.periodic:
            try:
                work(self.jobs)
            except Exception:  # a department system or mail server down must not stop the timers
                log.exception("periodic work %s failed", getattr(work, "__qualname__", work))
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_interval_s
            self.sweep()
        return handed

    def sweep(self) -> dict:
        """The alarm sweep; a failure is logged and retried at the next sweep, never ends the ticker."""
        try:
            return lifecycle.sweep(self.jobs.engine)
        except Exception:
            log.exception("alarm sweep failed")
            return {}

    def tick_due(self) -> list[int]:
        """Tick every due instance once; returns the ids handed over (queued or ticked here)."""
        handed = []
        for instance_id in self.jobs.engine.due_instances(clock.now(), self.batch):
            job_id = f"tick-{instance_id}"
            if self.jobs.pending(job_id):
                continue
            try:
                self.jobs.submit("tick", job_id=job_id, instance_id=instance_id)
            except InstanceFailed as failed:  # recorded on the instance by the engine; keep ticking the others
                log.warning("instance %s failed on its timer: %s", instance_id, failed.message)
            except JingzhiError as err:
                log.warning("tick of instance %s refused: %s", instance_id, err.message)
            except Exception:  # one instance's unexpected error must not keep the others' timers from firing
                log.exception("tick of instance %s failed", instance_id)
            handed.append(instance_id)
        return handed

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("ticker running every %.1f s", self.interval_s)
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the ticker; the next look retries
                log.exception("ticker look failed")
            stop.wait(self.interval_s)
