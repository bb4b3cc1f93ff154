"""The `jingzhi` command. Reads the environment once into a Config and hands it to the part that runs.

Exit codes: 0 done, 1 failed, 2 refused input (an invalid deployment, a bad form, an unknown task).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path

from engine import DISTRICT_TZ, SUBSCRIBABLE, Config, Engine, Jobs, Ticker
from engine.exceptions import Conflict, DeploymentRejected, InstanceFailed, JingzhiError

log = logging.getLogger("jingzhi")

DEPLOYABLE = (".bpmn", ".dmn", ".json")


def read_deployment(path: Path) -> dict[str, bytes]:
    """The deployable files of a directory (not recursive), or the single file given, as bytes: whether they are
    UTF-8 is for validation to say, the same for every way a deployment arrives (file and line of the bad byte)."""
    try:
        if path.is_file():
            return {path.name: path.read_bytes()}
        if not path.is_dir():
            raise JingzhiError(f"{path} is neither a file nor a directory")
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file() and p.suffix in DEPLOYABLE}
    except OSError as err:  # unreadable file or directory: refused input, not a traceback
        raise DeploymentRejected.single(str(err.filename or path), f"cannot be read: {err.strerror or err}") from None


def _engine(config: Config) -> Engine:
    engine = Engine(config)
    engine.upgrade_schema()
    return engine


def cmd_db_upgrade(config: Config, args) -> int:
    Engine(config).upgrade_schema()
    print(f"schema is up to date ({config.describe()})")
    return 0


def cmd_deploy(config: Config, args) -> int:
    engine = _engine(config)
    path = Path(args.path or config.bpmn_dir)
    try:
        if args.if_changed:
            return _deploy_if_changed(engine, path, args.actor)
        # checked against the roster once one is loaded (jingzhi teams load): a misspelt team routes nowhere
        result = engine.deploy(read_deployment(path), deployed_by=args.actor,
                               roster=engine.people.roster())
    except DeploymentRejected as rejected:
        print(rejected.message, file=sys.stderr)
        return 2
    verb = "deployed" if result.created else "unchanged (same content already deployed)"
    for process_id, version in sorted(result.versions.items()):
        print(f"{verb}: {process_id} v{version}")
    return 0


def _deploy_if_changed(engine: Engine, path: Path, actor: str) -> int:
    """Deploy ``path`` only where it differs from the database, never over a designer's newer version; say why."""
    decision = engine.deploy_if_changed(read_deployment(path), deployed_by=actor, roster=engine.people.roster())
    print(f"deploy {path} if changed (as {actor}):")
    for line in decision.lines:
        print(f"  {line}")
    return 0


