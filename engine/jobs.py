"""Engine verbs as jobs: queued on RQ when ``REDIS_URL`` is set, run in-process otherwise.

Job functions are module-level and take ids and plain data, never objects, so a worker in another process can run
them. A verb that lost a race for its instance (ConcurrentUpdate, nothing written) is retried here, the same way
in-process and on a worker; every other failure is final and stays visible in RQ's failed registry.

A worker killed in the middle of a job (SIGKILL, a lost machine) leaves the job in RQ's started registry, in
neither the queue nor the failed registry; for the ticker, whose tick jobs have fixed ids, that instance's timers
would never fire again. So every job is enqueued with ``Retry(max=JOB_ABANDONED_RETRIES)``, which RQ 2 uses for
abandoned jobs only once we take it away from ordinary failures (:func:`run_verb` sets ``retries_left`` to 0 before
a failure leaves the job). A job's lease in the started registry is its time limit plus a grace (the worker class
below); past it, RQ's registry cleanup (``StartedJobRegistry.cleanup``: run by every worker every
``JOB_MAINTENANCE_S``, and by :meth:`Jobs.pending` when it finds a job still marked started) queues the job again.
The rerun takes effect once: the verb of the killed run either committed or wrote nothing (one transaction), and a
step is saved only onto the row version it was loaded from.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from . import defaults
from .api import Engine
from .config import Config
from .exceptions import ConcurrentUpdate

log = logging.getLogger(__name__)

QUEUE_NAME = "jingzhi"
#: The long jobs' queue is the verbs' queue name with this suffix (``jingzhi worker --long`` serves it).
LONG_SUFFIX = "-long"
#: The verbs a job may run: the ones that change instances. ``alarms.after_commit`` is the work after an alert batch
#: committed (the cases of its new alarms, its held clears: engine.alarms), a verb of the service object.
VERBS = frozenset({"start", "complete_task", "send_message", "tick", "cancel", "claim", "unclaim", "retry",
                   "alarms.after_commit"})

_worker_engine: Engine | None = None
_here = threading.local()
_background: queue.Queue | None = None
_background_lock = threading.Lock()


def use_engine(engine: Engine | None) -> None:
    """Give this process's jobs an engine (the worker command does; tests do)."""
    global _worker_engine
    _worker_engine = engine


def current_engine() -> Engine:
    """This process's engine for job functions of the edges (made from the environment on first use); in the
    background thread, the engine of the :class:`Jobs` that handed it the job."""
    return getattr(_here, "engine", None) or _engine()


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
    try:
        for attempt in range(defaults.JOB_RETRIES + 1):
            try:
                return _verb(engine, verb)(**kwargs)
            except ConcurrentUpdate:
                if attempt == defaults.JOB_RETRIES:
                    raise
                time.sleep(0.02 * 2 ** attempt)
    except BaseException:
        _final_failure()
        raise


def _verb(engine: Engine, verb: str):
    target = engine
    for name in verb.split("."):
        target = getattr(target, name)
    return target


