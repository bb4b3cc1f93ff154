"""``python -m bench.faults`` at a small size: two of its drills run, and its last line is the promised one."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_fault_bench_runs_and_ends_with_its_counts():
    run = subprocess.run([sys.executable, "-m", "bench.faults", "--messages", "120", "--devices", "20", "--jobs", "6",
                          "--only", "both-2,rq-worker"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert any(line.startswith("both x2: published=120 ") for line in lines), run.stdout
    assert any(line.startswith("rq-worker kill -9: jobs=6 ") and " missing=0 " in line for line in lines), run.stdout
    last = re.fullmatch(r"published=(\d+) stored=(\d+) dead_letters=(\d+) lost=0 duplicate_cases=0", lines[-1])
    assert last, lines[-1]
    published, stored, dead = map(int, last.groups())
    assert published == 120 and stored + dead == published
