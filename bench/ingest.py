"""Sensor ingestion on this machine: the raw broker, then Jingzhi turning messages into alerts and cases.

Run ``python -m bench.ingest`` (``--quick`` for a smoke run). In one run, on a Mosquitto of its own (same binary as
the system's, queues unbounded) and a fresh PostgreSQL database holding the whole district (9,165 devices):

1. broker: a QoS 1 publisher and a QoS 1 subscriber, messages per second from the first publish to the last receipt;
2. sustained: ``--ingesters`` ``jingzhi ingest`` processes, one partition of the devices each; a flood of messages (75%
   heartbeats, 15% repeats of open alarms, 10% first alarms that start a closed-loop case) published as fast as the
   broker takes them; the rate is messages over the time until every alert is stored and every case started;
3. latency: the same mix at a steady rate below that capacity; alert -> task-in-inbox is the first ready task's
   ``created_at`` minus the alarm's timestamp (set by the publisher at publish time), p50 and p95, split into
   publish -> stored (broker, ingester queue, batch) and stored -> task (job queue, SpiffWorkflow starts, save).

The last line is ``ingest_msgs_per_s=<n> broker_msgs_per_s=<n> p95_alert_to_inbox_ms=<n>``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from engine import Config, Engine
from engine.alarms.devices import import_devices
from engine.models import Alarm, Alert, HumanTask, ProcessInstance
from sensors.district import devices

from .common import free_port, recreate_database

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("JINGZHI_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "jingzhi_bench_ingest"
#: The Redis database of a run with ``--workers`` (flushed at the start: not one that tests or an install use).
REDIS_URL = os.environ.get("JINGZHI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
ROOT_TOPIC = "bench/jingzhi/sensors"
MIX = (0.75, 0.15, 0.10)   # heartbeats, repeats, first alarms


class Broker:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="jz-bench-mqtt-"))
        self.port = free_port()
        (self.dir / "m.conf").write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                                         "persistence false\nmax_queued_messages 0\nmax_queued_bytes 0\n"
                                         "max_inflight_messages 1000\nuser root\n")
        self.process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                                         str(self.dir / "m.conf")], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.05)
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def close(self):
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}",
                    protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def publish_all(pub: mqtt.Client, messages, rate: float | None = None) -> float:
    """Publish (topic, body) pairs at ``rate`` per second (None: as fast as possible); returns the start time."""
    started = time.monotonic()
    last = None
    for n, (topic, body) in enumerate(messages):
        if rate:
            due = started + n / rate
            while (now := time.monotonic()) < due:
                time.sleep(min(due - now, 0.01))
        if callable(body):
            body = body()
        last = pub.publish(topic, body, qos=1)
    if last is not None:
        last.wait_for_publish(timeout=120)
    return started


def broker_rate(port: int, count: int) -> float:
    got = []
    done = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw-sub", protocol=mqtt.MQTTv5)

    def on_message(c, u, m):
        got.append(1)
        if len(got) == count:
            done.set()
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("raw/+/+", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    pub = client(port, "bench-raw-pub")
    body = json.dumps({"msg_id": "x" * 32, "device_id": "SMK-00001", "scenario": "three_in_one",
                       "event": "heartbeat", "ts": datetime.now(timezone.utc).isoformat()}).encode()
    started = time.monotonic()
    for n in range(count):
        pub.publish(f"raw/D{n % 100}/heartbeat", body, qos=1)
    done.wait(120)
    elapsed = time.monotonic() - started
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return len(got) / elapsed


class Workload:
    """Messages of the mix, over the district; a first alarm uses a device that never alarmed before."""

    def __init__(self, rows: list[dict], seed: int = 11):
        self.rng = random.Random(seed)
        self.rows = rows
        self.fresh = list(rows)
        self.rng.shuffle(self.fresh)
        self.alarming: list[dict] = []
        self.n = 0

    def _body(self, row: dict, event: str):
        self.n += 1
        msg_id = f"b{self.n}-{self.rng.getrandbits(40):x}"

        def render():  # the timestamp is taken when the message is published, not when it was planned
            return json.dumps({"msg_id": msg_id, "device_id": row["id"], "scenario": row["scenario"],
                               "event": event, "ts": datetime.now(timezone.utc).isoformat()}).encode()
        return f"{ROOT_TOPIC}/{row['id']}/{event}", render

    def heartbeat(self):
        return self._body(self.rng.choice(self.rows), "heartbeat")

    def take(self, count: int) -> list:
        out = []
        for _ in range(count):
            roll = self.rng.random()
            if roll < MIX[2] and self.fresh:
                row = self.fresh.pop()
                self.alarming.append(row)
                out.append(self._body(row, "alarm"))
            elif roll < MIX[2] + MIX[1] and self.alarming:
                out.append(self._body(self.rng.choice(self.alarming), "alarm"))
            else:
                out.append(self._body(self.rng.choice(self.rows), "heartbeat"))
        return out


def fresh_database(name: str = DATABASE) -> str:
    """Drop and create the bench's database (a name of your own with ``--database`` on a shared server)."""
    return recreate_database(ADMIN_URL, name)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.store.read() as c:
        alerts = c.scalar(select(func.count()).select_from(Alert))
        alarms = c.scalar(select(func.count()).select_from(Alarm))
        started = c.scalar(select(func.count()).select_from(Alarm).where(Alarm.instance_id.is_not(None)))
    return alerts, alarms, started


