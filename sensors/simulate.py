"""`jingzhi simulate`: publishes a realistic district of sensor traffic to the broker.

The district is :mod:`sensors.district` (9,165 devices, 39 types, seeded). :class:`Traffic` decides, deterministically
for a seed, what the next messages are: mostly heartbeats, alarms that repeat while their problem lasts and clear
when it ends, a few flapping devices, fire drills (every smoke alarm of one compound at once, cleared a minute
later) and a share of malformed messages (not JSON, unknown devices, wrong scenarios, bad timestamps, oversized).
"""
from __future__ import annotations

import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .district import BY_CODE, devices

#: Shares of the non-malformed traffic. Heartbeats dominate a real district (9,165 devices beating every 5-60 min).
HEARTBEAT_SHARE, ALARM_SHARE = 0.90, 0.07          # the rest are clears of active alarms
#: Chance that an alarm comes from a device already alarming (a repeat) rather than a new one.
REPEAT_SHARE = 0.6
#: Devices that flap (alarm, clear, alarm, ...) through the whole run.
FLAPPERS = 5


@dataclass
class Traffic:
    seed: int = 7
    bad_share: float = 0.005
    topic_root: str = "jingzhi/sensors"
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.rows = self.rows or devices(self.seed)
        self.active: dict[str, dict] = {}            # device id -> row, alarming now
        self.flappers = [self.rows[i] for i in self.rng.sample(range(len(self.rows)), FLAPPERS)]
        self.drill_clears: list[tuple[float, list[dict]]] = []
        self.sequence = 0
        self.counts = {"heartbeat": 0, "alarm": 0, "clear": 0, "bad": 0, "drill": 0}

    def _message(self, row: dict, event: str, now: datetime, **extra) -> tuple[str, bytes]:
        self.sequence += 1
        self.counts[event] += 1
        body = {"msg_id": f"sim-{self.seed}-{self.sequence}-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]}",
                "device_id": row["id"], "scenario": row["scenario"], "event": event, "ts": now.isoformat(), **extra}
        return f"{self.topic_root}/{row['id']}/{event}", json.dumps(body, ensure_ascii=False).encode()

    def _alarm(self, row: dict, now: datetime) -> tuple[str, bytes]:
        kind = BY_CODE[row["device_type"]]
        self.active[row["id"]] = row
        return self._message(row, "alarm", now, detail={"severity": kind.severity})

    def alarm(self, row: dict, now: datetime) -> tuple[str, bytes]:
        """One alarm message of ``row`` at ``now`` (the discrete-event simulation, ``simulation/``, times them)."""
        return self._alarm(row, now)

    def clear(self, row: dict, now: datetime) -> tuple[str, bytes]:
        """The clear of ``row``'s alarm at ``now``."""
        self.active.pop(row["id"], None)
        return self._message(row, "clear", now)

    def _bad(self, now: datetime) -> tuple[str, bytes]:
        self.counts["bad"] += 1
        row = self.rng.choice(self.rows)
        kind = self.rng.randrange(5)
        topic = f"{self.topic_root}/{row['id']}/alarm"
        body = {"msg_id": f"bad-{self.seed}-{self.sequence}-{self.rng.getrandbits(32)}", "device_id": row["id"],
                "scenario": row["scenario"], "event": "alarm", "ts": now.isoformat()}
        self.sequence += 1
        if kind == 0:
            return topic, b"\x00\x9f garbage from a broken gateway"
        if kind == 1:
            body["device_id"] = f"UNKNOWN-{self.rng.randrange(100000)}"
            return f"{self.topic_root}/{body['device_id']}/alarm", json.dumps(body).encode()
        if kind == 2:
            body["scenario"] = "not_my_scenario"
        elif kind == 3:
            body["ts"] = "2026-13-45T25:00:00"
        else:
            body["detail"] = "x" * 10_000
        return topic, json.dumps(body).encode()

    def drill(self, now: datetime, clock_s: float) -> list[tuple[str, bytes]]:
        """A fire drill: every smoke alarm of one compound goes off at once; they clear a minute later."""
        compound = self.rng.choice(sorted({r["compound"] for r in self.rows if r["compound"]}))
        smoke = [r for r in self.rows if r["compound"] == compound and r["device_type"] == "smoke_alarm"]
        self.counts["drill"] += 1
        self.drill_clears.append((clock_s + 60, smoke))
        return [self._alarm(row, now) for row in smoke]

    def next(self, now: datetime, clock_s: float) -> list[tuple[str, bytes]]:
        """The next message (or a few, when drills clear)."""
        out = []
        while self.drill_clears and self.drill_clears[0][0] <= clock_s:
            _, rows = self.drill_clears.pop(0)
            for row in rows:
                if self.active.pop(row["id"], None) is not None:
                    out.append(self._message(row, "clear", now))
        if self.rng.random() < self.bad_share:
            out.append(self._bad(now))
            return out
        roll = self.rng.random()
        if roll < HEARTBEAT_SHARE:
            out.append(self._message(self.rng.choice(self.rows), "heartbeat", now))
        elif roll < HEARTBEAT_SHARE + ALARM_SHARE:
            if self.rng.random() < 0.2:
                row = self.rng.choice(self.flappers)
                if row["id"] in self.active:
                    self.active.pop(row["id"])
                    out.append(self._message(row, "clear", now))
                else:
                    out.append(self._alarm(row, now))
            elif self.active and self.rng.random() < REPEAT_SHARE:
                out.append(self._alarm(self.active[self.rng.choice(sorted(self.active))], now))
            else:
                out.append(self._alarm(self.rng.choice(self.rows), now))
        elif self.active:
            row = self.active.pop(self.rng.choice(sorted(self.active)))
            out.append(self._message(row, "clear", now))
        else:
            out.append(self._message(self.rng.choice(self.rows), "heartbeat", now))
        return out


