"""Build the wheel, install it in a fresh virtual environment, and use the app from it as a district would.

Run by .ci/run after `make test` (which builds the browser bundles first):

    .venv/bin/python scripts/check_wheel.py [--work DIR] [-v]

Steps: copy the files the wheel is built from into a temporary directory (a stale ``build/`` of the checkout could
otherwise slip old modules into the wheel; compiled catalogues are left behind), build the wheel, check it holds
every browser bundle and the compiled Chinese catalogue, install it with
its ``web`` extra in a new virtual environment, run ``jingzhi setup`` from it twice against a temporary SQLite
database (the second run must deploy nothing), start ``jingzhi web`` on a free port, report a case through the API,
log in as the admin and load every page reachable by links from the inbox, every script, style sheet and font they
reference. Any answer other than 200 fails the check (exit code 1), and so does a page that names a missing bundle.
Nothing here reads the checkout at run time: the installed app finds its templates, bundles, roster and diagrams in
the wheel.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "engine", "webui", "sensors", "integrations", "jingzhi",
           "simulation", "seed", "bpmn")
#: The Chinese catalogue, compiled by the wheel build itself (setup.py; the copied tree has no .mo).
CATALOGUE = "webui/translations/zh_Hans/LC_MESSAGES/messages.mo"
#: `jingzhi sim` and `jingzhi whatif` read their calibration from inside the package.
SIMULATION_DATA = "simulation/calibration.json"
#: Every browser bundle a page loads (base.html and the designer, decision and case pages); the wheel must hold each.
BUNDLES = ("webui/static/vendor/bpmn-navigated-viewer.production.min.js",
           "webui/static/vendor/bpmn-modeler.production.min.js",
           "webui/static/vendor/dmn-modeler.production.min.js",
           "webui/static/vendor/jingzhi-lint.js",
           "webui/static/vendor/bpmn-js.css", "webui/static/vendor/diagram-js.css",
           "webui/static/spiffworkflow-moddle.json")
ADMIN, PASSWORD = "wheel-admin", "wheel-check-password"
#: Links never followed: they change state or leave the app.
SKIP = re.compile(r"^/(logout|static/.*\.(bpmn|dmn)$)")
MAX_PAGES = 300
VERBOSE = "-v" in sys.argv


def log(message: str) -> None:
    print(f"check_wheel: {message}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, text=True, **kwargs)


def build_wheel(work: Path) -> Path:
    source = work / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=False,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "*.mo"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"),
         str(source)])
    [wheel] = (work / "dist").glob("jingzhi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in (*BUNDLES, CATALOGUE, SIMULATION_DATA) if name not in names]
    if missing:
        raise SystemExit(f"the wheel lacks {', '.join(missing)} (run `make assets` first)")
    log(f"built {wheel.name}: {len(names)} files, {wheel.stat().st_size // 1024} KB")
    return wheel


def install(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    if (venv / "bin" / "jingzhi").exists():   # --work of an earlier run: its dependencies are there already
        run([str(venv / "bin" / "pip"), "install", "--quiet", "--force-reinstall", "--no-deps", str(wheel)])
    else:
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", f"{wheel}[web]"])
    return venv / "bin" / "jingzhi"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Links(HTMLParser):
    """Same-site URLs a page links to (a href) and loads (script src, link href, img src)."""

    def __init__(self):
        super().__init__()
        self.pages: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # the language switch is left out: every page is loaded in both languages by crawl() instead
        if tag == "a" and attrs.get("href") and not attrs.get("download") and attrs.get("id") != "lang-switch":
            self.pages.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.assets.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.assets.append(attrs["src"])


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, bytes]:
        try:
            with self.opener.open(urllib.parse.urljoin(self.base, path), timeout=60) as answer:
                return answer.status, answer.headers.get("Content-Type", ""), answer.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Content-Type", ""), err.read()

    def post(self, path: str, form: dict) -> int:
        request = urllib.request.Request(urllib.parse.urljoin(self.base, path),
                                         data=urllib.parse.urlencode(form).encode(), method="POST")
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status
        except urllib.error.HTTPError as err:
            return err.code


def local(base: str, url: str, current: str) -> str | None:
    """The path (and query) of a same-site URL, or None for another site, a fragment or a javascript: link."""
    absolute = urllib.parse.urljoin(urllib.parse.urljoin(base, current), url)
    parts = urllib.parse.urlsplit(absolute)
    if absolute.startswith(("javascript:", "mailto:")) or f"{parts.scheme}://{parts.netloc}/" != base:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


ROUTES = """
import json
from webui import create_app
app = create_app()
print(json.dumps(sorted(r.rule for r in app.url_map.iter_rules() if "GET" in r.methods)))
"""


class Kinds:
    """Pages of one kind: the same route of the app with the same query keys. One of each is loaded, so the links
    to every version, file, filter and language do not multiply the run."""

    def __init__(self, rules: list[str]):
        def pattern(rule: str) -> re.Pattern:
            rule = re.sub(r"<int:[^>]+>", r"\\d+", rule)
            return re.compile("^" + re.sub(r"<(?:[^:>]+:)?[^>]+>", "[^/]+", rule) + "$")

        # the most literal rule first: /designer/<process_id>/edit before /designer/<process_id>/<int:number>
        self.patterns = [(rule, pattern(rule)) for rule in sorted(rules, key=lambda rule: rule.count("<"))]

    def __call__(self, path: str) -> tuple[str, tuple[str, ...]]:
        parts = urllib.parse.urlsplit(path)
        rule = next((rule for rule, pattern in self.patterns if pattern.match(parts.path)), parts.path)
        return rule, tuple(sorted(set(urllib.parse.parse_qs(parts.query)) - {"lang"}))


def in_language(path: str, lang: str) -> str:
    """``path`` with ``lang`` set in its query, the rest of the query kept."""
    parts = urllib.parse.urlsplit(path)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "lang"] + [("lang", lang)]
    return parts.path + "?" + urllib.parse.urlencode(query)


def crawl(browser: Browser, kind_of: Kinds, start: list[str]) -> tuple[int, int, list[str]]:
    """Load one page of every kind reachable from ``start`` and everything they reference; returns how many pages
    and assets were loaded and the failures."""
    queue, seen, assets_seen, failures = list(start), {kind_of(path) for path in start}, set(), []
    pages = 0
    while queue and pages < MAX_PAGES:
        path = queue.pop(0)
        for lang in ("en", "zh"):   # zh last: its links are followed
            status, kind, body = browser.get(in_language(path, lang))
            pages += 1
            if VERBOSE:
                log(f"{status} {in_language(path, lang)}")
            if status != 200:
                failures.append(f"{status} {in_language(path, lang)}")
        if status != 200:
            continue
        if not kind.startswith("text/html"):
            continue
        links = Links()
        links.feed(body.decode("utf-8", "replace"))
        for url in links.pages:
            found = local(browser.base, url, path)
            if found and kind_of(found) not in seen and not SKIP.match(found):
                seen.add(kind_of(found))
                queue.append(found)
        for url in links.assets:
            found = local(browser.base, url, path)
            if found and found not in assets_seen:
                assets_seen.add(found)
    for path in sorted(assets_seen):
        status, kind, body = browser.get(path)
        if VERBOSE:
            log(f"{status} {path}")
        if status != 200:
            failures.append(f"{status} {path}")
        elif path.split("?")[0].endswith(".css"):   # fonts and images a style sheet loads
            for url in re.findall(rb"url\(['\"]?([^'\")]+)['\"]?\)", body):
                found = local(browser.base, url.decode(), path)
                if found and not found.startswith("/data:") and found not in assets_seen:
                    assets_seen.add(found)
                    status = browser.get(found)[0]
                    if status != 200:
                        failures.append(f"{status} {found} (from {path})")
    if queue:
        failures.append(f"more than {MAX_PAGES} pages: {len(queue)} not visited")
    return pages, len(assets_seen), failures


def wait_for(base: str, server: subprocess.Popen) -> None:
    while server.poll() is None:
        try:
            with urllib.request.urlopen(base + "api/v1/healthz", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"jingzhi web stopped with exit code {server.returncode} before answering")


def main(argv: list[str]) -> int:
    """``--work DIR`` keeps the virtual environment in DIR and reuses it next time (only the wheel is reinstalled)."""
    started = time.monotonic()
    kept = Path(argv[argv.index("--work") + 1]) if "--work" in argv else None
    with tempfile.TemporaryDirectory(prefix="jingzhi-wheel-") as tmp:
        work = Path(tmp)
        wheel = build_wheel(work)
        if kept:
            kept.mkdir(parents=True, exist_ok=True)
            work = kept
        jingzhi = install(work, wheel)
        log(f"installed into {'the kept' if kept else 'a fresh'} virtual environment "
            f"({time.monotonic() - started:.0f} s so far)")
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "VIRTUAL_ENV", "REDIS_URL", "MQTT_URL") and not key.startswith("JINGZHI_")}
        env.update(DATABASE_URL=f"sqlite:///{run_dir / 'wheel.db'}", JINGZHI_SECRET_KEY="wheel-check",
                   JINGZHI_EVIDENCE_DIR=str(run_dir / "evidence"), JINGZHI_ADMIN_USERNAME=ADMIN,
                   JINGZHI_ADMIN_PASSWORD=PASSWORD)
        first = run([str(jingzhi), "setup"], cwd=run_dir, env=env, capture_output=True).stdout
        if "deployed: closed_loop v1" not in first or f"admin {ADMIN}: created" not in first:
            raise SystemExit(f"the first `jingzhi setup` did not create the admin and deploy bpmn/:\n{first}")
        again = run([str(jingzhi), "setup"], cwd=run_dir, env=env, capture_output=True).stdout
        if "nothing deployed: every process is the same" not in again:
            raise SystemExit(f"a second `jingzhi setup` deployed again:\n{again}")
        log("jingzhi setup: schema, roster, first admin and bpmn/ from the wheel; run again, it deployed nothing")
        rules = run([str(jingzhi.parent / "python"), "-c", ROUTES], cwd=run_dir, env=env, capture_output=True).stdout
        kinds = Kinds(json.loads(rules.strip().splitlines()[-1]))
        token = run([str(jingzhi), "token", "create", ADMIN], cwd=run_dir, env=env, capture_output=True).stdout
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        server = subprocess.Popen([str(jingzhi), "web", "--host", "127.0.0.1", "--port", str(port)], cwd=run_dir,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(base, server)
            report = urllib.request.Request(base + "api/v1/cases", method="POST", data=json.dumps(
                {"scenario": "fire_lane", "channel": "hotline", "address": "水电路191弄", "description": "wheel check"}
            ).encode(), headers={"Authorization": f"Bearer {token.strip()}", "Content-Type": "application/json"})
            with urllib.request.urlopen(report, timeout=60) as answer:
                instance_id = json.loads(answer.read())["instance_id"]
            browser = Browser(base)
            status, _, body = browser.get("/login")
            csrf = re.search(rb'name="csrf_token" value="([^"]+)"', body)
            if status != 200 or not csrf:
                raise SystemExit(f"the login page answered {status} without a CSRF field")
            if browser.post("/login", {"username": ADMIN, "password": PASSWORD,
                                       "csrf_token": csrf.group(1).decode(), "next": "/"}) != 200:
                raise SystemExit("logging in as the admin failed")
            # the inbox links everything but the comparison of two versions (a form) and the new case
            pages, assets, failures = crawl(browser, kinds, ["/", f"/cases/{instance_id}",
                                                             "/designer/closed_loop/compare?from=1&to=1"])
        finally:
            server.terminate()
            try:
                _, errors = server.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                _, errors = server.communicate()
        if "Traceback" in errors:
            failures.append("the server logged a traceback:\n" + errors[-3000:])
        log(f"web from the wheel: {pages} pages (one of each route and query reachable by links, in zh and in en) and {assets} scripts, style sheets and fonts loaded "
            f"({time.monotonic() - started:.0f} s in all)")
        for failure in failures:
            log(f"FAILED {failure}")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
