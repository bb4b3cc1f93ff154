"""Device registry files: CSV or JSON in, rows for :func:`engine.alarms.devices.import_devices` out; and back.

Columns (CSV header or JSON keys): ``id, device_type, scenario, lat, lon, address, compound, inside_compound,
owner_team, heartbeat_interval_s``. JSON is a list of objects, or ``{"devices": [...]}``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

COLUMNS = ("id", "device_type", "scenario", "lat", "lon", "address", "compound", "inside_compound", "owner_team",
           "heartbeat_interval_s")


def read_rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        rows = data["devices"] if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"{path}: expected a list of device objects")
        return rows
    return list(csv.DictReader(io.StringIO(text)))


def write_rows(path: Path, rows: list[dict]) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps({"devices": rows}, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