def _progress(traffic: Traffic, sent: int, started: float, duration: float) -> None:
    elapsed = time.monotonic() - started
    c = traffic.counts
    sys.stderr.write(f"\r{elapsed:6.1f}/{duration:.0f}s sent {sent:>8} ({sent / max(elapsed, 1e-9):7.1f}/s) "
                     f"heartbeat {c['heartbeat']:>7} alarm {c['alarm']:>6} clear {c['clear']:>6} "
                     f"bad {c['bad']:>4} drills {c['drill']:>2} alarming {len(traffic.active):>4}  ")
    sys.stderr.flush()


def post_alert(url: str, token: str, body: bytes, timeout: float = 10.0) -> str:
    """POST one sensor message to the web app's alert intake; returns the HTTP status, or why it was not sent."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return str(response.status)
    except urllib.error.HTTPError as err:
        return str(err.code)
    except (urllib.error.URLError, OSError) as err:
        return f"unreachable: {getattr(err, 'reason', err)}"


def send_over_http(url: str, token: str, traffic: Traffic, rate: float, stop: threading.Event,
                   duration: float = float("inf"), limit: int | None = None) -> Counter:
    """The district's traffic over HTTP instead of MQTT (no broker: the embedded demo). Counts answers by status.

    Stops when ``stop`` is set, after ``duration`` seconds, or once ``limit`` messages were sent."""
    answers: Counter = Counter()
    started, sent = time.monotonic(), 0
    while not stop.is_set() and (now_s := time.monotonic()) - started < duration and sent < (limit or float("inf")):
        wait = started + sent / rate - now_s
        if wait > 0:
            stop.wait(min(wait, 0.5))
            continue
        for _topic, body in traffic.next(datetime.now(timezone.utc), now_s - started):
            if limit is not None and sent >= limit:
                break
            answers[post_alert(url, token, body)] += 1
            sent += 1
    return answers


def run(config, args) -> int:
    from .registry_file import write_rows

    if args.write_registry:
        rows = devices(args.seed)
        write_rows(Path(args.write_registry), rows)
        print(f"wrote {len(rows)} devices to {args.write_registry} "
              f"(import with: jingzhi devices import {args.write_registry})")
        return 0
    if args.http:
        if not args.token:
            print("--http needs --token (create one with: jingzhi token create USER)", file=sys.stderr)
            return 2
        answers = send_over_http(args.http, args.token, Traffic(args.seed, args.bad, args.topic_root), args.rate,
                                 threading.Event(), args.duration)
        print(f"sent {sum(answers.values())} messages over HTTP, answers: {dict(answers)}")
        return 0
    import paho.mqtt.client as mqtt

    from .ingest import broker_address

    host, port, user, password = broker_address(args.url or config.mqtt_url or "mqtt://127.0.0.1:1883")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"jingzhi-simulate-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5)
    if user:
        client.username_pw_set(user, password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    traffic = Traffic(args.seed, args.bad, args.topic_root)
    started = time.monotonic()
    next_drill = started + args.drill_every if args.drill_every > 0 else float("inf")
    sent, last_progress, pending = 0, 0.0, None
    try:
        while (now_s := time.monotonic()) - started < args.duration:
            due = started + sent / args.rate
            if due > now_s:
                time.sleep(min(due - now_s, 0.05))
                continue
            moment = datetime.now(timezone.utc)
            batch = traffic.drill(moment, now_s - started) if now_s >= next_drill else []
            if batch:
                next_drill += args.drill_every
            batch += traffic.next(moment, now_s - started)
            for topic, body in batch:
                pending = client.publish(topic, body, qos=1)
                sent += 1
            if not args.quiet and now_s - last_progress >= 0.5:
                _progress(traffic, sent, started, args.duration)
                last_progress = now_s
        if pending is not None:
            pending.wait_for_publish(timeout=30)
    except KeyboardInterrupt:
        pass
    finally:
        if not args.quiet:
            _progress(traffic, sent, started, args.duration)
            sys.stderr.write("\n")
        client.disconnect()
        client.loop_stop()
    print(f"sent {sent} messages: {json.dumps(traffic.counts)}")
    return 0
