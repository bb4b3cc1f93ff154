"""The device registry: import, list with filters, and the in-memory lookup the ingesters validate against.

Plain values in, plain values out. The sensors edge parses CSV or JSON files and hands rows over; this module checks
them and writes them (an import of a device already registered updates it). :class:`Registry` keeps every device
in memory (9,165 rows are a few MB): validating a message must not cost a query. A miss is looked up once and
remembered for :data:`MISS_TTL_S`, so a device imported while an ingester runs is found within seconds.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from .. import clock
from ..exceptions import JingzhiError
from ..models import Alarm, Device

log = logging.getLogger(__name__)

_devices, _alarms = Device.__table__, Alarm.__table__

#: Heartbeat interval of a device whose row does not give one: sensors of this kind report every 5 minutes.
DEFAULT_HEARTBEAT_S = 300
#: Seconds a lookup of an unknown device id is remembered as unknown (garbage ids must not cost a query each).
MISS_TTL_S = 10.0
#: Rows written per statement when importing.
IMPORT_CHUNK = 500


class RegistryInvalid(JingzhiError):
    """Rows of a device import that are not usable; ``details`` lists them (nothing was stored)."""

    code = "registry_invalid"


@dataclass(frozen=True)
class DeviceInfo:
    id: str
    device_type: str
    scenario: str
    lat: float | None
    lon: float | None
    address: str | None
    compound: str | None
    inside_compound: bool
    owner_team: str | None
    heartbeat_interval_s: int

    def as_dict(self) -> dict:
        return asdict(self)


_INFO_COLUMNS = tuple(_devices.c[name] for name in DeviceInfo.__dataclass_fields__)


def dialect_insert(connection, table):
    """INSERT with ON CONFLICT support on the two backends (PostgreSQL and SQLite share the syntax)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "y", "inside", "内", "圍墻內", "围墙内")


def _float(value):
    return None if value in (None, "") else float(value)


def clean_row(row: dict, n: int) -> dict:
    """One registry row checked and typed; raises ValueError naming the problem."""
    device_id = str(row.get("id") or row.get("device_id") or "").strip()
    scenario = str(row.get("scenario") or "").strip()
    if not device_id or len(device_id) > 80:
        raise ValueError("id is missing or longer than 80 characters")
    if not scenario:
        raise ValueError("scenario is missing")
    lat, lon = _float(row.get("lat")), _float(row.get("lon"))
    if lat is not None and not -90 <= lat <= 90 or lon is not None and not -180 <= lon <= 180:
        raise ValueError("lat/lon out of range")
    interval = int(row.get("heartbeat_interval_s") or DEFAULT_HEARTBEAT_S)
    if interval <= 0:
        raise ValueError("heartbeat_interval_s must be positive")
    return dict(id=device_id, device_type=str(row.get("device_type") or row.get("type") or scenario).strip(),
                scenario=scenario, lat=lat, lon=lon, address=(row.get("address") or None),
                compound=(row.get("compound") or None), inside_compound=_truthy(row.get("inside_compound", False)),
                owner_team=(row.get("owner_team") or None), heartbeat_interval_s=interval)


def import_devices(store, rows: list[dict]) -> int:
    """Register or update devices; all or nothing. Returns how many rows were written."""
    cleaned, problems = [], []
    for n, row in enumerate(rows, start=1):
        try:
            cleaned.append(clean_row(row, n))
        except (ValueError, TypeError) as err:
            problems.append({"row": n, "id": row.get("id"), "problem": str(err)})
    if problems:
        raise RegistryInvalid(f"{len(problems)} device row(s) refused", problems[:50])
    now = clock.now()
    with store.begin() as connection:
        for start in range(0, len(cleaned), IMPORT_CHUNK):
            chunk = cleaned[start:start + IMPORT_CHUNK]
            statement = dialect_insert(connection, _devices)
            updated = {k: statement.excluded[k] for k in chunk[0] if k != "id"}
            connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updated),
                               [dict(row, status="unknown", registered_at=now) for row in chunk])
    return len(cleaned)


def list_devices(store, scenario: str | None = None, compound: str | None = None, owner_team: str | None = None,
                 status: str | None = None, inside: bool | None = None, with_open_alarms: bool = False,
                 limit: int | None = None) -> list[dict]:
    """Devices with their last sighting and open alarm count, filtered; ordered by id."""
    open_alarms = (select(_alarms.c.device_id, func.count().label("open_alarms"))
                   .where(_alarms.c.status == "open").group_by(_alarms.c.device_id).subquery())
    query = (select(_devices, func.coalesce(open_alarms.c.open_alarms, 0).label("open_alarms"))
             .outerjoin(open_alarms, open_alarms.c.device_id == _devices.c.id))
    for column, value in (("scenario", scenario), ("compound", compound), ("owner_team", owner_team),
                          ("status", status), ("inside_compound", inside)):
        if value is not None:
            query = query.where(_devices.c[column] == value)
    if with_open_alarms:
        query = query.where(open_alarms.c.open_alarms > 0)
    query = query.order_by(_devices.c.id)
    if limit:
        query = query.limit(limit)
    with store.read() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def open_alarms(store, device_id: str | None = None) -> list[dict]:
    query = select(_alarms).where(_alarms.c.status == "open").order_by(_alarms.c.id)
    if device_id is not None:
        query = query.where(_alarms.c.device_id == device_id)
    with store.read() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def registered(store, device_id: str) -> dict | None:
    """A device's registry row (a camera's place), or None."""
    with store.read() as connection:
        row = connection.execute(select(_devices).where(_devices.c.id == device_id)).mappings().first()
    return dict(row) if row else None


class Registry:
    """Every registered device in memory, by id; thread-safe."""

    def __init__(self, store):
        self.store = store
        self._devices: dict[str, DeviceInfo] | None = None
        self._misses: dict[str, float] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, DeviceInfo]:
        with self.store.read() as connection:
            return {row.id: DeviceInfo(*row) for row in connection.execute(select(*_INFO_COLUMNS))}

    def get(self, device_id: str) -> DeviceInfo | None:
        if self._devices is None:
            loaded = self._load()
            with self._lock:
                if self._devices is None:
                    self._devices = loaded
        info = self._devices.get(device_id)
        if info is not None:
            return info
        missed = self._misses.get(device_id)
        if missed is not None and time.monotonic() - missed < MISS_TTL_S:
            return None
        with self.store.read() as connection:
            row = connection.execute(select(*_INFO_COLUMNS).where(_devices.c.id == device_id)).one_or_none()
        with self._lock:
            if row is None:
                if len(self._misses) > 100_000:
                    self._misses.clear()
                self._misses[device_id] = time.monotonic()
                return None
            info = self._devices[device_id] = DeviceInfo(*row)
            self._misses.pop(device_id, None)
        return info

    def forget(self) -> None:
        """Drop the cache (after an import in the same process)."""
        with self._lock:
            self._devices = None
            self._misses.clear()
