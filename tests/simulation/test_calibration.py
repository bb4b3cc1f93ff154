"""Calibration: the whole simulated district with the documented staffing (simulation/calibration.json) lands within
stated bands of the source's figures, read from the engine's own tables.

The window is honest about its size: a whole month (`python -m jingzhi sim --days 30 --seed 1`) was 55,636 engine
steps; measured again on a machine shared with other engineers' runs it took 516 s of CPU (893 s wall) before the
simulator's speed work (statements built once, quiet ticker looks skipped, SQLite mmap) and 381 s of CPU (501 s wall)
after, and ended both times (while the simulation still started each alarm's case in a transaction of its own)
`cases=11534 on_time_closure_rate=92.86 avg_handling_hours=15.16 cases_per_officer_per_day=28.86
rework_rate=3.39`, inside the bands below. Far too long for the suite, so this runs ONE day of the district's full traffic (every device type and channel at its documented
rate, all teams at their documented staffing, about 360 cases) and then lets the officers finish the open cases for
ten simulated days. One day has every hour of the daily cycles and every shift, which is what the on-time rate and the
cases per officer per day depend on; it does not have a month's slow build-up of multi-day cases.

Bands:
- on-time closure rate 94.21% +- 5 points;
- cases per officer per day 24.55 +- 20%;
- average handling time: at most the source's 3 days (72 h). The source's 2-3 days is NOT reached: the district's
  playbooks (bpmn/) give most scenarios limits of minutes to a day (a door left open 2 h, a vehicle on the fire lane
  30 min), so with 94% of cases on time the average case closes within hours; only group renting (a 7-day notice)
  and three-in-one premises (a 3-day order) take days. The simulated average (about 15 h) is below the source's;
  matching it would take a case mix the source does not describe.
"""
from __future__ import annotations

from pathlib import Path

from engine import Config
from jingzhi.cli import read_deployment
from simulation.run import load_params, make_stream, simulate

SOURCE_ON_TIME, SOURCE_PER_OFFICER, SOURCE_MAX_HOURS = 94.21, 24.55, 72


def test_a_simulated_day_of_the_district_lands_near_the_sources_figures(tmp_path):
    params = load_params()
    stream = make_stream(params, 1.0, 2026)
    config = Config()
    result = simulate(f"sqlite:///{tmp_path / 'calibration.db'}", config, read_deployment(Path(config.bpmn_dir)),
                      params, stream, 2026, drain_days=10)
    figures = result.indicators
    print(result.line())
    assert figures["cases"] > 250
    assert abs(figures["on_time_closure_rate"] - SOURCE_ON_TIME) <= 5, result.line()
    assert abs(figures["cases_per_officer_per_day"] - SOURCE_PER_OFFICER) <= 0.2 * SOURCE_PER_OFFICER, result.line()
    assert figures["avg_handling_hours"] <= SOURCE_MAX_HOURS, result.line()
    assert 0 < figures["rework_rate"] < 10, result.line()
