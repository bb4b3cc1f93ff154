"""`jingzhi demo`: everything on embedded defaults (SQLite, in-process jobs, no broker) with a simulated district.

Deploys the diagrams in bpmn/, registers the simulated district's 9,165 devices, opens cases from a deterministic
handful of their alarms through the alert intake (the function behind ``POST /api/v1/alerts``), prints each team's
inbox and the demo logins, serves the web app, and, with no broker configured, has the district post its sensor
traffic to the web app over HTTP while the ticker fires deadlines. People report too: hotline calls over Open311 and
grid workers' patrol reports, posted to the web app in turn (jingzhi/demo_reports.py).
"""
from __future__ import annotations

import json
import logging
import random
import secrets
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import timezone
from pathlib import Path

from engine import DISTRICT_TZ, Config, Engine, Jobs, Ticker, clock
from integrations import delivery

log = logging.getLogger(__name__)

#: Looks (50 ms apart) for the demo's web app to answer before the district starts posting to it.
WEB_START_LOOKS = 200


def seed_district(engine: Engine, seed: int) -> list[dict]:
    """Register the simulated district's devices (once) and return their registry rows."""
    from sensors.district import devices

    rows = devices(seed)
    if not engine.devices.listing(limit=1):
        engine.devices.import_rows(rows)
    return rows


