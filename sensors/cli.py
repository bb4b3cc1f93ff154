"""The sensor subcommands of `jingzhi`: ``ingest``, ``simulate`` and ``devices import|list``.

jingzhi/cli.py calls :func:`add_commands` on its subparsers; each command receives the one Config read from the
environment (``DATABASE_URL``, ``MQTT_URL``) and its arguments, like the other commands.
"""
from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

from engine import Config, Engine

log = logging.getLogger(__name__)

#: GIL switch interval of an ingester process (Python's default is 5 ms; see cmd_ingest).
SWITCH_INTERVAL_S = 0.0005


def _engine(config: Config) -> Engine:
    engine = Engine(config)
    engine.upgrade_schema()
    return engine


def cmd_ingest(config: Config, args) -> int:
    from .ingest import IngestSettings, Ingester

    url = args.url or config.mqtt_url
    if not url:
        print("MQTT_URL is not set (or pass --url mqtt://host:1883)", file=sys.stderr)
        return 1
    engine = _engine(config)  # the processes it starts come from `jingzhi deploy bpmn` (device_maintenance too)
    try:
        partition, partitions = (int(part) for part in args.partition.split("/"))
        IngestSettings(partition=partition, partitions=partitions)
    except ValueError:
        print(f"--partition wants K/N with 0 <= K < N (got '{args.partition}')", file=sys.stderr)
        return 2
    settings = IngestSettings(url=url, topic_root=args.topic_root, partition=partition, partitions=partitions,
                              **({"client_id": args.client_id} if args.client_id else {}),
                              batch_size=args.batch_size)
    print(f"ingesting {settings.subscription} (partition {partition}/{partitions}) from {url} as "
          f"{settings.client_id} ({config.describe()})", flush=True)
    # Without REDIS_URL the writer (database round trips) and the in-process job thread starting cases
    # (SpiffWorkflow, CPU) share the GIL. With the default 5 ms switch interval a thread back from a round trip waits
    # up to 5 ms for the other: a case start of ~10 statements took 4x its idle time. A shorter interval hands the
    # GIL over promptly.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    ingester = Ingester(engine, settings)
    signal.signal(signal.SIGTERM, lambda signum, frame: ingester.request_stop())   # stop cleanly, acks sent
    ingester.run_forever()
    return 0


def cmd_simulate(config: Config, args) -> int:
    from .simulate import run

    return run(config, args)


def cmd_devices_import(config: Config, args) -> int:
    from .registry_file import read_rows

    count = _engine(config).devices.import_rows(read_rows(Path(args.file)))
    print(f"imported {count} device(s) from {args.file}")
    return 0


def cmd_devices_list(config: Config, args) -> int:
    inside = {"inside": True, "street": False}.get(args.where)
    rows = _engine(config).devices.listing(scenario=args.scenario, compound=args.compound,
                                           owner_team=args.team, status=args.status, inside=inside,
                                           with_open_alarms=args.open_alarms, limit=args.limit)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return 0
    for row in rows:
        seen = row["last_seen_at"].strftime("%Y-%m-%d %H:%M:%S") if row["last_seen_at"] else "never"
        print(f"{row['id']:<12} {row['device_type']:<26} {row['scenario']:<20} {row['status']:<8} "
              f"seen {seen:<19} alarms {row['open_alarms']:<3} {row['owner_team'] or '-':<18} "
              f"{row['compound'] or '(street)'}  {row['address'] or ''}")
    print(f"{len(rows)} device(s)", file=sys.stderr)
    return 0


def add_commands(commands) -> None:
    ingest = commands.add_parser("ingest", help="MQTT subscriber: sensor messages into alerts and cases")
    ingest.add_argument("--url", default=None, help="broker URL (default: MQTT_URL)")
    ingest.add_argument("--topic-root", default="jingzhi/sensors")
    ingest.add_argument("--partition", default="0/1", metavar="K/N",
                        help="with N ingesters, this one stores the devices of partition K (default 0/1: all)")
    ingest.add_argument("--client-id", default=None, help="fixed client id of the persistent session")
    ingest.add_argument("--batch-size", type=int, default=500)
    ingest.set_defaults(func=cmd_ingest)

    simulate = commands.add_parser("simulate", help="publish a realistic district of sensor traffic")
    simulate.add_argument("--url", default=None, help="broker URL (default: MQTT_URL, else mqtt://127.0.0.1:1883)")
    simulate.add_argument("--topic-root", default="jingzhi/sensors")
    simulate.add_argument("--rate", type=float, default=50.0, help="messages per second (default 50)")
    simulate.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--drill-every", type=float, default=30.0, help="seconds between fire drills (0: none)")
    simulate.add_argument("--bad", type=float, default=0.005, help="share of malformed messages")
    simulate.add_argument("--write-registry", metavar="FILE", default=None,
                          help="write the district's device registry (.csv or .json) and exit")
    simulate.add_argument("--quiet", action="store_true", help="no progress display")
    simulate.add_argument("--http", metavar="URL", default=None,
                          help="POST to the web app's alert intake instead (e.g. http://127.0.0.1:8000/api/v1/alerts)")
    simulate.add_argument("--token", default=None, help="bearer token for --http")
    simulate.set_defaults(func=cmd_simulate)

    devices = commands.add_parser("devices", help="the device registry").add_subparsers(dest="devices_command",
                                                                                          required=True)
    load = devices.add_parser("import", help="register or update devices from a CSV or JSON file")
    load.add_argument("file")
    load.set_defaults(func=cmd_devices_import)
    listing = devices.add_parser("list", help="list devices with last seen and open alarms")
    listing.add_argument("--scenario")
    listing.add_argument("--compound")
    listing.add_argument("--team", help="owner team")
    listing.add_argument("--status", choices=("unknown", "online", "offline"))
    listing.add_argument("--where", choices=("inside", "street"))
    listing.add_argument("--open-alarms", action="store_true", help="only devices with open alarms")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_devices_list)


__all__ = ["add_commands"]
