"""`jingzhi whatif`: the same recorded stream of alerts and reports through two setups, side by side.

A setup is the diagrams it deploys (a process version or another routing table) and its staffing plan (officers per
team scaled). For each seed the stream is generated once (or read from a recorded file) and replayed into a fresh
database per setup; officers draw their handling times from the same seed in both. The comparison reads each run's
indicators and per-team inbox figures from that run's own tables and reports A, B and B - A, with the mean and spread
(sample standard deviation) of the differences over the seeds.
"""
from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from engine import Config

from .run import Result, make_stream, simulate
from .stream import Stream

log = logging.getLogger(__name__)

#: The indicators compared, as named in the result line.
INDICATORS = ("cases", "on_time_closure_rate", "avg_handling_hours", "cases_per_officer_per_day", "rework_rate")
#: The per-inbox figures compared.
TEAM_FIGURES = ("on_time_rate", "backlog", "overdue")
#: The per-scenario figures compared: cases opened, and cases past their deadline and not closed at the end.
SCENARIO_FIGURES = ("cases", "overdue")
#: Which way is better for each figure (+1: more is better, -1: less is better), for colouring differences.
BETTER = {"cases": 0, "on_time_closure_rate": 1, "avg_handling_hours": -1, "cases_per_officer_per_day": 1,
          "rework_rate": -1, "on_time_rate": 1, "backlog": -1, "overdue": -1}


@dataclass
class Setup:
    label: str
    files: dict[str, bytes]
    staffing_scale: dict[str, float] = field(default_factory=dict)


def with_files(base: dict[str, bytes], replacements: dict[str, bytes]) -> dict[str, bytes]:
    """The district's deployment with some of its files replaced or added (another routing table, a new version)."""
    return {**base, **replacements}


