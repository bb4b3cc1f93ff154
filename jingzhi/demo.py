"""`jingzhi demo`: the engine on embedded defaults (SQLite, in-process jobs) with a small simulated district.

Deploys the diagrams in bpmn/, starts cases from a deterministic handful of sensor alerts, prints each team's inbox,
and keeps the ticker running so deadlines and escalations fire while you work the tasks with `jingzhi tasks` and
`jingzhi complete`. The full district simulator (9,165 devices over MQTT) is `sensors/`' job; this is its seed.
"""
from __future__ import annotations

import json
import logging
import random
import secrets
import threading
from dataclasses import replace
from datetime import timezone
from pathlib import Path

from engine import Config, Engine, clock
from engine.jobs import Jobs
from engine.ticker import Ticker

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "bpmn"
MAIN_PROCESS = "closed_loop"

#: (scenario, severity, inside a compound, where) for the demo's alerts, after the source's sensor kinds.
_SCENARIOS = [
    ("fire_lane", "high", True, "何家宅小区 3号楼消防通道"),
    ("hydrant_pressure", "high", True, "水电路191弄 12号楼消火栓"),
    ("three_in_one", "critical", False, "广中路 268号 底商"),
    ("street_trading", "medium", False, "广中路 虹口龙之梦 北侧人行道"),
    ("door_open", "low", True, "水电路191弄 5号楼单元门"),
    ("cleaning_patrol", "low", False, "西江湾路 巡更锚点 07"),
    ("illegal_dumping", "medium", False, "东江湾路 虹口足球场 南侧"),
    ("group_renting", "medium", True, "何家宅小区 8号楼 602室"),
]


def demo_alerts(count: int, seed: int) -> list[dict]:
    """A deterministic list of alert start data (the keys the closed-loop process reads)."""
    rng = random.Random(seed)
    now = clock.now().astimezone(timezone.utc)
    alerts = []
    for n in range(count):
        scenario, severity, inside, address = _SCENARIOS[n % len(_SCENARIOS)]
        alerts.append({
            "device_id": f"{scenario[:3].upper()}-{rng.randint(1, 9165):04d}", "scenario": scenario,
            "channel": "sensor", "severity": severity, "address": address,
            "compound": address.split(" ")[0] if inside else None, "inside_compound": inside,
            "lat": round(31.2685 + rng.uniform(-0.008, 0.008), 6),
            "lon": round(121.4790 + rng.uniform(-0.008, 0.008), 6),
            "alert_count": 1, "reported_at": now.isoformat(),
        })
    return alerts


def run_demo(config: Config, args) -> int:
    database = Path(args.database)
    database.parent.mkdir(parents=True, exist_ok=True)
    config = replace(config, database_url=f"sqlite:///{database}", redis_url=None)
    engine = Engine(config)
    engine.store.upgrade()
    from jingzhi.cli import read_deployment

    files = read_deployment(DIAGRAMS)
    if not any(name.endswith(".bpmn") for name in files):
        print(f"no diagrams in {DIAGRAMS}: nothing to run")
        return 1
    result = engine.deploy(files, deployed_by="demo")
    print("deployed:", ", ".join(f"{p} v{v}" for p, v in sorted(result.versions.items())))
    process = MAIN_PROCESS if MAIN_PROCESS in result.versions else sorted(result.versions)[0]
    if not engine.ready_tasks():
        for alert in demo_alerts(args.cases, args.seed):
            engine.start(process, alert, business_key=f"{alert['device_id']}/{alert['scenario']}", actor="demo")
    _print_inbox(engine)
    logins = seed_people(engine, args.seed)
    print("\ndemo logins (user, password, role and team; local demo only):")
    for username, password, what in logins:
        print(f"  {username:<30} {password:<14} {what}")
    print(f"\ndatabase: {database} (delete it to start over)")
    print("work the tasks:  jingzhi tasks   |   jingzhi complete TASK_ID --data '{...}' --actor NAME")
    if args.once:
        return 0
    if not getattr(args, "no_web", False):
        if not config.secret_key:
            config = replace(config, secret_key=secrets.token_hex(32))
            print("JINGZHI_SECRET_KEY is not set: generated a session key for this run (logins end when it stops)")
        _start_web(config, engine, args.port, logins)
    print("ticker running: deadlines and escalations fire on time. Ctrl-C stops.")
    try:
        Ticker(Jobs(engine), interval_s=config.tick_interval_s).run_forever()
    except KeyboardInterrupt:
        pass
    return 0


SEED_TEAMS = ROOT / "seed" / "teams.json"


def demo_password(seed: int, username: str) -> str:
    """The same password for the same demo user on every run (a local demo: printed, never for production)."""
    return f"demo-{random.Random(f'{seed}/{username}').randrange(10**6, 10**7)}"


def seed_people(engine: Engine, seed: int) -> list[tuple[str, str, str]]:
    """The roster from seed/teams.json and demo users: an admin, a dispatcher, an officer and a lead per team.

    Returns (username, password, what they do) for printing; users that exist already are kept as they are.
    """
    from engine import people

    roster = json.loads(SEED_TEAMS.read_text(encoding="utf-8"))["teams"]
    people.seed_teams(engine.store, roster)
    existing = {u["username"] for u in people.users(engine.store)}
    wanted = [("admin", ["admin", "designer"], [], "admin, designer"),
              ("dispatcher", ["dispatcher", "officer"], ["command_centre"], "dispatcher, command_centre")]
    for team in roster:
        wanted.append((f"{team['code']}-1", ["officer"], [team["code"]], f"officer, {team['code']}"))
        wanted.append((f"{team['code']}-lead", ["officer", "team_lead"], [team["code"]], f"lead, {team['code']}"))
    logins = []
    for username, roles, teams, what in wanted:
        password = demo_password(seed, username)
        if username not in existing:
            people.add_user(engine.store, username, password, roles, teams)
        logins.append((username, password, what))
    return logins


def _start_web(config: Config, engine: Engine, port: int, logins) -> None:
    from jingzhi.cli import serve
    from webui import create_app

    app = create_app(config, engine)
    threading.Thread(target=serve, args=(app, "127.0.0.1", port), daemon=True, name="web").start()
    print(f"\nweb inbox: http://127.0.0.1:{port}/  (log in with a demo login above)")


def _print_inbox(engine: Engine) -> None:
    by_team: dict[str, list[dict]] = {}
    for task in engine.ready_tasks():
        by_team.setdefault(task["team"] or "-", []).append(task)
    print(f"\n{sum(map(len, by_team.values()))} task(s) waiting:")
    for team, tasks in sorted(by_team.items()):
        print(f"  {team}:")
        for task in tasks:
            due = task["due_at"].strftime("%H:%M") if task["due_at"] else "--:--"
            print(f"    #{task['id']:<5} due {due}  {task['label'] or task['bpmn_id']}  (case {task['instance_id']})")