def wait_all(engine: Engine, alerts: int, alarms: int, timeout: float, marks: dict | None = None) -> float:
    """Until ``alerts`` are stored and ``alarms`` have their case; ``marks['stored']`` gets when the alerts were."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = counts(engine)
        if marks is not None and "stored" not in marks and got[0] >= alerts:
            marks["stored"] = time.monotonic()
        if got[0] >= alerts and got[1] >= alarms and got[2] >= alarms:
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"timed out: have {counts(engine)}, want alerts={alerts} alarms={alarms}")


def latencies(engine: Engine, since_alarm_id: int) -> tuple[list[float], list[float], list[float]]:
    """(alert -> task, publish -> stored, stored -> task) in ms for alarms after ``since_alarm_id``."""
    first_task = (select(HumanTask.instance_id, func.min(HumanTask.created_at).label("at"))
                  .group_by(HumanTask.instance_id).subquery())
    first_alert = (select(Alert.alarm_id, func.min(Alert.received_at).label("at"))
                   .where(Alert.alarm_id.is_not(None)).group_by(Alert.alarm_id).subquery())
    query = (select(Alarm.first_seen_at, first_alert.c.at, first_task.c.at)
             .join(first_task, first_task.c.instance_id == Alarm.instance_id)
             .join(first_alert, first_alert.c.alarm_id == Alarm.id)
             .where(Alarm.id > since_alarm_id))
    total, stored, started = [], [], []
    with engine.store.read() as c:
        for published, received, task in c.execute(query):
            total.append((task - published).total_seconds() * 1000)
            stored.append((received - published).total_seconds() * 1000)
            started.append((task - received).total_seconds() * 1000)
    return total, stored, started


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start_ingesters(n: int, database_url: str, broker_url: str, workers: int = 0) -> list[subprocess.Popen]:
    """``n`` ingesters; with ``workers`` > 0 also that many `jingzhi worker` processes, the ingesters queueing their
    case starts on RQ (``REDIS_URL``: ``JINGZHI_BENCH_REDIS_URL``, flushed first), else starting them in-process."""
    env = dict(os.environ, DATABASE_URL=database_url, MQTT_URL=broker_url, PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    if workers:
        from redis import Redis

        env["REDIS_URL"] = REDIS_URL
        Redis.from_url(REDIS_URL).flushdb()
    procs = []
    for i in range(n):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "jingzhi.cli", "ingest", "--topic-root", ROOT_TOPIC, "--partition", f"{i}/{n}",
             "--client-id", f"bench-ingest-{i}"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True))
    for _ in range(workers):
        # Not a pipe: RQ logs every job, and a pipe nobody reads until the end fills and stalls the worker.
        procs.append(subprocess.Popen([sys.executable, "-m", "jingzhi.cli", "worker"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def stop_ingesters(procs: list[subprocess.Popen]) -> list[str]:
    lines = []
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        lines += [line.split("ingest stopped: ", 1)[1] for line in err.splitlines() if "ingest stopped: " in line]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with small numbers")
    parser.add_argument("--messages", type=int, default=None, help="messages in the sustained flood")
    parser.add_argument("--ingesters", type=int, default=2, help="ingester processes, one partition each")
    parser.add_argument("--workers", type=int, default=0,
                        help="`jingzhi worker` processes running the case start jobs on RQ (0: in-process jobs, the "
                             "embedded default)")
    parser.add_argument("--latency-seconds", type=float, default=None)
    parser.add_argument("--database", default=DATABASE,
                        help=f"database to drop and create for the run (default {DATABASE}; pick your own on a "
                             f"shared server)")
    args = parser.parse_args(argv)
    flood = args.messages or (3_000 if args.quick else 40_000)
    steady_s = args.latency_seconds or (3.0 if args.quick else 15.0)
    raw_count = 5_000 if args.quick else 50_000

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    broker = Broker()
    try:
        raw = broker_rate(broker.port, raw_count)
        print(f"broker: mosquitto QoS 1 publish -> subscribe, {raw_count} messages, one paho-mqtt publisher and "
              f"one subscriber: {raw:,.0f} msgs/s")

        url = fresh_database(args.database)
        engine = Engine(Config(database_url=url))
        engine.store.upgrade()
        engine.deploy({p.name: p.read_bytes() for p in sorted((ROOT / "bpmn").iterdir()) if p.is_file()},
                      deployed_by="bench")
        rows = devices(7)
        import_devices(engine.store, rows)
        print(f"database: fresh PostgreSQL, district of {len(rows)} devices imported; "
              f"{args.ingesters} ingester process(es); case start jobs "
              f"{f'on RQ, {args.workers} worker process(es)' if args.workers else 'in-process'}")
        global START_MS
        START_MS = idle_start_ms(engine, rows)
        print(f"case start alone (engine.start of closed_loop on PostgreSQL, nothing else running): "
              f"{START_MS:.1f} ms")
        cpu_before = _children_cpu_s()
        procs = start_ingesters(args.ingesters, url, broker.url, args.workers)
        try:
            result = measure(engine, procs, broker, rows, flood, steady_s, args.ingesters)
        finally:
            for p in procs[args.ingesters:]:   # the workers: their queue is empty once every case is started
                p.terminate()
            for p in procs:
                if p in procs[args.ingesters:] and p.poll() is None:
                    try:
                        p.wait(30)
                    except subprocess.TimeoutExpired:
                        pass
                if p.poll() is None:
                    p.kill()
                p.wait()   # reaped, so its CPU time counts in the children's usage below
        sustained, p95 = result
        alerts = counts(engine)[0]
        cpu = _children_cpu_s() - cpu_before
        print(f"cpu: ingesters{' and workers' if args.workers else ''} used {cpu:.1f} s (user+sys, every process "
              f"of theirs; PostgreSQL not counted) for {alerts} messages: {1000 * cpu / alerts:.2f} ms per message")
        engine.store.dispose()
    finally:
        broker.close()
    print(f"ingest_msgs_per_s={sustained:.0f} broker_msgs_per_s={raw:.0f} p95_alert_to_inbox_ms={p95:.0f}")
    return 0


START_MS = float("nan")


def _children_cpu_s() -> float:
    """CPU seconds of this process's ended and waited-for children (and theirs): the ingesters, once stopped."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def idle_start_ms(engine: Engine, rows: list[dict], n: int = 60) -> float:
    """One closed-loop start through the engine, alone on the machine (the case-start unit cost)."""
    now = datetime.now(timezone.utc).isoformat()
    data = [{"device_id": r["id"], "scenario": r["scenario"], "channel": "sensor", "severity": "medium",
             "address": r["address"], "compound": r["compound"], "inside_compound": r["inside_compound"],
             "lat": r["lat"], "lon": r["lon"], "alert_count": 1, "reported_at": now} for r in rows[:n]]
    for d in data[:10]:
        engine.start("closed_loop", d, business_key="warm-up")
    started = time.perf_counter()
    for d in data[10:]:
        engine.start("closed_loop", d, business_key="warm-up")
    return (time.perf_counter() - started) * 1000 / (n - 10)