def _spread(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return round(statistics.fmean(values), 2), round(statistics.stdev(values), 2) if len(values) > 1 else 0.0


def _diff(a, b):
    return None if a is None or b is None else round(b - a, 2)


def compare(config: Config, params: dict, setups: tuple[Setup, Setup], seeds: list[int], days: float,
            workdir: Path, scale: float = 1.0, scenarios: set[str] | None = None, drain_days: float = 0.0,
            stream: Stream | None = None, progress=None, step=None) -> dict:
    """Run both setups on each seed's stream; returns the runs and the comparison as plain data. ``progress`` gets
    a line per run; ``step(done, total, line)`` is told after each run (the designer's page shows it)."""
    from .cli import fresh_sqlite

    runs: dict[int, dict[str, Result]] = {}
    total, done = len(seeds) * len(setups), 0
    for seed in seeds:
        this = stream or make_stream(params, days, seed, scale, scenarios)
        runs[seed] = {}
        for n, setup in enumerate(setups):
            url = fresh_sqlite(workdir / f"whatif-{seed}-{'ab'[n]}.db")
            daily = None
            if step:   # each simulated day of this run, as the run's current line
                def daily(line, _done=done, _where=f"seed {seed} {setup.label}"):
                    step(_done, total, f"{_where}: {line}")
            result = simulate(url, config, setup.files, params, this, seed, drain_days, setup.staffing_scale,
                              progress=daily)
            runs[seed][setup.label] = result
            done += 1
            if progress:
                progress(f"seed {seed} {setup.label}: {result.line()}")
            if step:
                step(done, total, f"seed {seed} {setup.label}: {result.line()}")
    a, b = (s.label for s in setups)
    indicators = {}
    for name in INDICATORS:
        per_seed = [(runs[s][a].indicators[name], runs[s][b].indicators[name]) for s in seeds]
        diffs = [_diff(x, y) for x, y in per_seed]
        mean, spread = _spread(diffs)
        indicators[name] = {"a": _spread([x for x, _ in per_seed])[0], "b": _spread([y for _, y in per_seed])[0],
                            "diff": mean, "spread": spread, "per_seed": per_seed}
    teams = sorted({t for s in seeds for label in (a, b) for t in runs[s][label].teams})
    per_team = {}
    for team in teams:
        row = {}
        for figure in TEAM_FIGURES:
            pairs = [((runs[s][a].teams.get(team) or {}).get(figure), (runs[s][b].teams.get(team) or {}).get(figure))
                     for s in seeds]
            mean, spread = _spread([_diff(x, y) for x, y in pairs])
            row[figure] = {"a": _spread([x for x, _ in pairs])[0], "b": _spread([y for _, y in pairs])[0],
                           "diff": mean, "spread": spread}
        per_team[team] = row
    return {"setups": [a, b], "seeds": seeds, "days": days, "indicators": indicators, "teams": per_team,
            "scenarios": by_scenario(runs, seeds, a, b),
            "lines": {s: {label: runs[s][label].line() for label in (a, b)} for s in seeds},
            "replayed": {s: {label: {k: runs[s][label].counts[k] for k in ("reports", "sensor_messages")}
                             for label in (a, b)} for s in seeds}}


def _overdue_by_scenario(result: Result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in result.indicators.get("overdue") or []:
        counts[case["scenario"] or "-"] = counts.get(case["scenario"] or "-", 0) + 1
    return counts


def by_scenario(runs: dict[int, dict[str, Result]], seeds: list[int], a: str, b: str) -> dict:
    """Per scenario: cases opened and cases overdue (past their deadline, not closed) at the end of each run."""
    figures = {seed: {label: {"cases": runs[seed][label].indicators.get("by_scenario") or {},
                              "overdue": _overdue_by_scenario(runs[seed][label])} for label in (a, b)}
               for seed in seeds}
    scenarios = sorted({name for seed in seeds for label in (a, b) for kind in ("cases", "overdue")
                        for name in figures[seed][label][kind]})
    out = {}
    for name in scenarios:
        row = {}
        for figure in SCENARIO_FIGURES:
            pairs = [(figures[s][a][figure].get(name, 0), figures[s][b][figure].get(name, 0)) for s in seeds]
            mean, spread = _spread([_diff(x, y) for x, y in pairs])
            row[figure] = {"a": _spread([x for x, _ in pairs])[0], "b": _spread([y for _, y in pairs])[0],
                           "diff": mean, "spread": spread}
        out[name] = row
    return out


def render(report: dict) -> str:
    """The comparison as text: indicators, then the inboxes whose figures differ."""
    a, b = report["setups"]
    out = [f"what-if over seeds {', '.join(map(str, report['seeds']))} ({report['days']:g} days): A = {a}, B = {b}",
           f"{'indicator':<28}{'A':>10}{'B':>10}{'B-A':>10}{'spread':>10}"]
    for name, row in report["indicators"].items():
        out.append(f"{name:<28}{_cell(row['a'])}{_cell(row['b'])}{_cell(row['diff'])}{_cell(row['spread'])}")
    out.append(f"{'inbox':<28}{'on-time A':>10}{'on-time B':>10}{'backlog A':>10}{'backlog B':>10}"
               f"{'overdue A':>10}{'overdue B':>10}")
    for team, row in report["teams"].items():
        out.append(f"{team:<28}{_cell(row['on_time_rate']['a'])}{_cell(row['on_time_rate']['b'])}"
                   f"{_cell(row['backlog']['a'])}{_cell(row['backlog']['b'])}"
                   f"{_cell(row['overdue']['a'])}{_cell(row['overdue']['b'])}")
    out.append(f"{'scenario':<28}{'cases A':>10}{'cases B':>10}{'overdue A':>10}{'overdue B':>10}")
    for name, row in report["scenarios"].items():
        out.append(f"{name:<28}{_cell(row['cases']['a'])}{_cell(row['cases']['b'])}"
                   f"{_cell(row['overdue']['a'])}{_cell(row['overdue']['b'])}")
    return "\n".join(out)


def _cell(value) -> str:
    return f"{'-' if value is None else f'{value:g}':>10}"


def parse_staffing(value: str | None) -> dict[str, float]:
    """``team=0.5,other=2`` -> {"team": 0.5, "other": 2.0}."""
    plan = {}
    for item in (value or "").split(","):
        if item.strip():
            team, _, factor = item.partition("=")
            plan[team.strip()] = float(factor)
    return plan


def cmd_whatif(config: Config, args) -> int:
    import json
    import sys

    from jingzhi.cli import read_deployment

    from .cli import scenarios_arg
    from .model import stderr_progress
    from .run import load_params
    from .stream import load as load_stream

    for noisy in ("engine", "alembic", "sensors"):   # a run logs every refused step; the result says what counts
        logging.getLogger(noisy).setLevel(logging.ERROR)
    params = load_params(Path(args.params) if args.params else None)
    base = read_deployment(Path(config.bpmn_dir))
    files_a = with_files(base, read_deployment(Path(args.bpmn_a))) if args.bpmn_a else base
    files_b = with_files(base, read_deployment(Path(args.bpmn_b))) if args.bpmn_b else base
    if args.routing_b:
        files_b = with_files(files_b, {"routing.dmn": Path(args.routing_b).read_bytes()})
    setups = (Setup(args.label_a, files_a, parse_staffing(args.staff_a)),
              Setup(args.label_b, files_b, parse_staffing(args.staff_b)))
    seeds = [int(s) for s in args.seeds.split(",")]
    stream = load_stream(Path(args.stream)) if args.stream else None
    if args.from_database:
        from .cli import recorded_stream

        stream = recorded_stream(args.from_database, config, args.since, args.days, heartbeats=False)
    report = compare(config, params, setups, seeds, stream.days if stream else args.days, Path(args.workdir),
                     args.scale, scenarios_arg(args.scenarios), args.drain_days, stream,
                     None if args.quiet else stderr_progress)
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(render(report))
    sys.stdout.flush()
    return 0


def add_command(commands) -> None:
    whatif = commands.add_parser("whatif", help="the same simulated alerts and reports through two setups")
    whatif.add_argument("--days", type=float, default=7)
    whatif.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default 1,2,3)")
    whatif.add_argument("--scale", type=float, default=1.0)
    whatif.add_argument("--scenarios", help="comma-separated scenarios: only their alarms and reports")
    whatif.add_argument("--drain-days", type=float, default=0,
                        help="days after the last arrival for officers to finish (default 0: backlog as it stands)")
    whatif.add_argument("--stream", help="a recorded stream (jingzhi sim --record) instead of generated ones")
    whatif.add_argument("--from-database", metavar="URL",
                        help="replay what this database recorded in the period (--since, --days) instead")
    whatif.add_argument("--since", help="with --from-database: first day (2026-03-01) or time with zone; "
                                        "default: the --days up to now")
    whatif.add_argument("--label-a", default="current")
    whatif.add_argument("--label-b", default="proposed")
    whatif.add_argument("--bpmn-a", help="files deployed over the district's diagrams in setup A")
    whatif.add_argument("--bpmn-b", help="files deployed over the district's diagrams in setup B (a new version)")
    whatif.add_argument("--routing-b", help="a routing table (routing.dmn) for setup B")
    whatif.add_argument("--staff-a", help="staffing plan of A: TEAM=FACTOR,... (officers scaled)")
    whatif.add_argument("--staff-b", help="staffing plan of B: TEAM=FACTOR,... e.g. urban_management=0.5")
    whatif.add_argument("--params", help="calibration file (default: simulation/calibration.json)")
    whatif.add_argument("--workdir", default="var/whatif", help="where the runs' SQLite files go")
    whatif.add_argument("--json", help="also write the comparison as JSON to this file")
    whatif.add_argument("--quiet", action="store_true")
    whatif.set_defaults(func=cmd_whatif)
