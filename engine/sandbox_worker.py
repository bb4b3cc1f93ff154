"""A sandbox worker process: runs one diagram script or expression at a time under operating-system limits.

Started by :mod:`engine.sandbox_pool` with ``python -c`` (see ``WORKER_CODE`` there), which imports only this module
and what :mod:`engine.sandbox` needs, not the whole engine, so a replacement starts in a fraction of a second.
Requests and answers are length-prefixed JSON on the worker's stdin and stdout (:mod:`engine.sandbox_codec`).

Before each request the worker lowers its own soft limits: ``RLIMIT_AS`` to the address space it had after start-up
plus the request's memory limit, so one C call allocating gigabytes fails with MemoryError instead of taking the
machine; ``RLIMIT_CPU`` to the CPU time it has used plus the request's time limit and a second, so a runaway the
engine somehow fails to kill is ended by SIGXCPU. The engine also kills the worker at its wall-clock deadline.
Everything a script raises, ``SystemExit``, ``KeyboardInterrupt`` and ``GeneratorExit`` included, becomes an answer.
"""
from __future__ import annotations

import math
import os
import resource
import signal
import struct
import traceback

from . import sandbox_codec as codec
from .exceptions import ScriptRefused
from .sandbox import SandboxEnvironment

_HEADER = struct.Struct(">I")


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _line(err: BaseException) -> int | None:
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == "<string>":
            line = frame.lineno
    return line


def handle(request: dict, base_memory: int) -> dict:
    limit = float(request["time_limit_s"])
    memory = int(request["memory_limit_bytes"])
    _, hard_as = resource.getrlimit(resource.RLIMIT_AS)
    soft_as = base_memory + memory
    resource.setrlimit(resource.RLIMIT_AS, (soft_as if hard_as == resource.RLIM_INFINITY else min(soft_as, hard_as),
                                            hard_as))
    _, hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    soft_cpu = math.ceil(_cpu_used() + limit) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft_cpu if hard_cpu == resource.RLIM_INFINITY
                                             else min(soft_cpu, hard_cpu), hard_cpu))
    environment = SandboxEnvironment(limit)
    context = request["context"]
    try:
        if request["mode"] == "eval":
            value = environment.evaluate_here(request["source"], context, request.get("external"))
            return {"ok": True, "value": codec.encode(value, "the expression's result")}
        environment.execute_here(request["source"], context, request.get("external"))
        return {"ok": True, "context": {k: codec.encode(v, k) for k, v in context.items()}}
    except MemoryError:
        return {"ok": False, "kind": "memory"}
    except ScriptRefused as refused:
        return {"ok": False, "kind": "refused", "message": refused.message, "line": _line(refused)}
    except codec.NotPlainData as err:
        return {"ok": False, "kind": "refused", "message": f"the script's {err}", "line": None}
    except Exception as err:  # noqa: BLE001 - whatever a script raises is its answer
        return {"ok": False, "kind": "error", "type": type(err).__name__,
                "builtin": type(err).__module__ == "builtins", "message": _message(err), "line": _line(err)}
    except BaseException as err:  # noqa: BLE001 - a diagram may raise SystemExit; it must not end this worker
        return {"ok": False, "kind": "base", "type": type(err).__name__, "message": _message(err),
                "line": _line(err)}


def _message(err: BaseException) -> str:
    try:
        return str(err)[:2000]
    except Exception:  # noqa: BLE001 - a script's own exception class with a broken __str__
        return type(err).__name__


def main() -> None:
    # Answers go to a private copy of stdout; anything written to fd 1 from here on goes to stderr instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine ends a worker by closing its pipe or killing it
    out = os.dup(1)
    os.dup2(2, 1)
    base_memory = _address_space()
    os.write(out, _HEADER.pack(0))  # ready: the engine's deadlines count from here, not from start-up
    while True:
        header = _read_exactly(0, _HEADER.size)
        if header is None:
            return  # the engine closed the pipe (or exited): so do we
        request = codec.loads(_read_exactly(0, _HEADER.unpack(header)[0]) or b"{}")
        try:
            answer = handle(request, base_memory)
            data = codec.dumps(answer)
        except MemoryError:
            data = codec.dumps({"ok": False, "kind": "memory"})
        finally:
            hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(out, view):]
