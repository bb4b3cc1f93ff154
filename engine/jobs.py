"""Engine verbs as jobs: queued on RQ when ``REDIS_URL`` is set, run in-process otherwise.

Job functions are module-level and take ids and plain data, never objects, so a worker in another process can run
them. A verb that lost a race for its instance (ConcurrentUpdate, nothing written) is retried here, the same way
in-process and on a worker; every other failure is final and stays visible in RQ's failed registry.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from . import defaults
from .api import Engine
from .config import Config
from .exceptions import ConcurrentUpdate

log = logging.getLogger(__name__)

QUEUE_NAME = "jingzhi"
#: The verbs a job may run: the ones that change instances.
VERBS = frozenset({"start", "complete_task", "send_message", "tick", "cancel", "claim", "unclaim", "retry"})

_worker_engine: Engine | None = None


def use_engine(engine: Engine | None) -> None:
    """Give this process's jobs an engine (the worker command does; tests do)."""
    global _worker_engine
    _worker_engine = engine


def _engine() -> Engine:
    global _worker_engine
    if _worker_engine is None:
        _worker_engine = Engine(Config.from_env())
    return _worker_engine


def run_verb(verb: str, kwargs: dict, engine: Engine | None = None):
    """The job function: one engine verb, retried when another worker advanced the instance first."""
    if verb not in VERBS:
        raise ValueError(f"'{verb}' is not an engine verb that jobs run")
    engine = engine or _engine()
    for attempt in range(defaults.JOB_RETRIES + 1):
        try:
            return getattr(engine, verb)(**kwargs)
        except ConcurrentUpdate:
            if attempt == defaults.JOB_RETRIES:
                raise
            time.sleep(0.02 * 2 ** attempt)


@dataclass(frozen=True)
class Submitted:
    """What became of a submitted verb: its result when it ran here, its job id when it was queued."""

    done: bool
    result: object = None
    job_id: str | None = None


class Jobs:
    def __init__(self, engine: Engine, redis=None):
        self.engine = engine
        self.redis = redis
        self.queue = None
        if redis is not None:
            from rq import Queue

            self.queue = Queue(QUEUE_NAME, connection=redis, default_timeout=defaults.JOB_TIMEOUT_S)

    @classmethod
    def for_config(cls, config: Config, engine: Engine) -> "Jobs":
        if not config.uses_jobs_queue:
            return cls(engine)
        from redis import Redis

        return cls(engine, Redis.from_url(config.redis_url))

    def submit(self, verb: str, job_id: str | None = None, **kwargs) -> Submitted:
        if verb not in VERBS:
            raise ValueError(f"'{verb}' is not an engine verb that jobs run")
        if self.queue is None:
            return Submitted(True, run_verb(verb, kwargs, self.engine))
        job = self.queue.enqueue(run_verb, verb, kwargs, job_id=job_id, job_timeout=defaults.JOB_TIMEOUT_S,
                                 result_ttl=3600, failure_ttl=7 * 24 * 3600)
        return Submitted(False, job_id=job.id)

    def pending(self, job_id: str) -> bool:
        """Whether a queued job with this id is still waiting or running (so the ticker does not pile up ticks)."""
        if self.queue is None:
            return False
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            status = Job.fetch(job_id, connection=self.redis).get_status(refresh=True)
        except NoSuchJobError:
            return False
        return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

    def work(self, burst: bool = False) -> None:
        """Run an RQ worker on this queue (``jingzhi worker``).

        A SimpleWorker runs jobs in its own process instead of forking one per job: the parsed-spec cache stays
        warm (a fork would parse every definition again for every job) and no pooled database connection is
        shared across a fork. Job time limits still apply (RQ's signal-based death penalty), and the sandbox
        bounds each script on its own.
        """
        from rq import SimpleWorker

        use_engine(self.engine)
        SimpleWorker([self.queue], connection=self.redis).work(burst=burst, with_scheduler=False)
