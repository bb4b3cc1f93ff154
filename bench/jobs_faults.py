"""The RQ worker drill of ``python -m bench.faults``: workers killed with SIGKILL in the middle of their jobs.

On a Redis of its own (a free port, no persistence) and the given PostgreSQL database: ``jobs`` task completions of
the ``inspection`` test diagram are queued through :class:`engine.jobs.Jobs` and run by two ``jingzhi worker``
processes. To kill a worker while it is inside a job, not between jobs, the drill holds the row lock of a few
chosen instances (``SELECT ... FOR UPDATE``, as the engine's own step does): the worker that takes such a job waits
inside the verb, and is killed there. The lock is then released and a new worker started. Afterwards every task
must be completed exactly once (one ``task.completed`` in the audit), no job may be left in the started registry,
and none in the failed registry.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "tests" / "engine" / "diagrams"
#: The jobs' time limit in the drill: a killed worker's job is taken up again after it plus the grace.
JOB_TIMEOUT_S = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


class RedisServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="jz-faults-redis-"))
        self.port = free_port()
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"

        def up():
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        _wait(up, 10, "redis-server to listen")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class JobsOutcome:
    jobs: int
    killed: int
    completed: int
    twice: int
    missing: int
    stranded: int
    failed: int
    seconds: float

    def line(self) -> str:
        return (f"rq-worker kill -9: jobs={self.jobs} workers_killed_mid_job={self.killed} "
                f"tasks_completed={self.completed} completed_twice={self.twice} missing={self.missing} "
                f"stranded={self.stranded} failed={self.failed} in {self.seconds:.1f} s")


def spawn_worker(database_url: str, redis_url: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "jingzhi.cli", "worker"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_worker_kill(database_url: str, jobs: int = 100, kills: int = 3, workers: int = 2,
                    timeout: float = 120.0) -> JobsOutcome:
    from redis import Redis
    from rq import Worker

    from engine import Config, Engine
    from engine.jobs import Jobs
    from engine.models import AuditEvent, HumanTask

    started = time.monotonic()
    engine = Engine(Config(database_url=database_url))
    engine.deploy({p.name: p.read_bytes() for p in (DIAGRAMS / "inspection.bpmn", DIAGRAMS / "register.schema.json")},
                  deployed_by="bench")
    instances = [engine.start("inspection", {"device_id": f"JOB-{n}"}) for n in range(jobs)]
    tasks = {}
    for instance_id in instances:
        [task] = engine.ready_tasks(instance_id=instance_id)
        tasks[task["id"]] = instance_id
    redis_server = RedisServer()
    redis = Redis.from_url(redis_server.url)
    queue = Jobs(engine, redis, job_timeout_s=JOB_TIMEOUT_S)
    db = create_engine(database_url)
    procs = [spawn_worker(database_url, redis_server.url) for _ in range(workers)]
    victims = {instances[(n + 1) * jobs // (kills + 1) - 1] for n in range(kills)}
    locks = {}
    killed = 0
    try:
        for instance_id in victims:     # held before the jobs are queued: the worker that takes one waits inside
            connection = db.connect()
            connection.begin()
            connection.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": instance_id})
            locks[instance_id] = connection
        job_of = {}
        for task_id, instance_id in tasks.items():
            job_of[instance_id] = queue.submit("complete_task", task_id=task_id, data={"valid": True},
                                               actor="bench").job_id
        while locks:
            waiting = {}
            for worker in Worker.all(connection=redis):
                job_id = worker.get_current_job_id()
                for instance_id in locks:
                    if job_id == job_of[instance_id]:
                        waiting[instance_id] = worker.pid
            if not waiting:
                if time.monotonic() - started > timeout:
                    raise RuntimeError("no worker reached a locked instance")
                time.sleep(0.05)
                continue
            for instance_id, pid in waiting.items():
                proc = next((p for p in procs if p.pid == pid), None)
                if proc is None:
                    continue
                proc.send_signal(signal.SIGKILL)     # inside the job: its verb waits for our lock
                proc.wait(10)
                killed += 1
                procs.remove(proc)
                locks.pop(instance_id).close()        # rolls back our transaction: the row is free again
                procs.append(spawn_worker(database_url, redis_server.url))
        all_jobs = list(job_of.values())

        def settled():
            # Jobs.pending queues a job abandoned past its lease again, as the ticker's look at its tick jobs does
            # (each worker's registry maintenance does it too, every JOB_MAINTENANCE_S)
            return not any([queue.pending(job_id) for job_id in all_jobs])
        try:
            _wait(settled, timeout, "every job to finish")
        except RuntimeError:
            pass
        stranded = len(queue.queue.started_job_registry.get_job_ids(cleanup=False))
        failed = len(queue.queue.failed_job_registry.get_job_ids())
        with db.connect() as c:
            done = Counter(c.scalars(select(AuditEvent.instance_id).where(  # one task per instance
                AuditEvent.kind == "task.completed", AuditEvent.instance_id.in_(instances))))
            completed = c.scalar(select(func.count()).select_from(HumanTask).where(
                HumanTask.id.in_(list(tasks)), HumanTask.status == "completed"))
    finally:
        for connection in locks.values():
            connection.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        redis.close()
        redis_server.close()
        db.dispose()
        engine.store.dispose()
    return JobsOutcome(jobs, killed, completed, sum(1 for n in done.values() if n > 1),
                       sum(1 for i in instances if i not in done), stranded, failed, time.monotonic() - started)
