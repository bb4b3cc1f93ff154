"""Inbox API latency with a large database, on PostgreSQL: ``python -m bench.web``.

A team has 10,000 open tasks; the database holds 10,000 closed cases (small), then 1,000,000 (large). The closed
history is bulk-inserted in the server with ``INSERT ... SELECT generate_series`` (instances, cases and their
completed tasks); only the people rows go through the engine. Each database is timed on ``GET /api/v1/tasks?scope=team``
with a bearer token through the whole Flask app (routing, token lookup, the inbox query, JSON), after a warm-up.
The command centre is timed beside it on the same databases, holding the district's 9,165 devices (renamed
``DEV-<n>`` so the closed cases' device ids find them): the map data (``/command/map.json``: every device with its
state and the open cases), the heat map of the last 30 days (``/command/heat.json``) and a device page with its alert
history and cases (``/devices/<id>``), as a dispatcher with a bearer token.
The case search is timed the same way (``/api/v1/cases``: the newest page of all cases, part of an address, one
device's cases; each with its total count), and the audit search as an admin (``/api/v1/audit``: newest page, by
actor, by event type over 30 days, by case, by text; the large database holds one audit event per closed case).
The dashboard's indicators of the last 30 days (``/api/v1/kpis``, about 75,000 of the large database's cases) are
timed beside them.
Last line: ``inbox_p95_ms_small=<n> inbox_p95_ms_large=<n> map_p95_ms=<n> heat_p95_ms=<n> device_p95_ms=<n>
search_p95_ms=<n> audit_p95_ms=<n> kpis_p95_ms=<n>`` (the command centre's, the searches' and the indicators' figures
on the large database, all the case searches together, all the audit searches together).

Both databases are built side by side and measured in alternating rounds, so noise from the machine falls on both.
Environment: JINGZHI_BENCH_PG_URL, an admin URL of the server (default: the tests' server); the databases
``jingzhi_bench_web_small`` and ``_large`` on it (``--database`` names another prefix) are dropped and created.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text

from engine import Config, Engine, people
from engine.alarms.devices import import_devices
from sensors import district

from .common import percentile, recreate_database

ADMIN_URL = os.environ.get("JINGZHI_BENCH_PG_URL", os.environ.get(
    "JINGZHI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
DATABASE = "jingzhi_bench_web"
TEAM = "grid_patrol"
SCENARIOS = ["street_trading", "group_renting", "three_in_one", "fire_lane", "hydrant_pressure", "door_open",
             "cleaning_patrol", "illegal_dumping"]
ROOT = Path(__file__).resolve().parent.parent


def fresh_database(name: str) -> Engine:
    engine = Engine(Config(database_url=recreate_database(ADMIN_URL, name)))
    engine.store.upgrade()
    return engine


def _scenario_sql(column: str) -> str:
    return "(ARRAY[" + ",".join(f"'{s}'" for s in SCENARIOS) + f"])[1 + {column} % {len(SCENARIOS)}]"


#: A closed case's figures (engine/case_figures.py) as a step would have kept them: closed 5 hours after it opened,
#: never verified, late when its task (below) ended after its due time.
_LATE = ("now() - (i % 400) * interval '1 day' + interval '5 hours' > now() + (i % 2880) * interval '1 minute'")


def insert_instances(connection, first: int, count: int, closed: bool, teams: list[str]) -> None:
    """``count`` instances from id ``first``: closed ones with a case and a completed task, or open ones with a
    ready task in TEAM's inbox (due times spread over two days)."""
    status, stage = ("completed", "closed") if closed else ("running", "handle")
    params = {"first": first, "last": first + count - 1}
    connection.execute(text(f"""
        INSERT INTO process_instance (id, definition_id, business_key, status, state, serializer_version,
                                      row_version, next_timer_at, created_at, updated_at, ended_at, error)
        SELECT i, 1, 'bench/' || i, '{status}', '{{}}', '1.4', 1, NULL,
               now() - (i % 400) * interval '1 day', now(), {'now()' if closed else 'NULL'}, NULL
        FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i"""), params)
    connection.execute(text(f"""
        INSERT INTO cases (id, instance_id, business_key, process_id, scenario, channel, device_id, address,
                           compound, lat, lon, severity, urgent, stage, stage_times, sla_due_at, rework_count,
                           outcome, opened_at, closed_at, resolved_at, handling_s, verified, late)
        SELECT i, i, 'bench/' || i, 'closed_loop', {_scenario_sql('i')},
               (ARRAY['sensor','patrol','hotline','video','resident'])[1 + i % 5], 'DEV-' || (i % 9165), '广中路 ' || (i % 3000) || ' 号',
               '小区' || (i % 137), 31.27, 121.48, 'medium', false, '{stage}', '{{}}',
               {'NULL' if closed else "now() + (i % 2880) * interval '1 minute'"}, 0,
               {"'done'" if closed else 'NULL'}, now() - (i % 400) * interval '1 day',
               {"now() - (i % 400) * interval '1 day' + interval '5 hours'" if closed else 'NULL'},
               {f"now() - (i % 400) * interval '1 day' + interval '5 hours', 18000, false, {_LATE}" if closed
                else 'NULL, NULL, false, false'}
        FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i"""), params)
    if closed:   # one audit event per closed case, its detail as the engine writes JSON (CJK as \u escapes)
        connection.execute(text(r"""
            INSERT INTO audit_event (instance_id, at, actor, kind, detail)
            SELECT i, now() - (i % 400) * interval '1 day' + interval '5 hours', 'officer-' || (i % 300),
                   (ARRAY['task.completed','instance.started','stage.changed','task.claimed',
                          'instance.completed'])[1 + i % 5],
                   CAST('{"bpmn_id": "handle_on_site", "notes": "\u5e7f\u4e2d\u8def ' || (i % 3000)
                        || ' \u53f7"}' AS json)
            FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i"""), params)
    team_sql = "(ARRAY[" + ",".join(f"'{t}'" for t in teams) + f"])[1 + i % {len(teams)}]" if closed else f"'{TEAM}'"
    connection.execute(text(f"""
        INSERT INTO human_task (id, instance_id, task_uuid, bpmn_id, label, process_id, lane, team, assignee,
                                status, due_at, form_schema, created_at, ended_at, completed_by)
        SELECT i, i, 'bench-' || i, 'handle_on_site', '现场处置 Handle on site', 'closed_loop', {team_sql},
               {team_sql}, NULL, '{'completed' if closed else 'ready'}',
               now() + (i % 2880) * interval '1 minute', 'onsite_report.schema.json',
               now() - (i % 400) * interval '1 day',
               {"now() - (i % 400) * interval '1 day' + interval '5 hours'" if closed else 'NULL'},
               {"'officer-' || (i % 300)" if closed else 'NULL'}
        FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i"""), params)


