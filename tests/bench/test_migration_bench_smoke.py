"""The migration benchmark's code still works: a few instances on a temporary SQLite file; counts, never times."""
from __future__ import annotations

from sqlalchemy import select

from bench import migration as bench
from bench.engine import fresh_database
from engine.models import ProcessDefinition, ProcessInstance
from engine.store import Store


def test_both_sides_really_move_the_instances(tmp_path, capsys):
    assert bench.plain_moves(3) > 0          # asserts inside: each of the three was assessed safe and moved
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    fresh_database(url, admin_url="")
    rate, refused = bench.jingzhi_moves(url, 4)
    assert rate > 0 and refused == 0
    store = Store(url)
    with store.read() as connection:
        versions = connection.scalars(select(ProcessDefinition.version).join(
            ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)).all()
    store.dispose()
    assert versions == [2, 2, 2, 2]


def test_the_report_ends_with_the_ratio(tmp_path, capsys):
    bench.main(["--quick", "--url", f"sqlite:///{tmp_path / 'bench.db'}"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "refused: 0" in lines[-2] and lines[-1].startswith("migration_ratio=")
