"""Fault drills: nothing acknowledged is lost, nothing takes effect twice (issue 11, classes 1 and 9).

Run ``python -m bench.faults`` (``--messages N`` per scenario, default 3,000; ``--quick`` for a smoke run). Each MQTT
scenario runs on a Mosquitto of its own, started from ``deploy/mosquitto.conf`` (the shipped settings; only the
listener and the data directory differ), a fresh PostgreSQL database with the district's first devices, and
``jingzhi ingest`` processes with fixed client ids, one partition each. A publisher sends a paced burst of QoS 1
messages (heartbeats, alarms and their repeats, and a share of malformed ones: not JSON, unknown device, bad
timestamp) and counts as published what the broker acknowledged; a message whose acknowledgement it did not get
(its connection broke) it sends again, as a gateway would. Faults in the middle of the burst:

- ``broker``: Mosquitto stopped and started again (SIGTERM), the publisher reconnecting at once, before the
  ingesters (their reconnect waits a second): the window in which issue 11 lost 1,751 of 5,000 messages;
- ``ingester``: every ingester killed with SIGKILL and started again with the same client id;
- ``both``: the ingesters killed and the broker restarted while they are away.

Each runs with one and with two ingesters. Afterwards every published message must be in ``alert`` or in
``dead_letter`` (``lost``), and ``duplicate_cases`` counts what took effect twice: a message both stored and
dead-lettered, an alert stored twice, an alarm counted more often than its alerts, a (device, scenario) with two
alarms open or two cases running at once, or an alarm with more than one case.

The ``rq-worker`` scenario (see :mod:`bench.jobs_faults`) kills an RQ worker with SIGKILL in the middle of its jobs.

The last line is ``published=N stored=N dead_letters=N lost=0 duplicate_cases=0`` over the MQTT scenarios
(``dead_letters``: published messages dead-lettered, each once however often it was redelivered).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import create_engine, func, select, text

from engine.models import Alarm, Alert, DeadLetter, ProcessInstance

from .common import free_port, recreate_database, wait_for

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("JINGZHI_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TAG = re.compile(r"fx[0-9a-f]{8}-\d+")


class Broker:
    """Mosquitto with the shipped configuration, on a free port with a data directory of its own."""

    def __init__(self, directory: Path | None = None):
        self.dir = Path(directory or tempfile.mkdtemp(prefix="jz-faults-mqtt-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        shipped = (ROOT / "deploy" / "mosquitto.conf").read_text().splitlines()
        kept = [line for line in shipped if not line.startswith(("listener", "persistence_location"))]
        # as root, mosquitto would switch to the mosquitto user, who cannot write the data directory
        (self.dir / "mosquitto.conf").write_text("\n".join(
            [f"listener {self.port} 127.0.0.1", f"persistence_location {self.dir}/", "user root", *kept]) + "\n")
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.dir / "mosquitto.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        wait_for(listening, 10, "mosquitto to listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()    # SIGTERM: mosquitto writes its sessions and queues on the way out
            self.process.wait(15)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Publisher:
    """QoS 1 publishing that counts a message as published once the broker acknowledged it, and sends again what
    it has no acknowledgement for when its connection broke (same body, same ``msg_id``)."""

    def __init__(self, port: int):
        self.port = port
        self.acked: set[str] = set()
        self.resent = 0
        self._pending: list[tuple[str, str, bytes, mqtt.MQTTMessageInfo]] = []
        self.client = self._connect()

    def _connect(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fx-pub-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(500)
        client.max_queued_messages_set(0)
        wait_for(lambda: client.connect("127.0.0.1", self.port) == 0, 15, "the publisher's connection")
        client.loop_start()
        return client

    def publish(self, key: str, topic: str, body: bytes) -> None:
        self._pending.append((key, topic, body, self.client.publish(topic, body, qos=1)))

    def _collect(self) -> list:
        unacked = []
        for item in self._pending:
            (self.acked.add(item[0]) if item[3].is_published() else unacked.append(item))
        self._pending = []
        return unacked

    def reconnect(self) -> None:
        """A new connection at once; whatever the old one had not got acknowledged is sent again."""
        old = self.client
        old.loop_stop()
        try:
            old.disconnect()
        except Exception:
            pass
        unacked = self._collect()
        self.client = self._connect()
        for key, topic, body, _ in unacked:
            self.resent += 1
            self.publish(key, topic, body)

    def settle(self, timeout: float = 60.0) -> None:
        """Until everything published has been acknowledged (reconnecting when acknowledgements stop coming)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            waited = time.monotonic() + 5
            while time.monotonic() < waited and not all(p[3].is_published() for p in self._pending):
                time.sleep(0.02)
            if all(p[3].is_published() for p in self._pending):
                self._collect()
            else:
                self.reconnect()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Ingesters:
    """``jingzhi ingest`` processes with fixed client ids, partition k of n each."""

    def __init__(self, n: int, database_url: str, broker_url: str, root: str, prefix: str):
        self.n, self.root, self.prefix = n, root, prefix
        self.env = dict(os.environ, DATABASE_URL=database_url, MQTT_URL=broker_url, PYTHONPATH=str(ROOT))
        self.log = open(os.environ["JZ_FAULTS_LOG"], "ab") if os.environ.get("JZ_FAULTS_LOG") else subprocess.DEVNULL
        self.procs: list[subprocess.Popen] = [self._spawn(k) for k in range(n)]

    def _spawn(self, k: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "jingzhi.cli", "ingest", "--topic-root", self.root,
                                 "--client-id", f"{self.prefix}-{k}", "--partition", f"{k}/{self.n}"], env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=self.log)

    def kill(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGKILL)
        for proc in self.procs:
            proc.wait(10)

    def start_again(self) -> None:
        self.procs = [self._spawn(k) for k in range(self.n)]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def owner(device_id: str, partitions: int) -> int:
    return zlib.crc32(device_id.encode()) % partitions


