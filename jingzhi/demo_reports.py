"""The demo's people reporting: 12345 hotline calls over Open311 (``POST /open311/v2/requests.json`` with an api key)
and grid workers' patrol reports (``POST /patrol``, logged in as the demo patrol officer, with a photo and the
phone's location), posted to the demo's web app among the sensor traffic.

Reports are deterministic for a seed. Each is placed a few metres from a device of its scenario; the first ones beside
devices with an open alarm, so they land beside an open sensor case of the same problem and wait for the dispatcher
at "same problem?" (``/same``).
"""
from __future__ import annotations

import http.cookiejar
import logging
import random
import re
import threading
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Scenarios people report about, with what the hotline caller or the grid worker says.
SAYINGS = {
    "fire_lane": ("消防通道被私家车占用", {"attribute[blocked]": "yes"}),
    "illegal_dumping": ("路边有人倾倒建筑垃圾", {"attribute[waste_kind]": "construction"}),
    "street_trading": ("店家把货摊摆到人行道上", {}),
    "door_open": ("单元门一直开着没人关", {}),
}
#: Seconds between two reports of the demo (one hotline call, then one patrol report, and so on).
EVERY_S = 20.0
TIMEOUT_S = 10


@dataclass(frozen=True)
class Report:
    channel: str          # hotline | patrol
    scenario: str
    lat: float
    lon: float
    address: str
    note: str
    attributes: dict


def reports(rows: list[dict], seed: int, alarming: set[str] | frozenset[str] = frozenset()):
    """Endless reports, alternating hotline and patrol, each within about 10 m of a device of its scenario. The first
    report of each scenario by each channel goes beside a device of ``alarming`` (devices with an open alarm, so an
    open sensor case) when the scenario has one."""
    rng = random.Random(f"reports/{seed}")
    by_scenario = {code: [r for r in rows if r["scenario"] == code and r["lat"] is not None] for code in SAYINGS}
    beside = {code: [r for r in found if r["id"] in alarming] for code, found in by_scenario.items()}
    codes = [code for code, found in by_scenario.items() if found]
    n = 0
    while codes:
        code = codes[n // 2] if n < 2 * len(codes) else rng.choice(codes)   # first each by both channels
        device = rng.choice(beside[code] if n < 2 * len(codes) and beside[code] else by_scenario[code])
        note, attributes = SAYINGS[code]
        yield Report("hotline" if n % 2 == 0 else "patrol", code,
                     round(device["lat"] + rng.uniform(-0.00008, 0.00008), 6),
                     round(device["lon"] + rng.uniform(-0.00008, 0.00008), 6), device["address"] or code, note,
                     attributes)
        n += 1


def post_hotline(web_url: str, api_key: str, report: Report) -> int:
    """File a hotline call as the 12345 platform does; returns the HTTP status."""
    form = {"api_key": api_key, "service_code": report.scenario, "lat": str(report.lat), "long": str(report.lon),
            "address_string": report.address, "description": report.note, "phone": "13800000000",
            "first_name": "市民", **report.attributes}
    request = urllib.request.Request(f"{web_url}open311/v2/requests.json", method="POST",
                                     data=urllib.parse.urlencode(form).encode())
    return _status(urllib.request.urlopen, request)


def _status(opener, request) -> int:
    try:
        with opener(request, timeout=TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


class PatrolPhone:
    """A grid worker's phone: logged in to the web app, reporting through the patrol page like the browser does."""

    def __init__(self, web_url: str, username: str, password: str):
        self.url = web_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        token = self._token("login")
        status = _status(self.opener.open, urllib.request.Request(
            f"{web_url}login", method="POST", data=urllib.parse.urlencode(
                {"username": username, "password": password, "csrf_token": token}).encode()))
        if status != 200:   # the login redirects to the inbox, which the opener follows
            raise RuntimeError(f"the demo patrol officer {username} could not log in ({status})")

    def _token(self, path: str) -> str:
        with self.opener.open(f"{self.url}{path}", timeout=TIMEOUT_S) as response:
            return re.search(r'name="csrf-token" content="([^"]+)"', response.read().decode()).group(1)

    def report(self, report: Report, photo: bytes) -> int:
        fields = {"csrf_token": self._token("patrol"), "scenario": report.scenario, "lat": str(report.lat),
                  "lon": str(report.lon), "location_source": "gps", "accuracy": "8", "address": report.address,
                  "note": report.note}
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="scene.png"\r\n'
                     f"Content-Type: image/png\r\n\r\n".encode() + photo + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(f"{self.url}patrol", method="POST", data=b"".join(parts),
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return _status(self.opener.open, request)


def photo_png(rgb=(120, 120, 120)) -> bytes:
    """A small real PNG (a grey square), standing in for the camera's photo."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + bytes(rgb) * 64 for _ in range(48))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def send_reports(web_url: str, api_key: str, username: str, password: str, rows: list[dict], seed: int,
                 stop: threading.Event, every_s: float = EVERY_S, limit: int | None = None,
                 alarming: set[str] | frozenset[str] = frozenset()) -> dict[str, list[int]]:
    """Post reports until ``stop`` is set (or ``limit`` were sent). Returns the statuses by channel."""
    phone = PatrolPhone(web_url, username, password)
    answers: dict[str, list[int]] = {"hotline": [], "patrol": []}
    for n, report in enumerate(reports(rows, seed, alarming)):
        if stop.is_set() or (limit is not None and n >= limit):
            break
        try:
            status = (post_hotline(web_url, api_key, report) if report.channel == "hotline"
                      else phone.report(report, photo_png()))
        except OSError as failed:   # the web app going away ends the demo's reporting, not the demo
            log.warning("demo %s report not sent: %s", report.channel, failed)
            break
        answers[report.channel].append(status)
        log.info("demo %s report (%s): %s", report.channel, report.scenario, status)
        stop.wait(every_s)
    return answers
