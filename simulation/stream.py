"""The recorded stream of a simulated period: every sensor message and citizen or patrol report, in time order.

A stream is made once from a seed (:func:`generate`) and then replayed through one or more setups
(:mod:`simulation.model`), so two setups of a what-if see exactly the same district. It holds plain JSON values and
can be written to and read from a JSON-lines file (:func:`save`, :func:`load`).

Sensor messages are made by :class:`sensors.simulate.Traffic` (the one owner of the message format and the
district's flapping devices); this module only decides when they happen: incidents per device type with daily cycles,
alarms repeated while the problem lasts, a clear when it ends, false alarms that clear after minutes, flappers.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sensors.district import devices
from sensors.simulate import Traffic

#: A device repeats its alarm while the problem lasts, but only within this many minutes of the first alarm and at
#: most MAX_REPEATS times. A recorded stream cannot know when officers fixed the problem; repeats all through a
#: long incident would arrive after its case closed and open new cases that no handling could prevent (the engine
#: rightly treats an alarm after its case ended as a new problem). The clear still comes when the incident ends.
REPEAT_WINDOW_MIN, MAX_REPEATS = 30, 3


@dataclass(order=True)
class Event:
    """One thing that happens at ``at`` (virtual seconds since the start): a sensor message or a report."""

    at: float
    seq: int
    kind: str = field(compare=False)          # sensor | report
    body: dict = field(compare=False)         # the sensor message, or a report's start data
    truth: str = field(compare=False, default="real")  # real | false: what the officer will find

    def to_json(self) -> dict:
        return {"at": self.at, "seq": self.seq, "kind": self.kind, "body": self.body, "truth": self.truth}


@dataclass
class Stream:
    start: datetime
    days: float
    seed: int
    events: list[Event]
    #: registry rows of the devices the messages name, for a stream exported from a database
    #: (:mod:`simulation.recorded`); None: the generated district's devices
    devices: list[dict] | None = None

    def counts(self) -> dict:
        out: dict[str, int] = {}
        for e in self.events:
            key = e.body["event"] if e.kind == "sensor" else e.body["channel"]
            out[key] = out.get(key, 0) + 1
        return out


def _cycle(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, normal approximation for large ones)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _arrivals(rng: random.Random, per_day: float, cycle: list[float], days: float) -> list[float]:
    """Arrival times (seconds) of a non-homogeneous Poisson process with ``per_day`` a day shaped by ``cycle``."""
    times = []
    for hour in range(math.ceil(days * 24)):
        for _ in range(_poisson(rng, per_day * cycle[hour % 24])):
            at = (hour + rng.random()) * 3600
            if at < days * 86400:
                times.append(at)
    return sorted(times)


def _minutes(rng: random.Random, median_sigma: list[float]) -> float:
    median, sigma = median_sigma
    return median * math.exp(rng.gauss(0, sigma))


def generate(params: dict, days: float, seed: int, start: datetime, scale: float = 1.0,
             scenarios: set[str] | None = None) -> Stream:
    """The stream of ``days`` from ``start`` for ``seed``. ``scale`` multiplies every arrival rate (a smaller district
    for tests); ``scenarios`` keeps only incidents and reports of those scenarios."""
    rng = random.Random(f"stream/{seed}")
    rows = devices(7)     # the district's registry is always seed 7, as `jingzhi demo` registers it
    traffic = Traffic(seed=seed, bad_share=0.0, rows=rows)
    cycles = {name: _cycle(w) for name, w in params["daily_cycles"].items() if not name.startswith("_")}
    sensors = params["sensors"]
    by_scenario: dict[str, list[dict]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    raw: list[tuple[float, str, object, str]] = []   # (at, kind, (row, event) or report data, truth)
    for scenario in sorted(by_scenario):
        if scenarios is not None and scenario not in scenarios:
            continue
        spec = sensors.get(scenario, sensors["default"])
        group = by_scenario[scenario]
        for at in _arrivals(rng, spec["per_device_day"] * len(group) * scale, cycles[spec["cycle"]], days):
            row = rng.choice(group)
            false = rng.random() < spec["false_share"]
            lasts = rng.uniform(1, 8) if false else _minutes(rng, spec["lasts"])
            raw.append((at, "sensor", (row, "alarm"), "false" if false else "real"))
            repeats = min(int(min(lasts, REPEAT_WINDOW_MIN) // spec["repeat_every"]), MAX_REPEATS)
            for n in range(1, repeats + 1):
                raw.append((at + n * spec["repeat_every"] * 60, "sensor", (row, "alarm"), "repeat"))
            raw.append((at + lasts * 60, "sensor", (row, "clear"), "clear"))
    flap = params["flappers"]
    for row in traffic.flappers:
        if scenarios is not None and row["scenario"] not in scenarios:
            continue
        for at in _arrivals(rng, 1440 / flap["every"] * scale, cycles["flat"], days):
            raw.append((at, "sensor", (row, "alarm"), "false"))
            raw.append((at + flap["clear_after"] * 60, "sensor", (row, "clear"), "clear"))
    reports = params["reports"]
    mix = [(s, w) for s, w in reports["mix"].items() if scenarios is None or s in scenarios]
    for channel in ("hotline", "resident", "patrol"):
        spec = reports[channel]
        if not mix:
            break
        for at in _arrivals(rng, spec["per_day"] * scale, cycles[spec["cycle"]], days):
            scenario = rng.choices([s for s, _ in mix], [w for _, w in mix])[0]
            row = rng.choice(rows)
            data = {"scenario": scenario, "channel": channel, "severity": "medium",
                    "address": row["address"], "lat": row["lat"], "lon": row["lon"],
                    "description": f"simulated {channel} report"}
            raw.append((at, "report", data, "false" if rng.random() < spec["not_a_case"] else "real"))
    raw.sort(key=lambda item: item[0])
    events = []
    for seq, (at, kind, what, truth) in enumerate(raw):
        moment = start + timedelta(seconds=at)
        if kind == "sensor":
            row, event = what
            _topic, body = traffic.alarm(row, moment) if event == "alarm" else traffic.clear(row, moment)
            events.append(Event(at, seq, kind, json.loads(body), truth))
        else:
            events.append(Event(at, seq, kind, dict(what, reported_at=moment.isoformat()), truth))
    return Stream(start, days, seed, events)


def save(stream: Stream, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        head = {"start": stream.start.isoformat(), "days": stream.days, "seed": stream.seed}
        if stream.devices is not None:
            head["devices"] = stream.devices
        out.write(json.dumps(head, ensure_ascii=False) + "\n")
        for event in stream.events:
            out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")


def load(path: Path) -> Stream:
    with open(path, encoding="utf-8") as lines:
        head = json.loads(next(lines))
        events = [Event(**json.loads(line)) for line in lines if line.strip()]
    return Stream(datetime.fromisoformat(head["start"]), head["days"], head["seed"], events, head.get("devices"))
