"""`jingzhi ingest`: the MQTT subscriber that turns sensor messages into stored alerts and cases.

Delivery guarantees come from the broker, so the client asks for all of them: MQTT 5 with ``clean_start=False`` and
a session expiry (the broker keeps the subscription and queues messages while the ingester is away), QoS 1, a shared
subscription ``$share/<group>/<root>/+/+`` (several ingesters split the load, each message goes to one of them),
and manual acknowledgement: a PUBACK is sent only after the batch holding the message has committed. A crash before
the commit makes the broker deliver the message again; the ``msg_id`` makes the second delivery a no-op.

Threads: paho's network loop only parses and hands over (``on_message`` puts the packet on a queue); the writer
takes up to ``batch_size`` messages, stores them with :func:`sensors.intake.accept_batch` in one transaction and
then acknowledges them; the starter opens the cases of new alarms (SpiffWorkflow, after the commit) and delivers the clears of the batch;
the periodic sweep (silent devices, held clears, ended cases) belongs to `jingzhi ticker` (:mod:`engine.ticker`).
"""
from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from engine import alarms

from .intake import ACCEPTED, DEAD_LETTER, DUPLICATE, Incoming, accept_batch

log = logging.getLogger(__name__)


#: How long the broker keeps our session (subscription and queued messages) while no ingester of it is connected.
SESSION_EXPIRY_S = 7 * 24 * 3600
#: MQTT 5 Receive Maximum: unacknowledged messages the broker may have in flight to us. Acks come per batch, so it
#: must exceed the batch size or the broker would stall waiting for acks we only send after the next commit.
RECEIVE_MAXIMUM = 2000
#: Messages per transaction, and how long the writer waits to fill a batch: a short wait keeps latency low when
#: traffic is light, a big batch amortizes the commit when it is heavy.
BATCH_SIZE = 500
BATCH_WAIT_S = 0.02
#: Backoff after a failed batch (database down): the messages stay unacknowledged and are retried.
RETRY_S = 1.0


@dataclass(frozen=True)
class IngestSettings:
    url: str = "mqtt://127.0.0.1:1883"
    topic_root: str = "jingzhi/sensors"
    group: str | None = "jingzhi"
    client_id: str = field(default_factory=lambda: f"jingzhi-ingest-{socket.gethostname()}")
    session_expiry_s: int = SESSION_EXPIRY_S
    receive_maximum: int = RECEIVE_MAXIMUM
    batch_size: int = BATCH_SIZE
    batch_wait_s: float = BATCH_WAIT_S
    #: Processes that start the cases of new alarms. 0: a thread of the ingester, sharing its GIL with the writer;
    #: each process has its own interpreter, so case starts (SpiffWorkflow, CPU) run beside the batches.
    starter_processes: int = 0

    @property
    def subscription(self) -> str:
        topic = f"{self.topic_root}/+/+"
        return f"$share/{self.group}/{topic}" if self.group else topic


@dataclass
class Stats:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    acked: int = 0
    cases_opened: int = 0
    failed_batches: int = 0
    batch_seconds: float = 0.0
    start_seconds: float = 0.0

    def line(self) -> str:
        batch_ms = 1000 * self.batch_seconds / self.batches if self.batches else 0.0
        start_ms = 1000 * self.start_seconds / self.cases_opened if self.cases_opened else 0.0
        return (f"received={self.received} accepted={self.accepted} duplicates={self.duplicates} "
                f"dead_letters={self.dead_letters} cases_opened={self.cases_opened} batches={self.batches} "
                f"failed_batches={self.failed_batches} batch_ms_avg={batch_ms:.1f} "
                f"msgs_per_batch={self.received / max(self.batches, 1):.0f} case_start_ms_avg={start_ms:.1f}")


@dataclass(frozen=True)
class _Packet:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received: float


def broker_address(url: str) -> tuple[str, int, str | None, str | None]:
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"unsupported broker URL scheme '{parsed.scheme}' (mqtt://host:port)")
    return parsed.hostname or "127.0.0.1", parsed.port or 1883, parsed.username, parsed.password


def _starter_main(config, alarm_ids, opened, seconds, stop, parent_pid: int) -> None:
    """A starter process: start the cases of the alarm ids the writer sends (spawned, so it owns its connections).

    It ends with its ingester, even one killed outright: an orphan has another parent.
    """
    from engine import Engine

    engine = Engine(config)
    try:
        while not stop.is_set() and os.getppid() == parent_pid:
            try:
                alarm_id = alarm_ids.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                started = time.perf_counter()
                if alarms.open_case(engine, alarm_id) is not None:
                    with opened.get_lock():
                        opened.value += 1
                        seconds.value += time.perf_counter() - started
            except Exception:  # the alarm stays claimed; the sweep takes it over when the lease runs out
                log.exception("starting the case of alarm %s failed", alarm_id)
    except KeyboardInterrupt:
        pass
    finally:
        engine.store.dispose()


