"""`jingzhi sim`: a short simulation through the real engine is deterministic per seed, and its result line is the
engine's own indicators read from the tables it wrote (the simulator counts nothing that ends up in the line)."""
from __future__ import annotations

import re
from datetime import timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select, text, update

from engine import Config, Engine
from engine.models import Case
from jingzhi.cli import main, read_deployment
from simulation.run import load_params, make_stream, period_start, simulate

LINE = re.compile(r"^cases=(\d+) on_time_closure_rate=(\S+) avg_handling_hours=(\S+) cases_per_officer_per_day=(\S+) "
                  r"rework_rate=(\S+) elapsed_s=(\S+)$")
#: A small district: two playbooks' scenarios at a fifth of their traffic, half a day, a day to finish.
SHORT = ["--days", "0.5", "--scale", "0.4", "--scenarios", "street_trading,fire_lane,door_open", "--drain-days", "1"]


def case_rows(url: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT instance_id, business_key, scenario, channel, stage, opened_at, closed_at, rework_count "
            "FROM cases ORDER BY instance_id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def run_cli(capsys, *args) -> str:
    assert main(["sim", "--quiet", *args]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert LINE.match(lines[-1]), lines[-1]
    return lines[-1]


def test_a_short_simulation_is_deterministic_per_seed(tmp_path, capsys):
    first = run_cli(capsys, *SHORT, "--seed", "5", "--database", f"sqlite:///{tmp_path / 'a.db'}")
    second = run_cli(capsys, *SHORT, "--seed", "5", "--database", f"sqlite:///{tmp_path / 'b.db'}")
    other = run_cli(capsys, *SHORT, "--seed", "6", "--database", f"sqlite:///{tmp_path / 'c.db'}")
    without_time = lambda line: line.rsplit(" elapsed_s=", 1)[0]   # noqa: E731
    assert without_time(first) == without_time(second)
    rows = case_rows(f"sqlite:///{tmp_path / 'a.db'}")
    assert len(rows) >= 10 and rows == case_rows(f"sqlite:///{tmp_path / 'b.db'}")
    assert rows != case_rows(f"sqlite:///{tmp_path / 'c.db'}") and without_time(other) != without_time(first)
    # the line counts the cases opened in the half day of arrivals (a sensor alarming again after its case closed
    # opens one more in the day after)
    end = (period_start(load_params()) + timedelta(days=0.5)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert int(LINE.match(first).group(1)) == len([r for r in rows if str(r[5]) < end])


def test_the_result_is_the_engines_indicators_read_from_its_tables(database_url):
    """The line's figures are what engine.indicators reads from the tables the run wrote, on SQLite and PostgreSQL;
    change a row and the same read changes: nothing comes from the simulator's own counting."""
    params = load_params()
    stream = make_stream(params, 0.5, 11, scale=0.4, scenarios={"street_trading", "door_open"})
    config = Config(database_url=database_url)
    result = simulate(database_url, config, read_deployment(Path(config.bpmn_dir)), params, stream, 11, 1.0)
    start = period_start(params)
    end = start + timedelta(days=0.5)
    engine = Engine(config)
    try:
        read = engine.indicators.district(start, end, start + timedelta(days=1.5))
        assert {k: read[k] for k in ("cases", "on_time_closure_rate", "avg_handling_hours",
                                     "cases_per_officer_per_day", "rework_rate")} == \
               {k: result.indicators[k] for k in ("cases", "on_time_closure_rate", "avg_handling_hours",
                                                  "cases_per_officer_per_day", "rework_rate")}
        with engine.store.read() as connection:
            opened = connection.scalar(select(func.count()).select_from(Case).where(
                Case.opened_at >= start, Case.opened_at < end))
            assert opened == result.indicators["cases"] > 0
        assert result.indicators["closed"] > 0 and result.indicators["verified"] > 0
        # one closed case on time made late (the figure the step that completed a task past its due time keeps,
        # engine/case_figures.py): the same read now counts one case fewer on time
        with engine.store.begin() as connection:
            on_time = connection.scalars(select(Case.instance_id).where(
                Case.opened_at >= start, Case.opened_at < end, Case.resolved_at.is_not(None),
                Case.late.is_(False)).order_by(Case.instance_id).limit(1)).one()
            connection.execute(update(Case).where(Case.instance_id == on_time).values(late=True))
        again = engine.indicators.district(start, end, start + timedelta(days=1.5))
        assert again["closed_on_time"] == read["closed_on_time"] - 1
    finally:
        engine.store.dispose()
    assert result.engine_steps > result.indicators["cases"]