def measure(engine, procs, broker, rows, flood: int, steady_s: float, ingesters: int) -> tuple[float, float]:
    if True:
        pub = client(broker.port, "bench-pub")
        workload = Workload(rows)
        # Until an ingester holds the subscription, the broker drops what is published: probe until one is stored,
        # give the others a moment, then warm up (parsed specs, pooled connections).
        deadline = time.monotonic() + 60
        while counts(engine)[0] == 0:
            if time.monotonic() > deadline:
                raise SystemExit("no ingester came up: " + "".join(p.stderr.read() for p in procs if p.poll() and p.stderr))
            publish_all(pub, [workload.heartbeat()])
            time.sleep(0.3)
        time.sleep(2.0)
        alerts0, alarms0, _ = counts(engine)
        publish_all(pub, workload.take(300))
        wait_all(engine, alerts0 + 300, len(workload.alarming), 60)
        alerts0, alarms0, _ = counts(engine)

        messages = workload.take(flood)
        new_alarms = len(workload.alarming) - alarms0
        started = publish_all(pub, messages)
        published = time.monotonic()
        marks: dict = {}
        done = wait_all(engine, alerts0 + flood, alarms0 + new_alarms, 600, marks)
        sustained = flood / (done - started)
        print(f"sustained: {flood} messages ({MIX[0]:.0%} heartbeats, {MIX[1]:.0%} repeats, {MIX[2]:.0%} first "
              f"alarms -> {new_alarms} cases) stored with every case started in {done - started:.1f} s: "
              f"{sustained:,.0f} msgs/s (publishing took {published - started:.1f} s)")
        stored_s = marks.get("stored", done) - started
        print(f"  of which: every alert stored (and acknowledged) after {stored_s:.1f} s "
              f"({flood / stored_s:,.0f} msgs/s); cases started at {new_alarms / (done - started):,.0f}/s, the "
              f"bound: each is a SpiffWorkflow start ({START_MS:.1f} ms on an idle machine) competing for the "
              f"2 cores with the batches, PostgreSQL, the broker and the publisher")

        with engine.store.read() as c:
            last_alarm = c.scalar(select(func.max(Alarm.id))) or 0
        alerts1, alarms1, _ = counts(engine)
        steady_rate = min(2000.0, 0.8 * sustained)
        steady = workload.take(int(steady_rate * steady_s))
        steady_new = len(workload.alarming) - alarms1
        publish_all(pub, steady, rate=steady_rate)
        wait_all(engine, alerts1 + len(steady), alarms1 + steady_new, 300)
        total, stored, to_task = latencies(engine, last_alarm)
        p50, p95 = pct(total, 50), pct(total, 95)
        print(f"latency at a steady {steady_rate:,.0f} msgs/s for {steady_s:.0f} s ({len(total)} new cases): "
              f"alert -> task in inbox p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        print(f"  where the time goes (p50 / p95): publish -> alert stored {pct(stored, 50):.0f} / "
              f"{pct(stored, 95):.0f} ms (broker, ingester queue, batch of up to 500 in one transaction); "
              f"alert stored -> task in inbox {pct(to_task, 50):.0f} / {pct(to_task, 95):.0f} ms (job queue, "
              f"SpiffWorkflow start of closed_loop with its DMN decisions and call activity, save)")
        pub.disconnect()
        pub.loop_stop()
        for n, line in enumerate(stop_ingesters(procs[:ingesters])):
            print(f"  ingester {n}: {line}")
        with engine.store.read() as c:
            instances = c.scalar(select(func.count()).select_from(ProcessInstance))
        print(f"  stored: {counts(engine)[0]} alerts, {counts(engine)[1]} alarms, {instances} cases")
        return sustained, p95


if __name__ == "__main__":
    sys.exit(main())
