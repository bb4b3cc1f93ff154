"""Team names in a file set checked against the district's roster: a misspelt lane, team property or routing
output is refused at deploy, named by element and line, instead of routing tasks to an inbox nobody reads."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import catalogue
from engine.exceptions import DeploymentRejected
from engine.deploy.roster import unknown_teams as unknown_in_roots
from engine.deploy.validation import parse_xml
from tests.conftest import DIAGRAMS, read_files

ROOT = Path(__file__).resolve().parents[2]
ROSTER = {t["code"] for t in json.loads((ROOT / "seed" / "teams.json").read_text(encoding="utf-8"))["teams"]}


def district(old: bytes = b"", new: bytes = b"", name: str = "closed_loop.bpmn") -> dict[str, bytes]:
    files = read_files(ROOT / "bpmn")
    if old:
        assert old in files[name]
        files[name] = files[name].replace(old, new, 1)
    return files


def unknown_teams(files: dict[str, bytes], roster: set[str]) -> list:
    """The check on the files as deploy validation parses them."""
    roots = {name: parse_xml(name, data, []) for name, data in files.items() if name.endswith((".bpmn", ".dmn"))}
    return unknown_in_roots(roots, roster)


def line_of(data: bytes, fragment: bytes) -> int:
    return data[:data.index(fragment)].count(b"\n") + 1


def test_the_districts_diagrams_name_only_teams_of_its_roster():
    assert unknown_teams(district(), ROSTER) == []


def test_a_misspelt_lane_is_named_with_its_line():
    files = district(b'name="grid_patrol">', b'name="grid_patrl">')
    [problem] = unknown_teams(files, ROSTER)
    assert (problem.file, problem.element_id) == ("closed_loop.bpmn", "closed_loop_lane_grid_patrol")
    assert problem.line == line_of(files["closed_loop.bpmn"], b'name="grid_patrl">')
    assert "lane 'grid_patrl' is not a team of the roster" in problem.message


def test_a_plain_team_property_is_checked_and_an_expression_is_not():
    files = district(b'value="&quot;command_centre.lead&quot;"', b'value="&quot;command_center.lead&quot;"')
    [problem] = unknown_teams(files, ROSTER)
    assert problem.element_id == "register_escalate"
    assert problem.message.startswith("team property 'command_center.lead' is not a team of the roster")
    computed = district(b'value="&quot;command_centre.lead&quot;"', b'value="owner or &quot;nobody&quot;"')
    assert unknown_teams(computed, ROSTER) == []               # known only when a case runs


def test_a_routing_output_naming_no_team_is_named_by_its_cell():
    files = district(b'<text>"fire_station"</text>', b'<text>"fire_statoin"</text>', "routing.dmn")
    [problem] = unknown_teams(files, ROSTER)
    assert (problem.file, problem.element_id) == ("routing.dmn", "routing_three_in_one_out_team")
    assert "routing output 'fire_statoin'" in problem.message


def test_a_lane_with_only_automatic_steps_needs_no_team():
    files = read_files(DIAGRAMS / "inspection.bpmn", DIAGRAMS / "register.schema.json")
    names = {p.message.split("'")[1] for p in unknown_teams(files, {"command_centre"})}
    assert names == {"field_team"}                              # its lane holds user tasks


def test_deploying_with_the_roster_refuses_and_stores_nothing(engine):
    files = district(b'name="grid_patrol">', b'name="grid_patrl">')
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy(files, deployed_by="test", roster=ROSTER)
    assert [p.element_id for p in refused.value.problems] == ["closed_loop_lane_grid_patrol"]
    assert engine.designs.processes() == []
    assert engine.deploy(district(), deployed_by="test", roster=ROSTER).created      # the right names deploy
    assert engine.deploy(files, deployed_by="test").created                            # no roster: not checked


def test_validation_problems_come_with_the_roster_ones(engine):
    files = district(b'name="grid_patrol">', b'name="grid_patrl">')
    files["closed_loop.bpmn"] = files["closed_loop.bpmn"].replace(b"rework_count = 0", b"rework_count = (", 1)
    problems = catalogue.check(files, roster=ROSTER)
    assert {p["element_id"] for p in problems} == {"closed_loop_lane_grid_patrol", "intake"}


def test_the_roster_is_the_team_table(engine):
    assert engine.people.roster() == set()
    engine.people.seed_teams([{"code": "grid_patrol", "name_zh": "网格", "name_en": "Grid"}])
    assert engine.people.roster() == {"grid_patrol"}
