"""Pre-started sandbox worker processes that run diagram scripts under real CPU, memory and wall-clock limits.

RestrictedPython's deadline checks see only Python-level loops: one C call (``math.factorial(10**6)``,
``'%10000000000s' % 1``) runs as long and allocates as much as it likes. So every script and every expression that
is not trivially cheap (:func:`engine.sandbox.is_cheap`) runs in a worker process (:mod:`engine.sandbox_worker`)
that caps its own address space and CPU time before each request, and the caller kills it when the wall-clock
deadline passes. A killed or broken worker is replaced in the background. Callers never share a worker and hold
no lock while a script runs: when every worker is busy another is started (up to ``max_size``), so one runaway
holds up only its own step, for at most its time limit.

The pool is per process and started lazily, so a process that forks (gunicorn with preload) gets its own.
"""
from __future__ import annotations

import atexit
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time

from . import sandbox_codec as codec

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
#: Imports only the sandbox modules, not the engine package's ``__init__`` (SQLAlchemy and the rest).
WORKER_CODE = (
    "import sys, types\n"
    "package = types.ModuleType('engine'); package.__path__ = [sys.argv[1]]; sys.modules['engine'] = package\n"
    "from engine.sandbox_worker import main\n"
    "main()\n")
#: Seconds past a script's time limit before its worker is killed: the sandbox's own deadline check in Python
#: loops reports the overrun more precisely, so it gets the first chance.
KILL_GRACE_S = 0.5
#: Seconds a new worker may take to start (import the sandbox) before it counts as broken.
START_TIMEOUT_S = 60
#: Workers kept started and idle, and the most that may run at once.
POOL_SIZE = 2
POOL_MAX_SIZE = 16


class WorkerLost(Exception):
    """The worker did not answer: killed at the deadline, by its CPU limit, or it died."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Worker:
    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_CODE, _ENGINE_DIR], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None, close_fds=True, start_new_session=True, cwd="/")
        self.used = 0
        self.ready = False

    def call(self, request: dict, wait_s: float) -> dict:
        """Send one request, wait at most ``wait_s`` for the answer; raise WorkerLost otherwise."""
        if not self.ready:  # a script's deadline does not include the worker's start-up
            if self._read(_HEADER.size, time.monotonic() + START_TIMEOUT_S) != _HEADER.pack(0):
                self.kill()
                raise WorkerLost("died")
            self.ready = True
        data = codec.dumps(request)
        try:
            self.process.stdin.write(_HEADER.pack(len(data)) + data)
            self.process.stdin.flush()
        except OSError:
            raise WorkerLost("died") from None
        deadline = time.monotonic() + wait_s
        header = self._read(_HEADER.size, deadline)
        answer = codec.loads(self._read(_HEADER.unpack(header)[0], deadline))
        self.used += 1
        return answer

    def _read(self, size: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self.kill()
                raise WorkerLost("deadline")
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                code = self.process.wait()
                raise WorkerLost("cpu" if code == -signal.SIGXCPU else
                                 "memory" if code == -signal.SIGKILL or code == -signal.SIGSEGV else "died")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        try:
            self.process.kill()
        except OSError:
            pass
        self.process.wait()
        self.close()

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class Pool:
    def __init__(self, size: int = POOL_SIZE, max_size: int = POOL_MAX_SIZE):
        self.size = size
        self.max_size = max_size
        self._idle: list[Worker] = []
        self._count = 0
        self._condition = threading.Condition()
        self._pid = os.getpid()

    def run(self, request: dict, time_limit_s: float) -> dict:
        worker = self._take()
        try:
            answer = worker.call(request, time_limit_s + KILL_GRACE_S)
        except WorkerLost:
            self._lost(worker)
            raise
        except BaseException:
            self._lost(worker)  # interrupted mid-answer: its pipe may hold half a message
            raise
        if answer.get("kind") == "memory":  # a worker that ran out of memory may be in any state
            worker.kill()
            self._lost(worker)
        else:
            self._give_back(worker)
        return answer

    def _take(self) -> Worker:
        with self._condition:
            if self._pid != os.getpid():  # forked: the workers belong to the parent
                self._idle, self._count, self._pid = [], 0, os.getpid()
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._count -= 1
                if self._count < self.max_size:
                    self._count += 1
                    break
                self._condition.wait()
        try:
            return Worker()
        except BaseException:
            with self._condition:
                self._count -= 1
                self._condition.notify()
            raise

    def _give_back(self, worker: Worker) -> None:
        with self._condition:
            if self._pid == os.getpid():
                self._idle.append(worker)
            self._condition.notify()

    def _lost(self, worker: Worker) -> None:
        worker.kill()
        with self._condition:
            self._count -= 1
            self._condition.notify()
        threading.Thread(target=self._top_up, name="sandbox-replace", daemon=True).start()

    def _top_up(self) -> None:
        """Start workers until ``size`` are idle or starting, so the next script does not wait for a start-up."""
        while True:
            with self._condition:
                if self._count >= self.size or self._count >= self.max_size:
                    return
                self._count += 1
            try:
                worker = Worker()
            except Exception:
                with self._condition:
                    self._count -= 1
                log.exception("could not start a sandbox worker")
                return
            self._give_back(worker)

    def warm(self) -> None:
        """Start the idle workers now instead of at the first script."""
        self._top_up()

    def close(self) -> None:
        with self._condition:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            worker.close()
            try:
                worker.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                worker.kill()


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    """This process's pool of sandbox workers (shared by every engine in it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool()
            atexit.register(_pool.close)
        return _pool