def cmd_start(config: Config, args) -> int:
    engine = _engine(config)
    instance_id = engine.start(args.process_id, json.loads(args.data), args.key, actor=args.actor)
    print(json.dumps(_view(engine, instance_id), ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_tasks(config: Config, args) -> int:
    engine = _engine(config)
    for task in engine.ready_tasks(teams=args.team or None):
        due = task["due_at"].astimezone(DISTRICT_TZ).strftime("%Y-%m-%d %H:%M") if task["due_at"] else "-"
        print(f"{task['id']:>6}  {task['team'] or '-':<20} {due:<17} {task['label'] or task['bpmn_id']}"
              f"  (case {task['instance_id']}{', ' + task['assignee'] if task['assignee'] else ''})")
    return 0


def cmd_complete(config: Config, args) -> int:
    from webui import evidence, schema_form

    engine = _engine(config)
    data = json.loads(args.data)
    if isinstance(data, dict):                     # photo references must name files stored for the case
        evidence.check_references(os.environ.get("JINGZHI_EVIDENCE_DIR", "var/evidence"),
                                  engine.task(args.task_id)["instance_id"],
                                  schema_form.file_fields(engine.task_schema(args.task_id)), data)
    instance_id = engine.complete_task(args.task_id, data, actor=args.actor)
    print(json.dumps(_view(engine, instance_id), ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_message(config: Config, args) -> int:
    engine = _engine(config)
    correlations = dict(item.split("=", 1) for item in args.correlation)
    delivered = engine.send_message(args.name, correlations, json.loads(args.payload), actor=args.actor)
    print(f"delivered to instance(s) {', '.join(map(str, delivered))}")
    return 0


def cmd_failed(config: Config, args) -> int:
    """Instances parked by a failed automatic step, newest first; with --retry or --cancel, act on one."""
    engine = _engine(config)
    if args.retry:
        engine.retry(args.retry, actor=args.actor)
        print(f"instance {args.retry} retried: {engine.get(args.retry).status}")
        return 0
    if args.cancel:
        if not args.reason:
            print("cancelling needs --reason", file=sys.stderr)
            return 2
        engine.cancel(args.cancel, args.reason, actor=args.actor)
        print(f"instance {args.cancel} cancelled")
        return 0
    for row in engine.failed_instances():
        print(f"{row['id']:>6}  {row['process_id']} v{row['version']}  {row['updated_at']:%Y-%m-%d %H:%M}  "
              f"{row['business_key'] or '-'}\n        {(row['error'] or '').splitlines()[0] if row['error'] else ''}")
    return 0


def cmd_worker(config: Config, args) -> int:
    if not config.uses_jobs_queue:
        print("REDIS_URL is not set: without it engine verbs run in-process and no worker is needed",
              file=sys.stderr)
        return 1
    Jobs.for_config(config, _engine(config)).work(burst=args.burst, long=args.long)
    return 0


def cmd_ticker(config: Config, args) -> int:
    from integrations import delivery

    ticker = Ticker(Jobs.for_config(config, _engine(config)), interval_s=config.tick_interval_s,
                    periodic=[delivery.sweep])
    if args.once:
        print(f"ticked {len(ticker.run_once())} instance(s)")
        return 0
    try:
        ticker.run_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_demo(config: Config, args) -> int:
    from jingzhi.demo import run_demo

    return run_demo(config, args)


def load_teams(engine: Engine, path: Path, update_existing: bool = True) -> int:
    """Load the team roster (``JINGZHI_ROSTER_FILE``, default seed/teams.json) into the team table; idempotent.
    ``update_existing=False`` adds only missing teams (names edited on the teams page stay); retired teams stay
    retired either way."""
    if not path.is_file():
        raise JingzhiError(f"no roster file at {path} (set JINGZHI_ROSTER_FILE or pass a path)")
    return engine.people.seed_teams(json.loads(path.read_text(encoding="utf-8"))["teams"], update_existing)


def cmd_teams_load(config: Config, args) -> int:
    path = Path(args.path or config.roster_file)
    print(f"loaded {load_teams(_engine(config), path)} team(s) from {path}")
    return 0


def cmd_user_add(config: Config, args) -> int:
    import getpass


    engine = _engine(config)
    if not engine.people.teams(retired=True):
        load_teams(engine, Path(config.roster_file))
    password = args.password or getpass.getpass(f"password for {args.username}: ")
    user = engine.people.add_user(args.username, password, args.role or ["officer"], args.team or [],
                                  args.name)
    print(f"added {user['username']}: roles {', '.join(user['roles'])}; teams {', '.join(user['teams']) or '-'}")
    return 0


def ensure_admin(engine: Engine, username: str, password: str | None) -> str:
    """Create the first admin unless a user of that name exists (then it is kept as it is: no password reset)."""
    if any(user["username"] == username for user in engine.people.users()):
        return f"admin {username}: exists already, kept as it is"
    if not password:
        raise JingzhiError(f"user {username} does not exist: set JINGZHI_ADMIN_PASSWORD (8 characters or more) "
                           f"to create it")
    try:
        engine.people.add_user(username, password, ["admin"], [])
    except Conflict:  # another setup created it at the same moment
        return f"admin {username}: exists already, kept as it is"
    return f"admin {username}: created"


def cmd_user_ensure_admin(config: Config, args) -> int:
    print(ensure_admin(_engine(config), args.username, os.environ.get("JINGZHI_ADMIN_PASSWORD")))
    return 0


def cmd_setup(config: Config, args) -> int:
    """One-shot set-up of a deployment: schema, roster, first admin, and bpmn/ where it differs."""
    engine = _engine(config)
    print(f"schema is up to date ({config.describe()})")
    roster = Path(config.roster_file)
    print(f"added {load_teams(engine, roster, update_existing=False)} missing team(s) from {roster} "
          f"(teams already there keep the names given them on the teams page)")
    print(ensure_admin(engine, args.admin, os.environ.get("JINGZHI_ADMIN_PASSWORD")))
    if args.no_deploy:
        return 0
    try:
        return _deploy_if_changed(engine, Path(args.bpmn or config.bpmn_dir), args.actor)
    except DeploymentRejected as rejected:
        print(rejected.message, file=sys.stderr)
        return 2


def cmd_token_create(config: Config, args) -> int:

    token = _engine(config).people.create_token(args.username, args.name)
    print(token)
    print(f"(bearer token for {args.username}; it is shown only now: store it in the client's secrets)",
          file=sys.stderr)
    return 0


def cmd_open311_key_create(config: Config, args) -> int:
    key = _engine(config).open311.create_key(args.client, args.channel)
    print(key)
    print(f"(Open311 api_key for {args.client}, channel {args.channel}; it is shown only now: store it in the "
          f"client's secrets)", file=sys.stderr)
    return 0


def cmd_open311_key_revoke(config: Config, args) -> int:
    count = _engine(config).open311.revoke(args.client)
    print(f"revoked {count} key(s) of {args.client}")
    return 0


def cmd_hook_add(config: Config, args) -> int:
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    subscription = _engine(config).outbox.subscribe(args.department, args.url, events, args.secret_env)
    print(f"subscription {subscription}: {args.department} gets {', '.join(events)} at {args.url}")
    if args.secret_env not in os.environ:
        print(f"(set {args.secret_env} to the shared secret in the environment of the ticker and workers; the "
              f"database holds only its name. Events: {', '.join(SUBSCRIBABLE)})", file=sys.stderr)
    return 0


def cmd_hook_list(config: Config, args) -> int:
    for hook in _engine(config).outbox.subscriptions():
        print(f"{hook['id']}  {hook['department']}  {'on' if hook['active'] else 'off'}  {hook['url']}  "
              f"{','.join(hook['event_types'])}  secret from ${hook['secret_env']}")
    return 0


def cmd_hook_remove(config: Config, args) -> int:
    _engine(config).outbox.unsubscribe(args.department)
    print(f"{args.department} gets no more events (what it was sent stays in the log)")
    return 0


def cmd_web(config: Config, args) -> int:
    from webui import create_app

    try:
        check_port(args.host, args.port)
        app = create_app(config, _engine(config))
        return serve(app, args.host, args.port)
    except PortUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


class PortUnavailable(Exception):
    """The web app cannot listen where it was asked to (the port is taken, or the address is not this machine's)."""

    def __init__(self, host: str, port: int, err: OSError):
        why = os.strerror(err.errno) if err.errno else str(err)
        super().__init__(f"cannot listen on {host}:{port}: {why} (is another program using the port? stop it, or "
                         f"choose another with --port)")


def check_port(host: str, port: int) -> None:
    """Raise PortUnavailable unless host:port can be listened on now, so a busy port stops a command before it
    starts anything. The server binds the port again itself (serve keeps its host and port arguments); a port taken
    in between fails serve with PortUnavailable too."""
    try:
        socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET).close()
    except OSError as err:
        raise PortUnavailable(host, port, err) from err


def serve(app, host: str, port: int) -> int:
    """Serve with waitress when it is installed, else with Flask's own server (local use only). Raises
    PortUnavailable when the port cannot be bound."""
    try:
        from waitress import serve as waitress_serve
    except ImportError:
        log.warning("waitress is not installed: using Flask's development server")
        waitress_serve = None
    try:
        if waitress_serve is None:
            app.run(host=host, port=port, threaded=True)
            return 0
        print(f"web: http://{host}:{port}/", flush=True)
        waitress_serve(app, host=host, port=port, threads=8)
    except OSError as err:
        raise PortUnavailable(host, port, err) from err
    return 0


def _view(engine: Engine, instance_id: int) -> dict:
    view = engine.get(instance_id)
    return {"instance": view.id, "process": f"{view.process_id} v{view.version}", "status": view.status,
            "stage": view.case.get("stage"), "ready_tasks": [
                {"id": t["id"], "task": t["label"] or t["bpmn_id"], "team": t["team"], "due_at": t["due_at"]}
                for t in view.tasks if t["status"] == "ready"]}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jingzhi", description="精智 Jingzhi case-handling engine")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(func=cmd_db_upgrade)

    deploy = commands.add_parser("deploy", help="validate and deploy BPMN/DMN/form files as a new version")
    deploy.add_argument("path", nargs="?", default=None,
                        help="a directory or one file (default: JINGZHI_BPMN_DIR, else the district's bpmn/)")
    deploy.add_argument("--actor", default="cli")
    deploy.add_argument("--if-changed", action="store_true",
                        help="only where a process differs from its newest version, and never over a version "
                             "someone other than --actor deployed since; prints why, process by process")
    deploy.set_defaults(func=cmd_deploy)

    setup = commands.add_parser("setup", help="one-shot set-up: migrate, load the roster, create the first admin, "
                                              "deploy bpmn/ where it differs (never over a designer's version)")
    setup.add_argument("--admin", default=os.environ.get("JINGZHI_ADMIN_USERNAME") or "admin",
                       help="the first admin's user name (default: JINGZHI_ADMIN_USERNAME, else admin); "
                            "its password comes from JINGZHI_ADMIN_PASSWORD")
    setup.add_argument("--bpmn", default=None, help="the diagrams to deploy (default: JINGZHI_BPMN_DIR, else bpmn/)")
    setup.add_argument("--actor", default="setup", help="who the deployment is recorded as (default: setup)")
    setup.add_argument("--no-deploy", action="store_true", help="skip the deployment")
    setup.set_defaults(func=cmd_setup)

    start = commands.add_parser("start", help="start an instance of the newest version of a process")
    start.add_argument("process_id")
    start.add_argument("--data", default="{}", help="start data as JSON")
    start.add_argument("--key", default=None, help="business key")
    start.add_argument("--actor", default="cli")
    start.set_defaults(func=cmd_start)

    tasks = commands.add_parser("tasks", help="list ready human tasks")
    tasks.add_argument("--team", action="append", help="only this team's (repeatable)")
    tasks.set_defaults(func=cmd_tasks)

    complete = commands.add_parser("complete", help="complete a ready task")
    complete.add_argument("task_id", type=int)
    complete.add_argument("--data", default="{}", help="task data as JSON")
    complete.add_argument("--actor", default="cli")
    complete.set_defaults(func=cmd_complete)

    message = commands.add_parser("message", help="send a BPMN message to the instances waiting for it")
    message.add_argument("name")
    message.add_argument("--correlation", action="append", default=[], metavar="KEY=VALUE")
    message.add_argument("--payload", default="{}")
    message.add_argument("--actor", default="cli")
    message.set_defaults(func=cmd_message)

    failed = commands.add_parser("failed", help="instances stopped by a failed timer, message or script step; "
                                                "retry or cancel one")
    failed.add_argument("--retry", type=int, metavar="INSTANCE", help="run the failed step again")
    failed.add_argument("--cancel", type=int, metavar="INSTANCE", help="end the instance (needs --reason)")
    failed.add_argument("--reason", help="why it is cancelled (kept in its history)")
    failed.add_argument("--actor", default="cli")
    failed.set_defaults(func=cmd_failed)

    worker = commands.add_parser("worker", help="run an RQ worker for engine jobs (needs REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--long", action="store_true",
                        help="serve the long jobs' queue (the designer's what-if runs) instead of the engine's verbs")
    worker.set_defaults(func=cmd_worker)

    ticker = commands.add_parser("ticker", help="fire due timers (one per deployment)")
    ticker.add_argument("--once", action="store_true", help="one look, then exit")
    ticker.set_defaults(func=cmd_ticker)

    teams = commands.add_parser("teams", help="the team roster").add_subparsers(dest="teams_command", required=True)
    teams_load = teams.add_parser("load", help="load the roster (PATH, else JINGZHI_ROSTER_FILE, else "
                                               "seed/teams.json) into the database")
    teams_load.add_argument("path", nargs="?", default=None)
    teams_load.set_defaults(func=cmd_teams_load)

    user = commands.add_parser("user", help="web users").add_subparsers(dest="user_command", required=True)
    user_add = user.add_parser("add", help="add a user (asks for the password unless --password is given)")
    user_add.add_argument("username")
    user_add.add_argument("--role", action="append", help="officer, team_lead, dispatcher, designer, admin "
                                                          "(repeatable; default officer)")
    user_add.add_argument("--team", action="append", help="team code (repeatable)")
    user_add.add_argument("--name", default=None, help="display name")
    user_add.add_argument("--password", default=None)
    user_add.set_defaults(func=cmd_user_add)
    ensure = user.add_parser("ensure-admin", help="create the first admin unless it exists (password from "
                                                  "JINGZHI_ADMIN_PASSWORD)")
    ensure.add_argument("--username", default=os.environ.get("JINGZHI_ADMIN_USERNAME") or "admin")
    ensure.set_defaults(func=cmd_user_ensure_admin)

    token = commands.add_parser("token", help="API bearer tokens").add_subparsers(dest="token_command", required=True)
    token_create = token.add_parser("create", help="create a bearer token acting as USERNAME (printed once)")
    token_create.add_argument("username")
    token_create.add_argument("--name", default="api")
    token_create.set_defaults(func=cmd_token_create)

    open311 = commands.add_parser("open311", help="Open311 client systems (hotline platform, resident apps)")
    open311_key = open311.add_subparsers(dest="open311_command", required=True).add_parser(
        "key", help="api keys").add_subparsers(dest="open311_key_command", required=True)
    key_create = open311_key.add_parser("create", help="create an api key for CLIENT (printed once, stored hashed)")
    key_create.add_argument("client")
    key_create.add_argument("--channel", choices=("hotline", "resident"), default="hotline",
                            help="the channel of the cases its requests open (default hotline)")
    key_create.set_defaults(func=cmd_open311_key_create)
    key_revoke = open311_key.add_parser("revoke", help="revoke every api key of CLIENT")
    key_revoke.add_argument("client")
    key_revoke.set_defaults(func=cmd_open311_key_revoke)

    hook = commands.add_parser("hook", help="department systems that receive case events as signed webhooks")
    hooks = hook.add_subparsers(dest="hook_command", required=True)
    hook_add = hooks.add_parser("add", help="subscribe DEPARTMENT's system at URL to case events")
    hook_add.add_argument("department")
    hook_add.add_argument("url")
    hook_add.add_argument("--events", default="*", help="comma-separated event kinds (default *: every kind)")
    hook_add.add_argument("--secret-env", required=True,
                          help="name of the environment variable holding the HMAC secret (never stored)")
    hook_add.set_defaults(func=cmd_hook_add)
    hooks.add_parser("list", help="list the subscriptions").set_defaults(func=cmd_hook_list)
    hook_remove = hooks.add_parser("remove", help="stop sending events to DEPARTMENT")
    hook_remove.add_argument("department")
    hook_remove.set_defaults(func=cmd_hook_remove)

    web = commands.add_parser("web", help="serve the web app and JSON API")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.set_defaults(func=cmd_web)

    demo = commands.add_parser("demo", help="everything on embedded defaults with demo data")
    demo.add_argument("--database", default="var/demo.db", help="SQLite file for the demo")
    demo.add_argument("--cases", type=int, default=12, help="simulated alerts to start with")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--once", action="store_true", help="set up, print the inbox, and exit")
    demo.add_argument("--host", default="127.0.0.1", help="address of the web app (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port of the web app (default 8000)")
    demo.add_argument("--no-web", action="store_true", help="run the ticker only, without the web app")
    demo.add_argument("--rate", type=float, default=0.5,
                      help="sensor messages per second the simulated district posts to the web app (0: none)")
    demo.set_defaults(func=cmd_demo)

    from sensors.cli import add_commands as add_sensor_commands  # ingest, simulate, devices

    add_sensor_commands(commands)
    from simulation.cli import add_commands as add_simulation_commands  # sim, whatif

    add_simulation_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # SpiffWorkflow logs every task state change at INFO
        # Its own loggers too: SpiffWorkflow reads a logger's own level (NOTSET counts as below INFO) to decide
        # whether to attach every task id and the task data to each record, walking the whole task tree per record.
        for name in ("spiff", "spiff.workflow", "spiff.task"):
            logging.getLogger(name).setLevel(logging.WARNING)
    config = Config.from_env()
    try:
        return args.func(config, args)
    except JingzhiError as err:
        print(f"error: {err.message}", file=sys.stderr)
        if err.details:
            print(json.dumps(err.details, ensure_ascii=False, indent=2, default=str), file=sys.stderr)
        return 1 if isinstance(err, InstanceFailed) else 2  # the step failed; everything else refused the input
    except json.JSONDecodeError as err:
        print(f"error: not valid JSON: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
