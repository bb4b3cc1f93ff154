"""`jingzhi ingest`: the MQTT subscriber that turns sensor messages into stored alerts and cases.

Delivery guarantees come from the broker, so the client asks for all of them: MQTT 5 with ``clean_start=False`` and
a session expiry (the broker keeps the subscription and queues messages while the ingester is away), QoS 1, a plain
subscription ``<root>/+/+``, and manual acknowledgement: a PUBACK is sent only after the batch holding the message
has committed, and only on the connection that delivered it. A crash before the commit makes the broker deliver the
message again; the ``msg_id`` makes the second delivery a no-op.

Why not a shared subscription (``$share/...``): Mosquitto 2.0 restores a persistent session after a restart but not
its shared subscriptions, so everything published between the broker's restart and the ingester's re-subscribe had
no queue and was dropped, although acknowledged to the sensor (issue 11: 1,751 of 5,000). A plain subscription is
part of the stored session and queues from the moment the broker is back.

Several ingesters split the load by partition instead (``partition`` of ``partitions``): each subscribes to every
topic on its own session and keeps the devices whose id hashes (CRC-32) to its partition; the others' messages it
acknowledges at once, since their owner's session holds its own copy. A device always goes to the same ingester, so
its alarms and clears stay in order. Each partition needs an ingester with a fixed client id that comes back.

Acks and reconnects: a packet remembers the connection it came on (``_generation``, bumped under ``_ack_lock`` on
every disconnect and connect). A PUBACK for a packet of an earlier connection is never sent - the packet id would
name another message on the new connection - and packets of an earlier connection still waiting in the queue are
dropped unstored: the broker sends them again on the new connection.

Threads: paho's network loop only parses and hands over (``on_message`` puts the packet on a queue); the writer
takes up to ``batch_size`` messages, stores them with :func:`sensors.intake.accept_batch` in one transaction and
then acknowledges them, and hands what follows the commit (the cases of the batch's new alarms, started many to a
transaction; its held clears) to the jobs as one ``alarms.after_commit`` job: on RQ for `jingzhi worker` when
``REDIS_URL`` is set, else on the jobs' background thread in this process. A job lost with its process or worker
leaves its alarms unstarted in the database, where the ticker's alarm sweep (:mod:`engine.ticker`) starts them; the
periodic sweep (silent devices, held clears, ended cases) is the ticker's too.
"""
from __future__ import annotations

import logging
import queue
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from engine import Engine, Jobs

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
    #: This ingester's share of the devices: it stores the messages of devices with crc32(id) % partitions ==
    #: partition (one ingester: 0 of 1, everything).
    partition: int = 0
    partitions: int = 1
    client_id: str = field(default_factory=lambda: f"jingzhi-ingest-{socket.gethostname()}")
    session_expiry_s: int = SESSION_EXPIRY_S
    receive_maximum: int = RECEIVE_MAXIMUM
    batch_size: int = BATCH_SIZE
    batch_wait_s: float = BATCH_WAIT_S

    def __post_init__(self):
        if self.partitions < 1 or not 0 <= self.partition < self.partitions:
            raise ValueError(f"partition {self.partition} of {self.partitions}: want 0 <= partition < partitions")

    @property
    def subscription(self) -> str:
        return f"{self.topic_root}/+/+"

    def owns(self, topic: str) -> bool:
        """Whether this ingester stores the message on ``topic`` (``<root>/<device_id>/<event>``)."""
        if self.partitions == 1:
            return True
        device_id = topic.rsplit("/", 2)[-2] if topic.count("/") >= 2 else topic
        return zlib.crc32(device_id.encode("utf-8", "surrogatepass")) % self.partitions == self.partition


@dataclass
class Stats:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    acked: int = 0
    not_ours: int = 0          # messages of another partition, acknowledged on arrival
    stale: int = 0             # packets of an earlier connection, dropped (the broker sends them again)
    acks_withheld: int = 0     # stored, but the connection that delivered them had gone: the broker sends them again
    new_alarms: int = 0        # handed to after-commit jobs, which start their cases
    jobs: int = 0
    failed_batches: int = 0
    batch_seconds: float = 0.0

    def line(self) -> str:
        batch_ms = 1000 * self.batch_seconds / self.batches if self.batches else 0.0
        return (f"received={self.received} accepted={self.accepted} duplicates={self.duplicates} "
                f"dead_letters={self.dead_letters} not_ours={self.not_ours} stale={self.stale} "
                f"acks_withheld={self.acks_withheld} new_alarms={self.new_alarms} jobs={self.jobs} "
                f"batches={self.batches} failed_batches={self.failed_batches} batch_ms_avg={batch_ms:.1f} "
                f"msgs_per_batch={self.received / max(self.batches, 1):.0f}")