class Traffic:
    """Keyed messages of a scenario: heartbeats, first alarms and repeats, and malformed ones (``bad`` share)."""

    def __init__(self, devices: list[dict], root: str, tag: str, seed: int = 5, bad: float = 0.03):
        self.rng = random.Random(seed)
        self.devices, self.root, self.tag, self.bad = devices, root, tag, bad
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"{self.tag}-{self.n}"

    def heartbeat(self, device: dict) -> tuple[str, str, bytes]:
        return self.message(device, "heartbeat")

    def message(self, device: dict, event: str, ts: datetime | None = None) -> tuple[str, str, bytes]:
        key = self.key()
        body = {"msg_id": key, "device_id": device["id"], "scenario": device["scenario"], "event": event,
                "ts": (ts or datetime.now(timezone.utc)).isoformat()}
        return key, f"{self.root}/{device['id']}/{event}", json.dumps(body).encode()

    def next(self) -> tuple[str, str, bytes]:
        device = self.rng.choice(self.devices)
        roll = self.rng.random()
        if roll < self.bad:
            kind = self.rng.randrange(3)
            if kind == 0:       # not JSON; the key rides in the raw text the dead letter keeps
                key = self.key()
                return key, f"{self.root}/{device['id']}/alarm", f"{{not json {key}".encode()
            if kind == 1:       # a device the registry does not know
                return self.message(dict(device, id=f"NOPE-{self.n % 7}"), "alarm")
            return self.message(device, "alarm", datetime.now(timezone.utc) - timedelta(days=30))  # too old
        return self.message(device, "alarm" if roll < self.bad + 0.15 else "heartbeat")


@dataclass
class Outcome:
    scenario: str
    published: int
    stored: int
    dead_letters: int
    dead_letter_rows: int
    lost: int
    duplicate_cases: int
    resent: int
    seconds: float
    lost_keys: tuple = ()

    def line(self) -> str:
        return (f"{self.scenario}: published={self.published} stored={self.stored} "
                f"dead_letters={self.dead_letters} (rows {self.dead_letter_rows}) lost={self.lost} "
                f"duplicate_cases={self.duplicate_cases} resent_by_publisher={self.resent} "
                f"in {self.seconds:.1f} s" + (f" lost e.g. {' '.join(self.lost_keys[:5])}" if self.lost else ""))