def _final_failure() -> None:
    """A job whose verb failed is not rerun by RQ: its retries are for abandoned jobs only (see the module docs)."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        job.retries_left = 0


@dataclass(frozen=True)
class Submitted:
    """What became of a submitted verb: its result when it ran here, its job id when it was queued."""

    done: bool
    result: object = None
    job_id: str | None = None


class Jobs:
    def __init__(self, engine: Engine, redis=None, queue_name: str = QUEUE_NAME,
                 job_timeout_s: int = defaults.JOB_TIMEOUT_S):
        self.engine = engine
        self.redis = redis
        self.queue = None
        self.long_queue = None
        self._background: tuple[queue.SimpleQueue, threading.Thread] | None = None
        self._background_lock = threading.Lock()
        self.job_timeout_s = job_timeout_s
        if redis is not None:
            from rq import Queue

            self.queue = Queue(queue_name, connection=redis, default_timeout=job_timeout_s)
            # Long jobs (a what-if of hours) have a queue and workers of their own: on the verbs' queue one would
            # hold a worker while timer ticks and case starts wait behind it.
            self.long_queue = Queue(f"{queue_name}{LONG_SUFFIX}", connection=redis,
                                    default_timeout=defaults.BACKGROUND_JOB_TIMEOUT_S)

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
        from rq import Retry

        job = self.queue.enqueue(run_verb, verb, kwargs, job_id=job_id, job_timeout=self.job_timeout_s,
                                 result_ttl=3600, failure_ttl=7 * 24 * 3600,
                                 retry=Retry(max=defaults.JOB_ABANDONED_RETRIES))
        return Submitted(False, job_id=job.id)

    def background(self, verb: str, **kwargs) -> Submitted:
        """Submit a verb without waiting for it: queued on RQ like :meth:`submit`, or, in-process, run in order by
        one thread of this object, so the caller (the ingester's writer, between two batches) goes on at once.

        In-process, what is queued here dies with the process; the verbs handed over this way must leave their
        intent in the database first (the alarm rows a case start job reads, which the alarm sweep finishes).
        """
        if self.queue is not None:
            return self.submit(verb, **kwargs)
        if verb not in VERBS:
            raise ValueError(f"'{verb}' is not an engine verb that jobs run")
        with self._background_lock:
            if self._background is None:
                work: queue.SimpleQueue = queue.SimpleQueue()
                self._background = (work, threading.Thread(target=self._run_background, args=(work,),
                                                           name="jobs-background", daemon=True))
                self._background[1].start()
            self._background[0].put((verb, kwargs))
        return Submitted(False)

    def _run_background(self, work: queue.SimpleQueue) -> None:
        while (item := work.get()) is not None:
            verb, kwargs = item
            _here.engine = self.engine          # as _serve does: current_engine() in the verb is this one
            try:
                run_verb(verb, kwargs, self.engine)
            except BaseException:  # what it left undone is in the database, for the sweeps; the thread goes on
                log.exception("background job %s failed", verb)
            finally:
                _here.engine = None

    def close(self, timeout: float = 10.0) -> None:
        """Let the in-process background verbs queued so far finish, then end their thread (a clean stop)."""
        with self._background_lock:
            background, self._background = self._background, None
        if background is not None:
            background[0].put(None)
            background[1].join(timeout)

    def call(self, func, *args, job_id: str | None = None) -> Submitted:
        """Run an edge's module-level job function (outbox deliveries: integrations.delivery) the same way verbs
        run: queued on RQ when Redis is configured (once per ``job_id`` while it is waiting), here otherwise. Its
        own failures are its own business (the outbox counts attempts), so no RQ retry beyond abandoned jobs."""
        if self.queue is None:
            return Submitted(True, func(*args))
        if job_id is not None and self.pending(job_id):
            return Submitted(False, job_id=job_id)
        from rq import Retry

        job = self.queue.enqueue(func, *args, job_id=job_id, job_timeout=self.job_timeout_s, result_ttl=600,
                                 failure_ttl=24 * 3600, retry=Retry(max=defaults.JOB_ABANDONED_RETRIES))
        return Submitted(False, job_id=job.id)

    def long_running(self, func, *args, job_id: str | None = None,
                     timeout_s: int = defaults.BACKGROUND_JOB_TIMEOUT_S) -> Submitted:
        """Run a long job of an edge (minutes or hours: a what-if) away from the request that asked for it: queued
        on RQ's long queue when Redis is configured (``jingzhi worker --long``), else on this process's long-job
        thread (not :meth:`background`'s, so a what-if never holds up case starts), one job after the other in the
        order asked. The job reports its own progress and failure (it is told nothing here); ``func`` finds
        this engine with :func:`current_engine`."""
        if self.queue is None:
            _background_queue().put((self.engine, func, args))
            return Submitted(False, job_id=job_id)
        from rq import Retry

        job = self.long_queue.enqueue(func, *args, job_id=job_id, job_timeout=timeout_s, result_ttl=3600,
                                 failure_ttl=7 * 24 * 3600, retry=Retry(max=defaults.JOB_ABANDONED_RETRIES))
        return Submitted(False, job_id=job.id)

    def pending(self, job_id: str) -> bool:
        """Whether a queued job with this id is still waiting or running (so the ticker does not pile up ticks)."""
        if self.queue is None:
            return False
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            status = Job.fetch(job_id, connection=self.redis).get_status(refresh=True)
            if status == JobStatus.STARTED and self.recover_abandoned():
                status = Job.fetch(job_id, connection=self.redis).get_status(refresh=True)
        except NoSuchJobError:
            return False
        return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

    def recover_abandoned(self) -> int:
        """Queue again the jobs whose worker died in the middle of them (past their lease); returns how many.

        RQ's own cleanup does it: a job with retries left is queued again, one without goes to the failed registry.
        """
        if self.queue is None:
            return 0
        from rq.registry import StartedJobRegistry

        registry = StartedJobRegistry(queue=self.queue)
        expired = registry.get_expired_job_ids()
        if expired:
            log.warning("jobs abandoned by their worker, queued again: %s", ", ".join(expired))
            registry.cleanup()
        return len(expired)

    def work(self, burst: bool = False, long: bool = False) -> None:
        """Run an RQ worker on the verbs' queue (``jingzhi worker``), or with ``long`` on the long jobs' queue.

        A SimpleWorker runs jobs in its own process instead of forking one per job: the parsed-spec cache stays
        warm (a fork would parse every definition again for every job) and no pooled database connection is
        shared across a fork. Job time limits still apply (RQ's signal-based death penalty), and the sandbox
        bounds each script on its own.
        """
        use_engine(self.engine)
        _worker_class()([self.long_queue if long else self.queue], connection=self.redis, maintenance_interval=defaults.JOB_MAINTENANCE_S,
                        worker_ttl=defaults.WORKER_TTL_S).work(burst=burst, with_scheduler=False)


def _background_queue() -> queue.Queue:
    """The in-process jobs' queue, and its daemon thread (a daemon: a job never holds up the process's exit)."""
    global _background
    with _background_lock:
        if _background is None:
            _background = queue.Queue()
            threading.Thread(target=_serve, args=(_background,), daemon=True, name="jingzhi-background").start()
    return _background


def _serve(jobs: queue.Queue) -> None:
    while True:
        engine, func, args = jobs.get()
        _here.engine = engine
        try:
            func(*args)
        except BaseException:   # the job's own failure is its business; the thread serves the next one
            log.exception("background job %s%r failed", getattr(func, "__name__", func), args)
        finally:
            _here.engine = None


def _worker_class():
    from rq import SimpleWorker

    class Worker(SimpleWorker):
        """A SimpleWorker whose job lease is the job's time limit plus a grace.

        A SimpleWorker sends no heartbeat while its job runs, and RQ's lease (the shorter of the time left and 30 s,
        plus 60 s) would call a longer job abandoned while it still runs; the time limit plus a grace cannot, since
        the death penalty ends the job by then.
        """

        def get_heartbeat_ttl(self, job) -> int:
            timeout = job.timeout if job.timeout and job.timeout > 0 else defaults.JOB_TIMEOUT_S
            return int(timeout) + defaults.JOB_ABANDON_GRACE_S

    return Worker
