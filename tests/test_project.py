"""Project-level contracts: migrations matching the models, docker-compose, the CLI.

The layering rules are in tests/test_layering.py.
"""
from __future__ import annotations

from datetime import timezone
from pathlib import Path

import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import Config, Engine
from engine.clock import DISTRICT_TZ
from engine.models import Base, exists_on
from engine.store import Store
from jingzhi.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
def test_migrations_match_the_models(database_url):
    store = Store(database_url)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": exists_on(connection.dialect.name)})
        differences = compare_metadata(context, Base.metadata)
    store.dispose()
    assert differences == []


def test_upgrade_is_idempotent(database_url):
    store = Store(database_url)
    store.upgrade()
    store.upgrade()
    assert store.has_schema()
    store.dispose()


def cli_commands() -> set[str]:
    parser = build_parser()
    [subparsers] = [a for a in parser._actions if a.dest == "command"]
    return set(subparsers.choices)


def test_every_compose_service_runs_a_real_command():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ours = {name: spec for name, spec in compose["services"].items() if spec.get("image") == "jingzhi:latest"}
    assert {"setup", "web", "worker", "ticker", "ingest"} <= set(ours)
    for name, spec in ours.items():
        assert spec["command"][0] in cli_commands(), name
        assert spec["environment"]["DATABASE_URL"].startswith("postgresql"), name
        assert "${" in spec["environment"]["JINGZHI_SECRET_KEY"], "secrets must come from the environment"
    assert (ROOT / compose["services"]["mosquitto"]["volumes"][0].split(":")[0]).exists()


def test_cli_deploy_refuses_a_broken_diagram_with_exit_code_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>")
    assert main(["deploy", str(broken)]) == 2
    assert "broken.bpmn:1" in capsys.readouterr().err


def test_cli_deploys_starts_lists_and_completes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    diagrams = ROOT / "tests" / "engine" / "diagrams"
    assert main(["deploy", str(diagrams / "inspection.bpmn")]) == 2   # its form schema is missing
    deployment = tmp_path / "set"
    deployment.mkdir()
    for name in ("inspection.bpmn", "register.schema.json"):
        (deployment / name).write_bytes((diagrams / name).read_bytes())
    assert main(["deploy", str(deployment)]) == 0
    assert "deployed: inspection v1" in capsys.readouterr().out
    assert main(["deploy", str(deployment)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert main(["start", "inspection", "--data", '{"device_id": "D-1"}']) == 0
    assert '"stage": "register"' in capsys.readouterr().out
    assert main(["tasks"]) == 0
    listed = capsys.readouterr().out
    assert "command_centre" in listed
    # Due times are the district's (UTC+8), as officers read clocks; the database keeps UTC.
    [task] = Engine(Config.from_env()).ready_tasks()
    assert task["due_at"].astimezone(DISTRICT_TZ).strftime("%Y-%m-%d %H:%M") in listed
    assert task["due_at"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") not in listed
    assert main(["complete", "1", "--data", '{"valid": "yes"}']) == 2
    assert "is not of type 'boolean'" in capsys.readouterr().err
    assert main(["complete", "1", "--data", '{"valid": true}']) == 0
    assert "field_team" in capsys.readouterr().out


def test_demo_sets_up_the_district_and_prints_the_inbox(tmp_path, capsys):
    assert main(["demo", "--once", "--database", str(tmp_path / "demo.db"), "--cases", "8"]) == 0
    out = capsys.readouterr().out
    assert "deployed:" in out and "closed_loop v1" in out
    assert "8 task(s) waiting:" in out and "command_centre:" in out
    assert main(["demo", "--once", "--database", str(tmp_path / "demo.db"), "--cases", "8"]) == 0
    assert "8 task(s) waiting:" in capsys.readouterr().out   # run again: the same district, no duplicates
    import sqlite3
    with sqlite3.connect(tmp_path / "demo.db") as db:      # the cases came in as sensor alarms, through the intake
        assert db.execute("SELECT count(*) FROM alert WHERE source = 'demo' AND event = 'alarm'").fetchone() == (8,)
        assert db.execute("SELECT count(*) FROM device").fetchone() == (9165,)


def test_migrations_form_one_line():
    from alembic.script import ScriptDirectory
    from engine.store import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


def test_cli_deploy_checks_team_names_once_a_roster_is_loaded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    deployment = tmp_path / "set"
    deployment.mkdir()
    for path in (ROOT / "bpmn").iterdir():
        (deployment / path.name).write_bytes(path.read_bytes().replace(b'name="grid_patrol">', b'name="grid_patrl">'))
    assert main(["teams", "load"]) == 0
    assert main(["deploy", str(deployment)]) == 2
    assert "lane 'grid_patrl' is not a team of the roster" in capsys.readouterr().err