@dataclass(frozen=True)
class _Packet:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received: float
    generation: int


def broker_address(url: str) -> tuple[str, int, str | None, str | None]:
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"unsupported broker URL scheme '{parsed.scheme}' (mqtt://host:port)")
    return parsed.hostname or "127.0.0.1", parsed.port or 1883, parsed.username, parsed.password


class Ingester:
    def __init__(self, engine: Engine, settings: IngestSettings | None = None, on_batch=None, jobs: Jobs | None = None):
        self.engine = engine
        self.settings = settings or IngestSettings()
        #: who runs the after-commit work of each batch: RQ with REDIS_URL, else a background thread of this process
        self.jobs = jobs or Jobs.for_config(engine.config, engine)
        self.stats = Stats()
        self.on_batch = on_batch            # called with (packets, results) after each commit (benchmarks)
        self._incoming: queue.Queue[_Packet] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        # The connection a packet came on; see the module docs. Bumped and compared under the lock, so an ack is
        # either queued before paho resets its outgoing packets for a reconnect, or not sent at all.
        self._ack_lock = threading.Lock()
        self._generation = 0
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = self._client()

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
        client.on_pre_connect = self._on_pre_connect
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._address = (host, port)
        return client

    def _new_connection(self) -> None:
        with self._ack_lock:
            self._generation += 1

    def _on_pre_connect(self, client, userdata):
        self._new_connection()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self._new_connection()
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
        self._new_connection()
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        # Parse and hand over, nothing else: validation and storage happen on the writer thread.
        if not self.settings.owns(message.topic):
            self.stats.not_ours += 1
            if message.qos > 0:
                client.ack(message.mid, message.qos)   # this network thread, this connection: the owner has a copy
            return
        self._incoming.put(_Packet(message.mid, message.qos, message.topic, message.payload, time.time(),
                                   self._generation))

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> "Ingester":
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        properties.ReceiveMaximum = self.settings.receive_maximum
        self.client.connect_async(*self._address, keepalive=30, clean_start=False, properties=properties)
        self.client.loop_start()
        thread = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
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
        self.jobs.close(timeout)   # in-process: the starts already handed over finish; on RQ they wait in Redis

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
        current = [p for p in packets if p.generation == self._generation]
        self.stats.stale += len(packets) - len(current)
        packets = current
        if not packets:
            return
        started = time.perf_counter()
        batch = accept_batch(self.engine, [Incoming(p.payload, "mqtt", p.topic) for p in packets])
        with self._ack_lock:  # after the commit, never before; only on the connection that delivered the message
            for packet in packets:
                if packet.qos == 0:
                    continue
                if packet.generation == self._generation:
                    self.client.ack(packet.mid, packet.qos)
                    self.stats.acked += 1
                else:
                    self.stats.acks_withheld += 1
        stats = self.stats
        stats.batch_seconds += time.perf_counter() - started
        stats.batches += 1
        stats.received += len(packets)
        for result in batch.results:
            if result.status == ACCEPTED:
                stats.accepted += 1
            elif result.status == DUPLICATE:
                stats.duplicates += 1
            elif result.status == DEAD_LETTER:
                stats.dead_letters += 1
        if batch.new_alarms or batch.pending_clears:
            self._after_commit(batch.new_alarms, batch.pending_clears)
        if self.on_batch is not None:
            self.on_batch(packets, batch)

    def _after_commit(self, new_alarms: list[int], pending_clears: list[int]) -> None:
        """One job for the batch: its cases started in one transaction, its clears delivered. A job that cannot be
        handed over (Redis away) is left to the ticker's sweep: the alarms are stored, the batch acknowledged."""
        try:
            self.jobs.background("alarms.after_commit", new_alarms=list(new_alarms),
                                 pending_clears=list(pending_clears))
        except Exception:
            log.exception("handing %d new alarms and %d clears to the jobs failed; the ticker's sweep takes them",
                          len(new_alarms), len(pending_clears))
            return
        self.stats.jobs += 1
        self.stats.new_alarms += len(new_alarms)
