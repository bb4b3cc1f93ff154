"""Tasks claimed and completed per second through the JSON API by concurrent clients, on `jingzhi web` over PostgreSQL.

Run ``python -m bench.http`` (``--quick`` for a smoke run). Each client is an officer with a bearer token and a
keep-alive connection; it works its share of cases the way the officers' phones do: read the team's inbox, then for
every task of the case claim it and complete it (``POST /tasks/{id}/claim``, ``POST /tasks/{id}/complete``), going on
with the next task the answer names. The server is the real one (`jingzhi web`: waitress, 8 threads) in its own
process on a fresh PostgreSQL database.

The baseline, measured in the same run on a second fresh database with the same number of threads: the same claims
and completions through the engine's verbs in-process, with no HTTP, Flask, authentication or JSON in between. Their
ratio is what the web layer costs. The last line is ``http_tasks_per_s=<N> p95_ms=<N> engine_tasks_per_s=<N>``
(p95 of every claim and complete request).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine import Config, Engine, people

from .common import free_port, percentile, recreate_database, wait_for
from .workload import DIAGRAM, PROCESS_ID, START_DATA, TASK_DATA, diagram_files

ADMIN_URL = os.environ.get("JINGZHI_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "jingzhi_bench_http"
TEAMS = ["command_centre", "field_team", "supervision"]        # the lanes of bench/diagrams/six_tasks.bpmn
TASK_IDS = ["register", "dispatch", "handle", "report", "verify", "evaluate"]
DATA = dict(zip(TASK_IDS, TASK_DATA))
PASSWORD = "bench-http-password"


def prepared(name: str, clients: int, cases: int) -> tuple[Engine, list[str], list[int]]:
    """A fresh database with the diagram, its teams, one officer per client (with a token) and ``cases`` started
    cases; returns the engine, the tokens and each case's first task id."""
    engine = Engine(Config(database_url=recreate_database(ADMIN_URL, name)))
    engine.store.upgrade()
    engine.deploy(diagram_files(), deployed_by="bench")
    people.seed_teams(engine.store, [{"code": t, "kind": "in_house", "name_zh": t, "name_en": t} for t in TEAMS])
    tokens = []
    for n in range(clients):
        people.add_user(engine.store, f"officer{n}", PASSWORD, ["officer"], TEAMS)
        tokens.append(people.create_token(engine.store, f"officer{n}", "bench"))
    first_tasks = []
    for n in range(cases):
        instance_id = engine.start(PROCESS_ID, START_DATA, business_key=f"HTTP-{n}", actor="bench")
        first_tasks.append(engine.ready_tasks(instance_id=instance_id)[0]["id"])
    return engine, tokens, first_tasks


class Officer:
    """One client: a keep-alive connection and a bearer token; every request's time is kept."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.times: list[float] = []
        self.completed = 0
        self.errors: list[str] = []

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        started = time.perf_counter()
        self.connection.request(method, path, json.dumps(body) if body is not None else None, self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        if method == "POST":
            self.times.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload)

    def work(self, first_tasks: list[int]) -> None:
        for task_id in first_tasks:
            try:
                self.call("GET", "/api/v1/tasks?scope=team&limit=20")
                while task_id is not None:
                    claimed = self.call("POST", f"/api/v1/tasks/{task_id}/claim")["task"]
                    answer = self.call("POST", f"/api/v1/tasks/{task_id}/complete",
                                       {"data": DATA[claimed["bpmn_id"]]})
                    self.completed += 1
                    task_id = answer["next_tasks"][0]["id"] if answer["next_tasks"] else None
            except Exception as err:  # noqa: BLE001 - counted and shown: a failed request must not look like speed
                self.errors.append(str(err))


def run_http(port: int, tokens: list[str], first_tasks: list[int]) -> tuple[float, list[float], int, list[str]]:
    officers = [Officer(port, token) for token in tokens]
    shares = [first_tasks[n::len(officers)] for n in range(len(officers))]
    threads = [threading.Thread(target=o.work, args=(share,)) for o, share in zip(officers, shares)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return (seconds, [t for o in officers for t in o.times], sum(o.completed for o in officers),
            [e for o in officers for e in o.errors])


def run_engine(engine: Engine, clients: int, first_tasks: list[int]) -> tuple[float, int]:
    """The baseline: the same claims and completions through the engine's verbs, ``clients`` threads."""
    done = [0] * clients

    def work(n: int, share: list[int]) -> None:
        actor = f"officer{n}"
        for task_id in share:
            while task_id is not None:
                engine.claim(task_id, actor)
                instance_id = engine.complete_task(task_id, DATA[engine.task(task_id)["bpmn_id"]], actor=actor)
                done[n] += 1
                following = engine.ready_tasks(instance_id=instance_id)
                task_id = following[0]["id"] if following else None

    threads = [threading.Thread(target=work, args=(n, first_tasks[n::clients])) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, sum(done)


def start_web(database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "JINGZHI_SECRET_KEY": "bench-http-secret",
           "JINGZHI_EVIDENCE_DIR": "/tmp/jingzhi-bench-http-evidence"}
    code = f"import sys; from jingzhi.cli import main; sys.exit(main(['web', '--port', '{port}']))"
    server = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parent.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def up() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"jingzhi web exited: {server.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
    wait_for(up, 60, "jingzhi web to answer")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (and baseline threads)")
    parser.add_argument("--cases", type=int, default=200, help="cases of six tasks each, per phase")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 clients, 12 cases")
    args = parser.parse_args()
    clients, cases = (4, 12) if args.quick else (args.clients, args.cases)
    print(f"diagram {DIAGRAM.name}: {cases} cases x 6 tasks, {clients} concurrent clients, PostgreSQL, "
          f"jingzhi web (waitress, 8 threads) in its own process")

    engine, tokens, first_tasks = prepared(f"{DATABASE}_api", clients, cases)
    port = free_port()
    server = start_web(engine.config.database_url, port)
    try:
        warm = Officer(port, tokens[0])
        warm.call("GET", "/api/v1/tasks?scope=team&limit=20")
        seconds, times, completed, errors = run_http(port, tokens, first_tasks)
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.store.dispose()
    if errors:
        print(f"  {len(errors)} client(s) stopped on an error, first: {errors[0]}")
    http_rate = completed / seconds
    print(f"  HTTP:   {completed} tasks in {seconds:.1f} s = {http_rate:.1f} tasks/s; requests p50="
          f"{statistics.median(times):.1f} ms p95={percentile(times, 0.95):.1f} ms ({len(times)} claims and completes)")

    engine, _, first_tasks = prepared(f"{DATABASE}_verbs", clients, cases)
    try:
        seconds, done = run_engine(engine, clients, first_tasks)
    finally:
        engine.store.dispose()
    engine_rate = done / seconds
    print(f"  engine: {done} tasks in {seconds:.1f} s = {engine_rate:.1f} tasks/s (verbs in-process, baseline)")
    print(f"  HTTP / engine: {http_rate / engine_rate:.2f}")
    print(f"http_tasks_per_s={http_rate:.1f} p95_ms={percentile(times, 0.95):.1f} engine_tasks_per_s={engine_rate:.1f}")
    if errors or completed != cases * len(TASK_IDS):
        sys.exit(f"only {completed} of {cases * len(TASK_IDS)} tasks completed over HTTP")


if __name__ == "__main__":
    main()