def tally(database_url: str, tag: str, published: set[str]) -> tuple[set, set, int, int]:
    """(stored keys, dead-lettered keys, dead-letter rows, duplicate cases) of the scenario ``tag``."""
    db = create_engine(database_url)
    like = f"{tag}-%"
    with db.connect() as c:
        stored_rows = list(c.scalars(select(Alert.msg_id).where(Alert.msg_id.like(like))))
        dead_rows = c.execute(select(DeadLetter.msg_id, DeadLetter.raw).where(
            (DeadLetter.msg_id.like(like)) | (DeadLetter.raw.like(f"%{tag}-%")))).all()
        alarm_ids = select(Alert.alarm_id).where(Alert.msg_id.like(like), Alert.alarm_id.is_not(None))
        alarms = c.execute(select(Alarm.id, Alarm.device_id, Alarm.scenario, Alarm.count, Alarm.status,
                                  Alarm.instance_id, ProcessInstance.status.label("case_status"))
                           .outerjoin(ProcessInstance, ProcessInstance.id == Alarm.instance_id)
                           .where(Alarm.id.in_(alarm_ids))).all()
        counted = dict(c.execute(select(Alert.alarm_id, func.count()).where(Alert.alarm_id.in_(alarm_ids))
                                 .group_by(Alert.alarm_id)).all())
        cases = dict(c.execute(select(ProcessInstance.business_key, func.count())
                               .where(ProcessInstance.business_key.in_(
                                   [f"{a.device_id}/{a.scenario}#{a.id}" for a in alarms]))
                               .group_by(ProcessInstance.business_key)).all())
    db.dispose()
    stored = set(stored_rows)
    dead = {m if m and m.startswith(tag) else (TAG.search(raw or "") or [None])[0] for m, raw in dead_rows}
    dead.discard(None)
    # A device's alarm whose case ended is closed, and its next alarm is a new problem with a new case: two
    # alarms of one (device, scenario) are a duplicate only while both are open or both cases run.
    live = [(a.device_id, a.scenario) for a in alarms if a.status == "open" or a.case_status == "running"]
    kinds = {"alert_twice": len(stored_rows) - len(stored), "stored_and_dead": len(stored & dead),
             "alarm_overcounted": sum(1 for a in alarms if a.count > counted.get(a.id, 0)),
             "second_live_alarm": len(live) - len(set(live)),
             "second_case": sum(n - 1 for n in cases.values() if n > 1)}
    if any(kinds.values()):
        suspects = [a for a in alarms if a.count > counted.get(a.id, 0) or live.count((a.device_id, a.scenario)) > 1]
        print(f"  duplicates in {tag}: {kinds} alarms: {[tuple(a) + (counted.get(a.id),) for a in suspects]}",
              file=sys.stderr, flush=True)
    return stored & published, dead & published, len(dead_rows), sum(kinds.values())