def first_alarms(rows: list[dict], count: int, seed: int, roster: dict) -> list[bytes]:
    """Alarm messages (the MQTT/HTTP payload contract) from ``count`` devices, spread over the playbooks' scenarios."""
    from sensors.district import BY_CODE

    playbooks = [s["code"] for s in roster["scenarios"]]
    rng = random.Random(seed)
    by_scenario = {code: [r for r in rows if r["scenario"] == code] for code in playbooks}
    chosen = [rng.choice(by_scenario[code]) for code in playbooks if by_scenario[code]]
    now = clock.now().astimezone(timezone.utc).isoformat()
    return [json.dumps({"msg_id": f"demo-{seed}-{n}", "device_id": row["id"], "scenario": row["scenario"],
                        "event": "alarm", "ts": now, "detail": {"severity": BY_CODE[row["device_type"]].severity}},
                       ensure_ascii=False).encode()
            for n, row in enumerate((chosen * (count // max(len(chosen), 1) + 1))[:count])]


def run_demo(config: Config, args) -> int:
    from jingzhi.cli import PortUnavailable, check_port, read_deployment

    web = not args.once and not getattr(args, "no_web", False)
    try:  # first of all: on a busy port the demo stops here, before it sets up anything or posts any traffic
        if web:
            check_port(args.host, args.port)
    except PortUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    database = Path(args.database)
    database.parent.mkdir(parents=True, exist_ok=True)
    config = replace(config, database_url=f"sqlite:///{database}", redis_url=None)
    engine = Engine(config)
    engine.upgrade_schema()
    diagrams = Path(config.bpmn_dir)
    roster = json.loads(Path(config.roster_file).read_text(encoding="utf-8"))
    files = read_deployment(diagrams)
    if not any(name.endswith(".bpmn") for name in files):
        print(f"no diagrams in {diagrams}: nothing to run")
        return 1
    result = engine.deploy(files, deployed_by="demo")
    print("deployed:", ", ".join(f"{p} v{v}" for p, v in sorted(result.versions.items())))
    rows = seed_district(engine, args.seed)
    if not engine.ready_tasks():
        from sensors.intake import accept_alert

        for body in first_alarms(rows, args.cases, args.seed, roster):
            accept_alert(engine, body, source="demo")
    _print_inbox(engine)
    logins = seed_people(engine, args.seed, roster["teams"])
    print("\ndemo logins (user, password, role and team; local demo only):")
    for username, password, what in logins:
        print(f"  {username:<30} {password:<14} {what}")
    print(f"\ndatabase: {database} (delete it to start over)")
    print("work the tasks:  jingzhi tasks   |   jingzhi complete TASK_ID --data '{...}' --actor NAME")
    if args.once:
        return 0
    if web:
        if not config.secret_key:
            config = replace(config, secret_key=secrets.token_hex(32))
            print("JINGZHI_SECRET_KEY is not set: generated a session key for this run (logins end when it stops)")
        try:
            url = _start_web(config, engine, args.host, args.port)
        except PortUnavailable as err:   # taken while the demo was setting up
            print(f"error: {err}", file=sys.stderr)
            return 1
        if args.rate > 0 and not config.mqtt_url:
            _simulate_over_http(engine, url, args.seed, args.rate)
        _report_over_http(engine, url, rows, args.seed)
    print("ticker running: deadlines and escalations fire on time, and notify the teams' leads (their 'My "
          "notifications'; everything sent is listed on /admin/notifications). Ctrl-C stops.")
    try:
        Ticker(Jobs(engine), interval_s=config.tick_interval_s, periodic=[delivery.sweep]).run_forever()
    except KeyboardInterrupt:
        pass
    return 0


def demo_password(seed: int, username: str) -> str:
    """The same password for the same demo user on every run (a local demo: printed, never for production)."""
    return f"demo-{random.Random(f'{seed}/{username}').randrange(10**6, 10**7)}"


def seed_people(engine: Engine, seed: int, roster: list[dict]) -> list[tuple[str, str, str]]:
    """The roster (the ``teams`` of seed/teams.json) and demo users: an admin, a designer, a dispatcher, an officer
    and a lead per team.

    Returns (username, password, what they do) for printing; users that exist already are kept as they are.
    """
    engine.people.seed_teams(roster)
    existing = {u["username"] for u in engine.people.users()}
    wanted = [("admin", ["admin", "designer"], [], "admin, designer"),
              ("designer", ["designer"], [], "designer (the process designer only)"),
              ("dispatcher", ["dispatcher", "officer"], ["command_centre"], "dispatcher, command_centre")]
    for team in roster:
        wanted.append((f"{team['code']}-1", ["officer"], [team["code"]], f"officer, {team['code']}"))
        wanted.append((f"{team['code']}-lead", ["officer", "team_lead"], [team["code"]], f"lead, {team['code']}"))
    logins = []
    for username, roles, teams, what in wanted:
        password = demo_password(seed, username)
        if username not in existing:
            engine.people.add_user(username, password, roles, teams)
        logins.append((username, password, what))
    return logins


def _start_web(config: Config, engine: Engine, host: str, port: int) -> str:
    """Serve the web app in a thread; returns its URL once it answers, or raises PortUnavailable when the server
    could not bind (nothing is posted to a port some other program holds)."""
    from jingzhi.cli import PortUnavailable, serve
    from webui import create_app

    app = create_app(config, engine)
    failed: list[PortUnavailable] = []

    def run() -> None:
        try:
            serve(app, host, port)
        except PortUnavailable as err:
            failed.append(err)

    thread = threading.Thread(target=run, daemon=True, name="web")
    thread.start()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    for _ in range(WEB_START_LOOKS):   # bounded: the server binds within milliseconds, or fails
        if failed:
            raise failed[0]
        try:
            with urllib.request.urlopen(f"{url}api/v1/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.05)
    print(f"\nweb inbox: {url}  (log in with a demo login above)")
    return url


def _simulate_over_http(engine: Engine, web_url: str, seed: int, rate: float) -> None:
    """No broker: the district posts heartbeats, alarms and clears to the web app's alert intake."""
    from sensors.simulate import Traffic, send_over_http

    token = engine.people.create_token("dispatcher", name="demo-district")
    url = f"{web_url}api/v1/alerts"
    threading.Thread(target=send_over_http, args=(url, token, Traffic(seed), rate, threading.Event()),
                     daemon=True, name="district").start()
    print(f"simulated district: {rate:g} sensor message(s)/s posted to {url}")


def _report_over_http(engine: Engine, web_url: str, rows: list[dict], seed: int) -> None:
    """People report too: a 12345 hotline call over Open311, then a grid worker's patrol report with a photo, in
    turn every few seconds (jingzhi/demo_reports.py)."""
    from jingzhi.demo_reports import EVERY_S, send_reports

    key = engine.open311.create_key("12345热线平台（演示）", "hotline")
    officer = "grid_patrol-1"
    alarming = {alarm["device_id"] for alarm in engine.devices.open_alarms()}
    threading.Thread(target=send_reports, args=(web_url, key, officer, demo_password(seed, officer), rows, seed,
                                                threading.Event()), kwargs={"alarming": alarming}, daemon=True,
                     name="reports").start()
    print(f"simulated people: a hotline call (Open311) or a patrol report (as {officer}) every {EVERY_S:g} s; "
          f"reports beside an open case of their problem wait at {web_url}same")


def _print_inbox(engine: Engine) -> None:
    by_team: dict[str, list[dict]] = {}
    for task in engine.ready_tasks():
        by_team.setdefault(task["team"] or "-", []).append(task)
    print(f"\n{sum(map(len, by_team.values()))} task(s) waiting:")
    for team, tasks in sorted(by_team.items()):
        print(f"  {team}:")
        for task in tasks:
            due = task["due_at"].astimezone(DISTRICT_TZ).strftime("%H:%M") if task["due_at"] else "--:--"
            print(f"    #{task['id']:<5} due {due}  {task['label'] or task['bpmn_id']}  (case {task['instance_id']})")
