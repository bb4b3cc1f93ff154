"""The designer's what-if as a background job (``Jobs.long_running``: an RQ worker, or the web process's background
thread on embedded defaults): one stored run (``Engine.whatif_runs``) compared by :func:`simulation.whatif.compare`.

A is the file set in force in this database with the documented staffing; B is the same with the run's own files
(a process version, a draft, a routing table) and its staffing plan. The period is what this database recorded in
the days before the run was asked for (heartbeats left out: the simulation never marks a device offline, so they
would only cost time), or a generated stream of the district. Each setup runs into a fresh SQLite file in a
temporary directory, removed afterwards; only the comparison is kept, in the run's row.

A run that cannot be done fails with a reason a designer can act on, stored as JSON in the row's ``error``:
``{"kind": "deploy", "problems": [...]}`` (B's files would not deploy, with the engine's problem list), ``{"kind":
"nothing"}`` (the period recorded no alert or report), or ``{"kind": "failed", "detail": "..."}`` (anything else:
the exception's type and message, never a stack trace; the log has that).
"""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

from engine import current_engine
from engine.exceptions import DeploymentRejected, Message

from .recorded import last_days
from .run import load_params
from .whatif import Setup, compare

log = logging.getLogger(__name__)
#: What the comparison calls the two setups.
LABELS = ("A", "B")


def _files(texts: dict[str, str]) -> dict[str, bytes]:
    return {name: text.encode("utf-8") for name, text in texts.items()}


def plain_problem(problem: dict) -> dict:
    """A deploy problem as JSON: its fields as text, and its message's template and params as well when it is an
    engine Message, so the page can say it in the reader's language (``webui.whatif``)."""
    out = {key: str(value) if value is not None else None for key, value in problem.items()}
    if isinstance(problem.get("message"), Message):
        out["said"] = plain_message(problem["message"])
    return out


def plain_message(message: Message) -> dict:
    """An engine Message as JSON: its template and params, a param that is a Message itself the same way."""
    return {"template": message.template,
            "params": {key: plain_message(value) if isinstance(value, Message) else str(value)
                       for key, value in message.params.items()}}


def _problems(rejected: DeploymentRejected) -> list[dict]:
    return [plain_problem(dict(problem.__dict__)) for problem in rejected.problems]


def run_whatif(run_id: int) -> None:
    """Run the stored what-if ``run_id``: progress as each setup of each seed finishes, then the comparison."""
    engine = current_engine()
    runs = engine.whatif_runs
    run = runs.get(run_id)
    setup, period = run["setup"], run["setup"]["period"]
    seeds = [int(seed) for seed in setup["seeds"]]
    workdir = Path(tempfile.mkdtemp(prefix=f"jingzhi-whatif-{run_id}-"))
    try:
        runs.started(run_id, len(seeds) * len(LABELS))
        files_a = _files(runs.files_in_force())
        files_b = {**files_a, **_files(run["files"] or {})}
        problems = engine.designs.check(files_b)
        if problems:   # said now, not after A's first run of minutes
            raise _Refused(problems)
        stream, scenarios = None, None
        if period["source"] == "recorded":
            stream = last_days(engine, float(period["days"]), run["requested_at"], heartbeats=False)
            if not stream.events:
                runs.failed(run_id, json.dumps({"kind": "nothing"}))
                return
        else:
            scenarios = set(period.get("scenarios") or []) or None
        staffing = {team: float(factor) for team, factor in (setup.get("staffing") or {}).items()}
        report = compare(engine.config, load_params(), (Setup(LABELS[0], files_a), Setup(LABELS[1], files_b, staffing)),
                         seeds, float(period["days"]), workdir, float(period.get("scale") or 1.0), scenarios,
                         stream=stream, step=lambda done, total, line: runs.progressed(run_id, done, total, line))
        report["period"] = {"source": period["source"], "start": (stream.start.isoformat() if stream else None),
                            "events": len(stream.events) if stream else None,
                            "counts": stream.counts() if stream else None}
        runs.finished(run_id, report)
    except _Refused as refused:
        runs.failed(run_id, json.dumps({"kind": "deploy", "problems": refused.problems}, ensure_ascii=False))
    except DeploymentRejected as rejected:
        runs.failed(run_id, json.dumps({"kind": "deploy", "problems": _problems(rejected)}, ensure_ascii=False))
    except BaseException as err:   # anything at all: the run must not stay "running" for ever
        log.exception("what-if run %s failed", run_id)
        runs.failed(run_id, json.dumps({"kind": "failed", "detail": f"{type(err).__name__}: {err}"[:2000]},
                                       ensure_ascii=False))
        if not isinstance(err, Exception):
            raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _Refused(Exception):
    """B's files would not deploy, as the engine's check said before any simulation ran."""

    def __init__(self, problems: list[dict]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = [plain_problem(problem) for problem in problems]
