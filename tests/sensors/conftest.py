"""Fixtures for the sensor edge: a district of a few devices, a sensor engine on PostgreSQL, brokers, publishers.

MQTT tests run against the real Mosquitto (``JINGZHI_TEST_MQTT_URL``, default the local broker) with a topic root
and client ids unique to each test, so parallel runs never take each other's messages. The tests that
restart a broker start their own ``mosquitto`` on a free port with a persistence directory of their own.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from engine import Config, Engine, clock
from engine.alarms.devices import import_devices
from sensors.ingest import IngestSettings, Ingester
from tests.conftest import _empty_postgres, read_files

ROOT = Path(__file__).resolve().parent.parent.parent
MQTT_URL = os.environ.get("JINGZHI_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")

DEVICES = [
    {"id": "SMK-1", "device_type": "smoke_alarm", "scenario": "three_in_one", "lat": 31.2701, "lon": 121.4812,
     "address": "广中路 268号 底商", "compound": None, "inside_compound": False, "owner_team": "fire_station",
     "heartbeat_interval_s": 60},
    {"id": "DCM-1", "device_type": "door_closure_monitor", "scenario": "door_open", "lat": 31.2731,
     "lon": 121.4745, "address": "水电路191弄 何家宅小区 5号楼", "compound": "何家宅小区", "inside_compound": True,
     "owner_team": "property_company", "heartbeat_interval_s": 300},
    {"id": "GEO-1", "device_type": "geomagnetic_detector", "scenario": "fire_lane", "lat": 31.2731,
     "lon": 121.4745, "address": "水电路191弄 何家宅小区 3号楼消防通道", "compound": "何家宅小区",
     "inside_compound": True, "owner_team": "property_company", "heartbeat_interval_s": 300},
    {"id": "HYD-1", "device_type": "hydrant_pressure_monitor", "scenario": "hydrant_pressure", "lat": 31.2731,
     "lon": 121.4745, "address": "水电路191弄 何家宅小区 12号楼消火栓", "compound": "何家宅小区",
     "inside_compound": True, "owner_team": "water_company", "heartbeat_interval_s": 600},
    {"id": "ANC-1", "device_type": "patrol_anchor", "scenario": "cleaning_patrol", "lat": 31.268, "lon": 121.479,
     "address": "西江湾路 巡更锚点 07", "compound": None, "inside_compound": False, "owner_team": "sanitation",
     "heartbeat_interval_s": 900},
]


def deploy_all(engine: Engine) -> None:
    engine.deploy(read_files(ROOT / "bpmn"), deployed_by="test")


@pytest.fixture
def sensor_engine(engine):
    """The engine fixture (SQLite and PostgreSQL, manual clock) with the diagrams deployed and DEVICES registered."""
    deploy_all(engine)
    import_devices(engine.store, DEVICES)
    return engine


@pytest.fixture
def pg_engine(postgres_url):
    """An engine on the real PostgreSQL with the system clock (MQTT tests run threads and subprocesses)."""
    _empty_postgres(postgres_url)
    clock.system()
    instance = Engine(Config(database_url=postgres_url, script_time_limit_s=2))
    deploy_all(instance)
    import_devices(instance.store, DEVICES)
    yield instance
    instance.store.dispose()


def message(device_id: str, scenario: str, event: str, msg_id: str | None = None, ts: datetime | None = None,
            **extra) -> dict:
    return {"msg_id": msg_id or uuid.uuid4().hex, "device_id": device_id, "scenario": scenario, "event": event,
            "ts": (ts or clock.now()).astimezone(timezone.utc).isoformat(), **extra}


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll until ``predicate()`` is truthy (bounded: fails after ``timeout`` seconds, never asserts a duration)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(interval)


class Publisher:
    """A QoS 1 publisher that waits for every PUBACK (so a message is on the broker when publish returns)."""

    def __init__(self, url: str, root: str):
        from sensors.ingest import broker_address

        host, port, _, _ = broker_address(url)
        self.root = root
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:10]}",
                                  protocol=mqtt.MQTTv5)
        self.client.connect(host, port)
        self.client.loop_start()

    def send(self, payload: dict | bytes | str, device_id: str | None = None, event: str | None = None) -> None:
        if isinstance(payload, dict):
            device_id, event = device_id or payload["device_id"], event or payload["event"]
            payload = json.dumps(payload, ensure_ascii=False)
        info = self.client.publish(f"{self.root}/{device_id}/{event}", payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_names():
    """A topic root and client-id prefix of this test's own."""
    tag = uuid.uuid4().hex[:10]
    return {"root": f"test-{tag}/jingzhi/sensors", "group": f"g{tag}", "client": f"jz-test-{tag}"}


@pytest.fixture
def publisher(mqtt_names):
    pub = Publisher(MQTT_URL, mqtt_names["root"])
    yield pub
    pub.close()


def settings(names: dict, n: int = 1, url: str = MQTT_URL, **overrides) -> IngestSettings:
    return IngestSettings(url=url, topic_root=names["root"], client_id=f"{names['client']}-{n}", **overrides)


@pytest.fixture
def ingesters(pg_engine):
    """start(settings) -> a running Ingester in this process; all are stopped at the end."""
    running = []

    def _start(ingest_settings: IngestSettings, engine=None, jobs=None) -> Ingester:
        ingester = Ingester(engine or pg_engine, ingest_settings, jobs=jobs).start()
        wait_for(ingester.subscribed.is_set, 15, what="the subscription")
        running.append(ingester)
        return ingester

    yield _start
    for ingester in running:
        ingester.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """A mosquitto of our own (persistence on), which tests may stop and start again."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {directory}/\nautosave_interval 1\n"
                             "max_queued_messages 100000\n"
                             # run as root, mosquitto would switch to the mosquitto user, who cannot write here
                             "user root\n")
        self.process: subprocess.Popen | None = None
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        wait_for(listening, 10, what="mosquitto to listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()   # SIGTERM: mosquitto saves its persistence file on the way out
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_broker(tmp_path):
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        pytest.fail("mosquitto is not installed (bash scripts/ensure-services.sh --install)")
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


REDIS_URL = os.environ.get("JINGZHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def jobs_on_redis(engine):
    """Jobs of ``engine`` on the real Redis, on a queue of this test's own (parallel runs never run each other's
    jobs); a generator for fixtures, which empties and deletes the queue at the end."""
    from redis import Redis

    from engine import Jobs

    connection = Redis.from_url(REDIS_URL)
    jobs = Jobs(engine, connection, queue_name=f"test-{uuid.uuid4().hex[:8]}")
    yield jobs
    jobs.queue.empty()
    jobs.queue.delete(delete_jobs=True)
    connection.close()


@pytest.fixture
def rq_jobs(pg_engine):
    yield from jobs_on_redis(pg_engine)