def run_scenario(database_url: str, devices: list[dict], faults: str, ingesters: int, messages: int,
                 rate: float = 1000.0, timeout: float = 120.0, directory: Path | None = None) -> Outcome:
    """One drill: ``faults`` is ``broker``, ``ingester`` or ``both``; the burst is paced at ``rate`` a second."""
    tag = f"fx{uuid.uuid4().hex[:8]}"
    root = f"{tag}/jingzhi/sensors"
    broker = Broker(directory)
    broker.start()
    started = time.monotonic()
    procs = Ingesters(ingesters, database_url, broker.url, root, f"{tag}-ingest")
    publisher = Publisher(broker.port)
    traffic = Traffic(devices, root, tag)
    try:
        # Each ingester's session must exist before the burst (until then the broker has no queue for it): probe
        # every partition until its ingester stored a heartbeat. The probes are not counted: the first ones are
        # published before there is a subscription to queue them.
        probes: set[str] = set()
        for k in range(ingesters):
            device = next(d for d in devices if owner(d["id"], ingesters) == k)
            deadline = time.monotonic() + 60
            while True:
                key, topic, body = traffic.heartbeat(device)
                probes.add(key)
                publisher.publish(key, topic, body)
                publisher.settle()
                time.sleep(0.3)
                if tally(database_url, tag, {key})[0]:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ingester {k} did not come up")
        t0 = time.monotonic()
        for n in range(messages):
            due = t0 + n / rate
            while (now := time.monotonic()) < due:
                time.sleep(min(due - now, 0.005))
            if n == messages // 3 and faults in ("ingester", "both"):
                procs.kill()
                if faults == "ingester":
                    time.sleep(0.5)
                    procs.start_again()
            if n == messages // 2 and faults in ("broker", "both"):
                broker.restart()
                publisher.reconnect()       # at once: the ingesters are still waiting to reconnect
                if faults == "both":
                    time.sleep(0.5)
                    procs.start_again()
            publisher.publish(*traffic.next())
        publisher.settle()
        published = publisher.acked - probes

        def done():
            stored, dead, _, _ = tally(database_url, tag, published)
            return len(stored) + len(dead) >= len(published)
        try:
            wait_for(done, timeout, "every published message stored or dead-lettered")
        except RuntimeError:
            pass                            # reported as lost below
        time.sleep(0.5)                     # late redeliveries would show as duplicates
        stored, dead, dead_rows, duplicates = tally(database_url, tag, published)
    finally:
        publisher.close()
        procs.stop()
        broker.close()
    lost = published - stored - dead
    outcome = Outcome(f"{faults} x{ingesters}", len(published), len(stored), len(dead), dead_rows, len(lost),
                      duplicates, publisher.resent, time.monotonic() - started)
    outcome.lost_keys = sorted(lost, key=lambda k: int(k.rsplit("-", 1)[1]))[:20]
    return outcome


def fresh_database(name: str) -> str:
    return recreate_database(ADMIN_URL, name)


def prepare(database_url: str, count: int) -> list[dict]:
    """Schema, the district's diagrams and its first ``count`` devices."""
    from engine import Config, Engine
    from engine.alarms.devices import import_devices
    from sensors.district import devices

    engine = Engine(Config(database_url=database_url))
    engine.store.upgrade()
    engine.deploy({p.name: p.read_bytes() for p in sorted((ROOT / "bpmn").iterdir()) if p.is_file()},
                  deployed_by="bench")
    rows = devices(7)[:count]
    import_devices(engine.store, rows)
    engine.store.dispose()
    return rows


SCENARIOS = ("broker-1", "broker-2", "ingester-1", "ingester-2", "both-1", "both-2", "rq-worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=None, help="messages per MQTT scenario (default 3000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="publishing rate of the burst, per second")
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=None, help="jobs in the RQ worker scenario (default 300)")
    parser.add_argument("--quick", action="store_true", help="a smoke run with small numbers")
    parser.add_argument("--only", default=None, help=f"some of the scenarios, comma-separated: {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    messages = args.messages or (300 if args.quick else 3000)
    jobs = args.jobs or (40 if args.quick else 300)
    database = f"jingzhi_bench_faults_{os.getpid()}"
    url = fresh_database(database)
    print(f"machine: {os.cpu_count()} cores; mosquitto {MOSQUITTO} with deploy/mosquitto.conf; PostgreSQL {database}")
    total = Outcome("all", 0, 0, 0, 0, 0, 0, 0, 0.0)
    failed = False
    try:
        rows = prepare(url, args.devices)
        for scenario in chosen:
            if scenario == "rq-worker":
                continue
            faults, n = scenario.rsplit("-", 1)
            outcome = run_scenario(url, rows, faults, int(n), messages, args.rate)
            print(outcome.line(), flush=True)
            for field in ("published", "stored", "dead_letters", "lost", "duplicate_cases"):
                setattr(total, field, getattr(total, field) + getattr(outcome, field))
        if "rq-worker" in chosen:
            from bench.jobs_faults import run_worker_kill

            result = run_worker_kill(url, jobs)
            print(result.line(), flush=True)
            failed = bool(result.stranded or result.twice or result.missing or result.failed)
    finally:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()
    print(f"published={total.published} stored={total.stored} dead_letters={total.dead_letters} "
          f"lost={total.lost} duplicate_cases={total.duplicate_cases}")
    return 1 if failed or total.lost or total.duplicate_cases else 0


if __name__ == "__main__":
    sys.exit(main())