def setup(engine: Engine) -> str:
    with engine.store.begin() as connection:
        connection.execute(text("""INSERT INTO deployment (id, content_hash, files, deployed_by, deployed_at)
                                   VALUES (1, 'bench', '{}', 'bench', now())"""))
        connection.execute(text("""INSERT INTO process_definition (id, process_id, version, name, deployment_id,
                                   deployed_at) VALUES (1, 'closed_loop', 1, 'closed loop', 1, now())"""))
    roster = json.loads((ROOT / "seed" / "teams.json").read_text(encoding="utf-8"))["teams"]
    people.seed_teams(engine.store, roster)
    people.add_user(engine.store, "bench-officer", "bench password", ["officer"], [TEAM])
    people.add_user(engine.store, "bench-dispatcher", "bench password", ["dispatcher"], ["command_centre"])
    people.add_user(engine.store, "bench-admin", "bench password", ["admin"], [])
    import_devices(engine.store, [dict(row, id=f"DEV-{n}") for n, row in enumerate(district.devices())])
    with engine.store.begin() as connection:      # a district at work: devices heartbeat, one in 25 has gone silent
        connection.execute(text("""UPDATE device SET last_seen_at = now(),
                                   status = CASE WHEN CAST(substr(id, 5) AS integer) % 25 = 0 THEN 'offline'
                                                 ELSE 'online' END"""))
    return people.create_token(engine.store, "bench-officer", "bench"), [t["code"] for t in roster]


def analyze(engine: Engine) -> None:
    with engine.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def load(engine: Engine, open_tasks: int, closed: int, teams: list[str], chunk: int = 250_000) -> float:
    started = time.perf_counter()
    with engine.store.begin() as connection:
        insert_instances(connection, 1, open_tasks, closed=False, teams=teams)
    first, remaining = open_tasks + 1, closed
    while remaining > 0:
        size = min(chunk, remaining)
        with engine.store.begin() as connection:
            insert_instances(connection, first, size, closed=True, teams=teams)
        first, remaining = first + size, remaining - size
    analyze(engine)
    return time.perf_counter() - started


def timed(client, token: str, requests: int, url: str = "/api/v1/tasks?scope=team") -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        if url.startswith(("/api/v1/tasks", "/api/v1/cases")):
            assert response.get_json()["count"] > 0
    return times


#: The command centre's requests: the map data, the heat map of the last 30 days, a device page.
COMMAND = {"map": "/command/map.json", "heat": "/command/heat.json", "device": "/devices/DEV-42",
           # the case search: the newest page of everything, part of an address, a device's cases
           "search_all": "/api/v1/cases", "search_address": "/api/v1/cases?q=%E5%B9%BF%E4%B8%AD%E8%B7%AF%202917%20",
           "search_device": "/api/v1/cases?device=DEV-4242",
           # the dashboard's indicators of the last 30 days (about 75,000 of the large database's cases)
           "kpis": "/api/v1/kpis"}
