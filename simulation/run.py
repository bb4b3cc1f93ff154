"""`jingzhi sim`: set up a database like a real install, replay a simulated period through it, read the indicators.

:func:`simulate` is what the command and the what-if call: a fresh database (migrated, roster and the district's
devices loaded, the diagrams deployed), a :class:`simulation.model.Simulation` on it, and the result read from the
engine's own tables by :func:`engine.indicators.indicators` - the same read the dashboard makes.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from engine import DISTRICT_TZ, Config, Engine, clock
from sensors.district import devices

from .model import Simulation
from .stream import Stream, generate

DATA_FILE = Path(__file__).with_name("calibration.json")


def load_params(path: Path | None = None) -> dict:
    return json.loads((path or DATA_FILE).read_text(encoding="utf-8"))


def period_start(params: dict) -> datetime:
    day = datetime.fromisoformat(params["start"]["date"])
    return day.replace(tzinfo=DISTRICT_TZ)


@dataclass
class Result:
    indicators: dict
    teams: dict                 # per inbox at the end of the arrivals (engine.indicators.team_indicators)
    engine_steps: int
    completions: int
    elapsed_s: float
    database_url: str
    counts: dict = field(default_factory=dict)

    def line(self) -> str:
        i = self.indicators
        return (f"cases={i['cases']} on_time_closure_rate={_fmt(i['on_time_closure_rate'])} "
                f"avg_handling_hours={_fmt(i['avg_handling_hours'])} "
                f"cases_per_officer_per_day={_fmt(i['cases_per_officer_per_day'])} "
                f"rework_rate={_fmt(i['rework_rate'])} elapsed_s={self.elapsed_s:.1f}")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:g}"


def prepare(database_url: str, config: Config, bpmn_files: dict[str, bytes],
            device_rows: list[dict] | None = None) -> Engine:
    """A migrated database with the roster, the devices (the district's, or ``device_rows``: those of a recorded
    stream) and the diagrams; refuses one with instances."""
    engine = Engine(Config(**{**config.__dict__, "database_url": database_url, "redis_url": None}))
    engine.upgrade_schema()
    if engine.has_instances():
        engine.dispose()
        raise SystemExit(f"{database_url} already holds cases: simulate into an empty database")
    roster = json.loads(Path(config.roster_file).read_text(encoding="utf-8"))
    engine.people.seed_teams(roster["teams"])
    engine.devices.import_rows(device_rows or devices(7))
    engine.deploy(bpmn_files, deployed_by="simulation", roster=engine.people.roster())
    return engine


def simulate(database_url: str, config: Config, bpmn_files: dict[str, bytes], params: dict, stream: Stream,
             seed: int, drain_days: float = 0.0, staffing_scale: dict[str, float] | None = None,
             progress=None) -> Result:
    started = time.monotonic()
    # the virtual clock is this thread's only: a what-if may run in a web process's background thread
    with clock.in_this_thread(clock.ManualClock(stream.start)) as sim_clock:
        engine = prepare(database_url, config, bpmn_files, stream.devices)
        try:
            simulation = Simulation(engine, params, stream, seed, drain_days, staffing_scale, progress)
            simulation.clock = sim_clock
            simulation.run()
            end = stream.start + timedelta(days=stream.days)
            result = engine.indicators.district(stream.start, end, sim_clock.now())
        finally:
            engine.dispose()
    c = simulation.counters
    return Result(result, simulation.snapshot or {}, c.engine_steps, c.completions, time.monotonic() - started,
                  database_url, {"reports": c.reports, "sensor_messages": c.sensor_messages, "claims": c.claims,
                                 "refused": c.refused})


def make_stream(params: dict, days: float, seed: int, scale: float = 1.0,
                scenarios: set[str] | None = None) -> Stream:
    return generate(params, days, seed, period_start(params), scale, scenarios)