class Ingester:
    def __init__(self, engine, settings: IngestSettings | None = None, on_batch=None):
        self.engine = engine
        self.settings = settings or IngestSettings()
        self.stats = Stats()
        self.on_batch = on_batch            # called with (packets, results) after each commit (benchmarks)
        self._incoming: queue.Queue[_Packet] = queue.Queue()
        self._starts: queue.Queue[int] = queue.Queue()
        self._clears: queue.Queue[list[int]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = self._client()
        self._children: list = []
        if self.settings.starter_processes:
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            self._child_queue = context.Queue()
            self._child_opened = context.Value("i", 0)
            self._child_seconds = context.Value("d", 0.0)
            self._child_stop = context.Event()
            self._children = [context.Process(target=_starter_main, name=f"ingest-starter-{n}", daemon=True, args=(
                engine.config, self._child_queue, self._child_opened, self._child_seconds, self._child_stop,
                os.getpid()))
                for n in range(self.settings.starter_processes)]

    # -- MQTT -----------------------------------------------------------------------------------------------------
    def _client(self) -> mqtt.Client:
        host, port, user, password = broker_address(self.settings.url)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.settings.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        if user:
            client.username_pw_set(user, password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._address = (host, port)
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%s (session present: %s)", *self._address, flags.session_present)
        self.connected.set()
        client.subscribe(self.settings.subscription, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        log.info("subscribed to %s: %s", self.settings.subscription, [str(c) for c in reason_codes])
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        # Parse and hand over, nothing else: validation and storage happen on the writer thread.
        self._incoming.put(_Packet(message.mid, message.qos, message.topic, message.payload, time.time()))

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> "Ingester":
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        properties.ReceiveMaximum = self.settings.receive_maximum
        for child in self._children:
            child.start()
        self.client.connect_async(*self._address, keepalive=30, clean_start=False, properties=properties)
        self.client.loop_start()
        for target, name in ((self._write_loop, "ingest-writer"), (self._start_loop, "ingest-starter")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, acknowledge it, and disconnect (the session stays on the broker)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        if self._children:
            self._child_stop.set()
            for child in self._children:
                child.join(timeout)
                if child.is_alive():
                    child.terminate()
            self.stats.cases_opened += self._child_opened.value
            self.stats.start_seconds += self._child_seconds.value

    def request_stop(self) -> None:
        """Ask :meth:`run_forever` to finish (from a signal handler)."""
        self._stop.set()

    def run_forever(self) -> None:
        self.start()
        last = time.monotonic()
        try:
            while not self._stop.wait(1.0):
                if time.monotonic() - last >= 60:
                    log.info("ingest: %s", self.stats.line())
                    last = time.monotonic()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            log.info("ingest stopped: %s", self.stats.line())

    # -- writer ---------------------------------------------------------------------------------------------------
    def _take_batch(self) -> list[_Packet]:
        try:
            batch = [self._incoming.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.settings.batch_wait_s
        while len(batch) < self.settings.batch_size:
            try:
                batch.append(self._incoming.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._incoming.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _write_loop(self) -> None:
        while not self._stop.is_set():  # what is still queued at a stop is not acknowledged: redelivered
            packets = self._take_batch()
            if not packets:
                continue
            while True:
                try:
                    self._write(packets)
                    break
                except Exception:  # the database is away: keep the messages unacknowledged and try again
                    self.stats.failed_batches += 1
                    log.exception("storing a batch of %d messages failed; retrying", len(packets))
                    if self._stop.wait(RETRY_S):
                        return  # stopping: unacknowledged messages are redelivered to whoever comes next

    def _write(self, packets: list[_Packet]) -> None:
        started = time.perf_counter()
        batch = accept_batch(self.engine, [Incoming(p.payload, "mqtt", p.topic) for p in packets])
        for packet in packets:  # after the commit, never before
            if packet.qos > 0:
                self.client.ack(packet.mid, packet.qos)
        stats = self.stats
        stats.batch_seconds += time.perf_counter() - started
        stats.batches += 1
        stats.received += len(packets)
        stats.acked += len(packets)
        for result in batch.results:
            if result.status == ACCEPTED:
                stats.accepted += 1
            elif result.status == DUPLICATE:
                stats.duplicates += 1
            elif result.status == DEAD_LETTER:
                stats.dead_letters += 1
        for alarm_id in batch.new_alarms:
            (self._child_queue if self._children else self._starts).put(alarm_id)
        if batch.pending_clears:
            self._clears.put(batch.pending_clears)
        if self.on_batch is not None:
            self.on_batch(packets, batch)

    # -- starter --------------------------------------------------------------------------------------------------
    def _start_loop(self) -> None:
        while not self._stop.is_set():
            try:
                alarm_id = self._starts.get(timeout=0.1)
            except queue.Empty:
                alarm_id = None
            try:
                if alarm_id is not None:
                    started = time.perf_counter()
                    if alarms.open_case(self.engine, alarm_id) is not None:
                        self.stats.cases_opened += 1
                        self.stats.start_seconds += time.perf_counter() - started
                while not self._clears.empty():
                    alarms.deliver_clears(self.engine, self._clears.get_nowait())
            except Exception:  # a failed start stays pending in the database; the ticker's sweep retries it
                log.exception("opening cases or delivering clears failed")
                self._stop.wait(RETRY_S)