SEARCHES = [name for name in COMMAND if name.startswith("search")]
#: The audit search, as an admin: the newest page, one actor's events, one kind in the last 30 days, one case's
#: events, and text in the events' detail (an address, as the bench's events carry one).
AUDIT = {"audit_all": "/api/v1/audit", "audit_actor": "/api/v1/audit?actor=officer-42",
         "audit_kind": "/api/v1/audit?kind=task.completed&from={month_ago}",
         "audit_case": "/api/v1/audit?instance_id={closed_case}",
         "audit_text": "/api/v1/audit?text=%E5%B9%BF%E4%B8%AD%E8%B7%AF%202917%20"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open tasks of the team")
    parser.add_argument("--small", type=int, default=10_000, help="closed cases in the small database")
    parser.add_argument("--large", type=int, default=1_000_000, help="closed cases in the large database")
    parser.add_argument("--rounds", type=int, default=20, help="alternating rounds of requests on each database")
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--command-per-round", type=int, default=5, help="requests of each command centre page")
    parser.add_argument("--database", default=DATABASE,
                        help="name prefix of the two databases (another prefix lets two runs share the server)")
    args = parser.parse_args()

    from webui import create_app

    # Both databases side by side, measured in alternating rounds: the machine's own noise (other processes,
    # CPU frequency) then falls on both alike instead of on whichever phase ran second.
    phases = {}
    for phase, closed in (("small", args.small), ("large", args.large)):
        engine = fresh_database(f"{args.database}_{phase}")
        token, teams = setup(engine)
        seconds = load(engine, args.open, closed, teams)
        print(f"{phase}: {args.open} open tasks of {TEAM}, {closed} closed cases (loaded in {seconds:.1f} s)")
        app = create_app(engine.config, engine, {"SECRET_KEY": "bench", "EVIDENCE_DIR": "/tmp/jingzhi-bench-evidence"})
        dispatcher = people.create_token(engine.store, "bench-dispatcher", "bench")
        admin = people.create_token(engine.store, "bench-admin", "bench")
        phases[phase] = {"engine": engine, "client": app.test_client(), "token": token, "times": [],
                         "dispatcher": dispatcher, "admin": admin,
                         **{f"{name}_times": [] for name in (*COMMAND, *AUDIT)}}
    month_ago = (date.today() - timedelta(days=30)).isoformat()
    closed_case = args.open + min(args.small, 4242)       # a closed case (with an event) in both databases
    audit = {name: url.format(month_ago=month_ago, closed_case=closed_case) for name, url in AUDIT.items()}
    for phase in phases.values():
        timed(phase["client"], phase["token"], 50)                 # warm-up: pools, caches, prepared statements
        for url in COMMAND.values():
            timed(phase["client"], phase["dispatcher"], 5, url)
        for url in audit.values():
            timed(phase["client"], phase["admin"], 5, url)
    order = ["small", "large"]
    for _ in range(args.rounds):
        for name in order:
            phases[name]["times"] += timed(phases[name]["client"], phases[name]["token"], args.per_round)
            for what, url in COMMAND.items():
                phases[name][f"{what}_times"] += timed(phases[name]["client"], phases[name]["dispatcher"],
                                                       args.command_per_round, url)
            for what, url in audit.items():
                phases[name][f"{what}_times"] += timed(phases[name]["client"], phases[name]["admin"],
                                                       args.command_per_round, url)
        order.reverse()
    p95 = {}
    for name, phase in phases.items():
        p95[name] = percentile(phase["times"], 0.95)
        print(f"  {name}: inbox API p50={statistics.median(phase['times']):.2f} ms p95={p95[name]:.2f} ms "
              f"(100 tasks a page, {len(phase['times'])} requests)")
        for what, url in {**COMMAND, **audit}.items():
            times = phase[f"{what}_times"]
            p95[f"{name}_{what}"] = percentile(times, 0.95)
            print(f"  {name}: {url} p50={statistics.median(times):.2f} ms p95={p95[f'{name}_{what}']:.2f} ms "
                  f"({len(times)} requests)")
        phase["engine"].store.dispose()
    print(f"  large/small p95 ratio: {p95['large'] / p95['small']:.2f}")
    searched = [t for what in SEARCHES for t in phases["large"][f"{what}_times"]]
    audited = [t for what in AUDIT for t in phases["large"][f"{what}_times"]]
    print(f"inbox_p95_ms_small={p95['small']:.2f} inbox_p95_ms_large={p95['large']:.2f} "
          f"map_p95_ms={p95['large_map']:.2f} heat_p95_ms={p95['large_heat']:.2f} "
          f"device_p95_ms={p95['large_device']:.2f} search_p95_ms={percentile(searched, 0.95):.2f} "
          f"audit_p95_ms={percentile(audited, 0.95):.2f} kpis_p95_ms={p95['large_kpis']:.2f}")


if __name__ == "__main__":
    main()
