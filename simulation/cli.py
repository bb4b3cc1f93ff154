"""The `jingzhi sim` and `jingzhi whatif` commands (wired into jingzhi/cli.py)."""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from engine import DISTRICT_TZ, Config, Engine, clock

from .model import stderr_progress
from .run import load_params, make_stream, simulate
from .stream import load as load_stream
from .stream import save as save_stream

DEFAULT_DATABASE = "var/sim-{seed}.db"


def fresh_sqlite(path: Path) -> str:
    """A SQLite URL for ``path``, its old file (and WAL files) removed: a simulation writes a new database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def database_for(url: str | None, seed: int) -> str:
    if url is None:
        return fresh_sqlite(Path(DEFAULT_DATABASE.format(seed=seed)))
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return fresh_sqlite(Path(parsed.database))
    return url


def scenarios_arg(value: str | None) -> set[str] | None:
    return {s.strip() for s in value.split(",") if s.strip()} if value else None


def cmd_sim(config: Config, args) -> int:
    from jingzhi.cli import read_deployment

    for noisy in ("engine", "alembic", "sensors"):   # a run logs every refused step; the result says what counts
        logging.getLogger(noisy).setLevel(logging.ERROR)
    params = load_params(Path(args.params) if args.params else None)
    if args.stream:
        stream = load_stream(Path(args.stream))
    else:
        stream = make_stream(params, args.days, args.seed, args.scale, scenarios_arg(args.scenarios))
    if args.record:
        save_stream(stream, Path(args.record))
    url = database_for(args.database, args.seed)
    progress = None if args.quiet else stderr_progress
    if progress:
        progress(f"simulating {stream.days:g} day(s) from {stream.start.date()} (+{args.drain_days:g} to finish "
                 f"open cases), seed {args.seed}: {len(stream.events)} messages and reports into "
                 f"{make_url(url).render_as_string(hide_password=True)}")
    result = simulate(url, config, read_deployment(Path(args.bpmn or config.bpmn_dir)), params, stream, args.seed,
                      args.drain_days, progress=progress)
    if progress:
        progress(f"engine steps {result.engine_steps}, tasks completed {result.completions}, {result.counts}")
    print(result.line())
    sys.stdout.flush()
    return 0


def period(since: str | None, days: float, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) of ``--since`` (a date, midnight in the district, or a time with its zone) and ``--days``;
    without ``--since`` the ``days`` up to ``now``."""
    if not since:
        return now - timedelta(days=days), now
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise SystemExit(f"--since {since!r}: not a date such as 2026-03-01 or a time such as "
                         "2026-03-01T00:00:00+08:00") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=DISTRICT_TZ)
    return start, start + timedelta(days=days)


def recorded_stream(database_url: str, config: Config, since: str | None, days: float,
                    heartbeats: bool = True):
    """The stream a database recorded in the period (:mod:`simulation.recorded`)."""
    from .recorded import from_database

    engine = Engine(Config(**{**config.__dict__, "database_url": database_url, "redis_url": None}))
    try:
        if not engine.has_schema():
            raise SystemExit(f"{make_url(database_url).render_as_string(hide_password=True)} holds no Jingzhi tables")
        start, until = period(since, days, clock.now())
        return from_database(engine, start, until, heartbeats)
    finally:
        engine.dispose()


def cmd_export(config: Config, args) -> int:
    stream = recorded_stream(args.database or config.database_url, config, args.since, args.days,
                             not args.no_heartbeats)
    save_stream(stream, Path(args.out))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(stream.counts().items())) or "nothing"
    print(f"exported {stream.days:g} day(s) from {stream.start.isoformat()}: {len(stream.events)} events ({counts}), "
          f"{len(stream.devices or [])} devices -> {args.out}")
    return 0


def add_commands(commands) -> None:
    sim = commands.add_parser("sim", help="simulate days of the district through the engine on a virtual clock")
    sim.add_argument("--days", type=float, default=30, help="days of arrivals (default 30)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--database", help="database URL to write (default: a new SQLite file var/sim-SEED.db; "
                                        "an existing SQLite file is replaced; other databases must be empty)")
    sim.add_argument("--drain-days", type=float, default=10,
                     help="days after the last arrival in which officers finish open work (default 10: the longest "
                          "playbook, group renting, waits 7 days for a rectification)")
    sim.add_argument("--scale", type=float, default=1.0, help="multiply every arrival rate (default 1)")
    sim.add_argument("--scenarios", help="comma-separated scenarios: only their alarms and reports")
    sim.add_argument("--params", help="calibration file (default: simulation/calibration.json)")
    sim.add_argument("--bpmn", help="diagrams to deploy (default: the district's bpmn/)")
    sim.add_argument("--record", help="write the stream of alerts and reports to this JSON-lines file")
    sim.add_argument("--stream", help="replay this recorded stream instead of generating one")
    sim.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    sim.set_defaults(func=cmd_sim)
    export = sim.add_subparsers(dest="sim_command", required=False).add_parser(
        "export", help="write the alerts and reports a database recorded as a stream `sim --stream` replays")
    export.add_argument("--database", help="database URL to read (default: DATABASE_URL)")
    export.add_argument("--days", type=float, default=30, help="days of the period (default 30)")
    export.add_argument("--since", help="first day (2026-03-01, midnight in the district) or time with zone; "
                                        "default: the days up to now")
    export.add_argument("--no-heartbeats", action="store_true",
                        help="leave heartbeats out (the simulation never marks devices offline)")
    export.add_argument("--out", required=True, help="the JSON-lines file to write")
    export.set_defaults(func=cmd_export)
    from .whatif import add_command

    add_command(commands)
