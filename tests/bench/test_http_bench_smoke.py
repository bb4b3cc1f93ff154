"""``python -m bench.http --quick`` still works: a real `jingzhi web` on PostgreSQL, every task of every case claimed
and completed over HTTP and through the verbs (the bench exits non-zero otherwise), and its last line parses.
Timings are never asserted (they belong to the bench on a quiet machine)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_http_bench_completes_every_task_both_ways_and_ends_in_one_key_value_line():
    run = subprocess.run([sys.executable, "-m", "bench.http", "--quick"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert "HTTP:   72 tasks" in run.stdout and "engine: 72 tasks" in run.stdout, run.stdout
    assert re.fullmatch(r"http_tasks_per_s=[\d.]+ p95_ms=[\d.]+ engine_tasks_per_s=[\d.]+", lines[-1]), lines[-1]
