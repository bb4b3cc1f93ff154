"""DMN decisions with versions of their own, read from the deployments in order (engine.catalogue.decisions): a
changed decision makes its next version while an unchanged one stays where it is, and each version knows who
deployed it, when, and which process versions were deployed with it and still run."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.exceptions import NotFound
from tests.conftest import read_files

ROOT = Path(__file__).resolve().parent.parent.parent
START = {"scenario": "illegal_dumping", "channel": "hotline", "severity": "medium", "address": "广中路 88号",
         "reported_at": "2026-01-05T09:00:00+00:00"}
FIRE_LANE_TEAM = '<outputEntry id="routing_fire_lane_compound_out_team"><text>"property_company"</text></outputEntry>'


def district() -> dict[str, bytes]:
    return read_files(ROOT / "bpmn")


def with_routing_team(files: dict[str, bytes], team: str) -> dict[str, bytes]:
    changed = dict(files)
    assert FIRE_LANE_TEAM.encode() in files["routing.dmn"]
    changed["routing.dmn"] = files["routing.dmn"].replace(FIRE_LANE_TEAM.encode(),
                                                          FIRE_LANE_TEAM.replace("property_company", team).encode())
    return changed


def by_id(engine) -> dict[str, dict]:
    return {d["decision_id"]: d for d in engine.designs.decisions()}


def test_a_changed_decision_gets_version_2_and_the_other_stays_at_1(engine):
    first = engine.deploy(district(), deployed_by="alice")
    old_case = engine.start("closed_loop", START)
    second = engine.deploy(with_routing_team(district(), "grid_patrol"), deployed_by="bob")

    found = by_id(engine)
    assert set(found) == {"routing", "auto_registration"}
    routing, auto = found["routing"], found["auto_registration"]
    assert routing["name"] == "派单路由" and auto["name"] == "自动立案"

    assert [v["version"] for v in routing["versions"]] == [2, 1]            # newest first
    v2, v1 = routing["versions"]
    assert (v2["deployment_id"], v2["deployed_by"], v2["file"]) == (second.deployment_id, "bob", "routing.dmn")
    assert (v1["deployment_id"], v1["deployed_by"]) == (first.deployment_id, "alice")
    assert v2["deployed_at"] >= v1["deployed_at"]

    [only] = auto["versions"]                                               # unchanged: one version, two deployments
    assert only["version"] == 1 and only["deployed_by"] == "alice"
    assert [d["deployment_id"] for d in only["deployments"]] == [first.deployment_id, second.deployment_id]

    # the process versions deployed with each version, with the instances still running on them
    closed_loop_v1 = next(p for p in v1["processes"] if p["process_id"] == "closed_loop")
    closed_loop_v2 = next(p for p in v2["processes"] if p["process_id"] == "closed_loop")
    assert (closed_loop_v1["version"], closed_loop_v1["running"]) == (1, 1)
    assert (closed_loop_v2["version"], closed_loop_v2["running"]) == (2, 0)
    assert (v1["running"], v2["running"], routing["running"]) == (1, 0, 1)
    assert {(p["process_id"], p["version"]) for p in only["processes"]} >= {("closed_loop", 1), ("closed_loop", 2)}
    assert only["running"] == 1 and engine.get(old_case).version == 1


def test_a_deployment_that_keeps_the_decision_adds_to_its_version_and_a_roll_back_is_a_new_version(engine):
    first = engine.deploy(district(), deployed_by="alice")
    files = district()
    files["closed_loop.bpmn"] = files["closed_loop.bpmn"].replace('name="立案审核"'.encode(),
                                                                  'name="立案"'.encode(), 1)
    same_table = engine.deploy(files, deployed_by="bob")                     # only a diagram changed
    changed = engine.deploy(with_routing_team(files, "grid_patrol"), deployed_by="carol")
    rolled_back = engine.roll_back(first.deployment_id, deployed_by="dave")  # the first table's content again

    routing = by_id(engine)["routing"]
    assert [(v["version"], v["deployed_by"]) for v in routing["versions"]] == [(3, "dave"), (2, "carol"),
                                                                              (1, "alice")]
    v3, v2, v1 = routing["versions"]
    assert [d["deployment_id"] for d in v1["deployments"]] == [first.deployment_id, same_table.deployment_id]
    assert [d["deployment_id"] for d in v2["deployments"]] == [changed.deployment_id]
    assert v3["deployment_id"] == rolled_back.deployment_id and v3["digest"] == v1["digest"]
    assert [v["version"] for v in by_id(engine)["auto_registration"]["versions"]] == [1]


def test_one_version_with_its_file_set_and_table(engine):
    engine.deploy(district(), deployed_by="alice")
    engine.deploy(with_routing_team(district(), "grid_patrol"), deployed_by="bob")

    newest = engine.designs.decision("routing")
    assert (newest["version"], newest["newest"], newest["file"]) == (2, 2, "routing.dmn")
    assert set(newest["files"]) == set(district())                           # the whole set of its deployment
    table = newest["table"]
    assert table["hit_policy"] == "FIRST"
    assert [i["expression"] for i in table["inputs"]][:3] == ["scenario", "severity", "inside_compound"]
    assert [o["name"] for o in table["outputs"]] == ["route.team", "route.urgent", "route.handle_limit",
                                                     "route.handle_remind"]
    rule = next(r for r in table["rules"] if r["id"] == "routing_fire_lane_compound")
    assert rule["outputs"][0] == {"id": "routing_fire_lane_compound_out_team", "text": '"grid_patrol"'}
    assert rule["description"].startswith("小区内消防通道占用")

    old = engine.designs.decision("routing", 1)
    assert '"property_company"' in old["files"]["routing.dmn"] and old["newest"] == 2
    for missing in (3, 0):
        with pytest.raises(NotFound):
            engine.designs.decision("routing", missing)
    with pytest.raises(NotFound):
        engine.designs.decision("no_such_decision")


def test_reformatting_a_file_is_no_new_version_of_its_decisions(engine):
    """dmn-js writes the whole file anew on save: indentation and comments are no change of a decision."""
    engine.deploy(district(), deployed_by="alice")
    files = district()
    text = files["auto_registration.dmn"].decode("utf-8")
    text = text.replace("<!-- Automatic registration:", "<!-- Reworded. Automatic registration:", 1)
    text = text.replace("\n      <rule ", "\n  <rule ").replace("></inputEntry>", ">\n        </inputEntry>")
    files["auto_registration.dmn"] = text.encode("utf-8")
    engine.deploy(files, deployed_by="bob")
    assert [v["version"] for v in by_id(engine)["auto_registration"]["versions"]] == [1]

    files["auto_registration.dmn"] = text.replace('hitPolicy="FIRST"', 'hitPolicy="UNIQUE"', 1).encode("utf-8")
    engine.deploy(files, deployed_by="carol")                                # an attribute is a change
    assert [v["version"] for v in by_id(engine)["auto_registration"]["versions"]] == [2, 1]


def test_nothing_deployed_no_decisions(engine):
    assert engine.designs.decisions() == []
