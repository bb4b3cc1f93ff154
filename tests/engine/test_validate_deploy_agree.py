"""Validation and deployment give the same verdict on every input: what validation passes deploys, what it refuses
deploy refuses with the same problems (file, line, element), and neither answers with a traceback. The same holds
for ``jingzhi deploy`` reading files from disk and for the designer API taking texts."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.catalogue import check
from engine.exceptions import DeploymentRejected
from engine.models import Deployment
from jingzhi.cli import main
from tests.conftest import DIAGRAMS

SANDBOX = (DIAGRAMS / "sandbox.bpmn").read_text()
INSPECTION = (DIAGRAMS / "inspection.bpmn").read_text()
FORM = (DIAGRAMS / "register.schema.json").read_bytes()


def renamed(old: str, new: str, text: str = SANDBOX) -> bytes:
    assert old in text
    return text.replace(old, new, 1).encode()


#: name -> (files, what the problem must say, the element it must name or None)
BAD = {
    "process name over its column": (
        {"sandbox.bpmn": renamed('name="Sandbox"', f'name="{"长" * 301}"')},
        "process name is 301 characters long; at most 300 fit", "sandbox"),
    "process id over its column": (
        {"sandbox.bpmn": renamed('id="sandbox"', f'id="{"p" * 201}"')},
        "process id is 201 characters long; at most 200 fit", None),
    "task name over its column": (
        {"sandbox.bpmn": renamed('name="Approve"', f'name="{"a" * 301}"')},
        "element name is 301 characters long; at most 300 fit", "approve"),
    "UTF-16 file": (
        {"sandbox.bpmn": SANDBOX.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")},
        "is not UTF-8 text: it is UTF-16", None),
    "Latin-1 file": (
        {"sandbox.bpmn": SANDBOX.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
         .replace('name="Approve"', 'name="Approuvé"').encode("latin-1")},
        "is not UTF-8 text: byte 0xe9", None),
    "NUL in a form": (
        {"inspection.bpmn": INSPECTION.encode(), "register.schema.json": FORM.replace(b"{", b"{\x00", 1)},
        "contains a NUL character", None),
    "file name not valid Unicode": (
        {"sandbox\udce9.bpmn": SANDBOX.encode()}, "the file name has an unpaired surrogate", None),
}


def verdicts(engine, files: dict[str, bytes]):
    validated = check(files)
    try:
        engine.deploy(files, deployed_by="test")
        deployed = []
    except DeploymentRejected as rejected:
        deployed = [dict(p.__dict__) for p in rejected.problems]
    return validated, deployed


@pytest.mark.parametrize("case", sorted(BAD))
def test_validate_and_deploy_refuse_the_same_way(engine, case):
    files, message, element_id = BAD[case]
    validated, deployed = verdicts(engine, files)
    assert validated == deployed and validated, (validated, deployed)
    [problem] = [p for p in validated if message in p["message"]]
    assert problem["element_id"] == element_id
    assert problem["line"] or case == "file name not valid Unicode"  # a name has no line
    with engine.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Deployment)) == 0


def test_what_validates_deploys(engine):
    files = {"sandbox.bpmn": renamed('name="Approve"', f'name="{"批" * 300}"')}
    assert verdicts(engine, files) == ([], [])
    [approve] = engine.ready_tasks(instance_id=engine.start("sandbox"))
    assert approve["label"] == "批" * 300


@pytest.mark.parametrize("case", ["UTF-16 file", "Latin-1 file", "process name over its column"])
def test_jingzhi_deploy_refuses_with_exit_code_2(tmp_path, monkeypatch, capsys, case):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    files, message, _ = BAD[case]
    folder = tmp_path / "set"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    assert main(["deploy", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "sandbox.bpmn:" in err and message in err and "Traceback" not in err
