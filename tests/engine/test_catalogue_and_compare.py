"""The designer's engine side: what is deployed and still used, rolling back, checking a file set without storing
it, and comparing two versions of a diagram (a pure function)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import catalogue, defaults
from engine.deploy.compare import compare, compare_files, elements
from engine.exceptions import DeploymentRejected, NotFound, TooLarge
from tests.conftest import read_files

ROOT = Path(__file__).resolve().parent.parent.parent
#: A hotline report, as the web form gives it.
START = {"scenario": "illegal_dumping", "channel": "hotline", "severity": "medium", "address": "广中路 88号",
         "reported_at": "2026-01-05T09:00:00+00:00"}
CLOSED_LOOP = (ROOT / "bpmn" / "closed_loop.bpmn").read_bytes()


def replaced(xml: bytes, old: str, new: str) -> bytes:
    assert old.encode() in xml
    return xml.replace(old.encode(), new.encode(), 1)


# -- compare (pure) ------------------------------------------------------------------------------------------------

def test_the_same_diagram_has_no_changes():
    assert compare(CLOSED_LOOP, CLOSED_LOOP) == {"added": [], "removed": [], "changed": [], "layout_changed": False}


def test_a_changed_deadline_name_and_condition_are_changes_of_their_elements():
    new = replaced(CLOSED_LOOP, '<spiffworkflow:property name="dueIn" value="dispatch_limit"/>',
                   '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')
    new = replaced(new, 'name="立案审核"', 'name="立案"')
    result = compare(CLOSED_LOOP, new)
    assert result["added"] == [] and result["removed"] == [] and not result["layout_changed"]
    [register] = result["changed"]
    assert register["id"] == "register" and register["kind"] == "userTask"
    assert {c["what"]: (c["old"], c["new"]) for c in register["changes"]} == {
        "name": ("立案审核", "立案"), "property dueIn": ("dispatch_limit", '"PT2H"')}


def test_added_and_removed_elements_by_id_and_a_moved_lane_member():
    old = b"""<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
      <process id="p"><laneSet id="ls"><lane id="a" name="police"><flowNodeRef>t1</flowNodeRef></lane>
        <lane id="b" name="grid_patrol"/></laneSet>
        <userTask id="t1" name="One"/><scriptTask id="s1"><script>x = 1</script></scriptTask>
        <sequenceFlow id="f1" sourceRef="t1" targetRef="s1"><conditionExpression>a == 1</conditionExpression>
        </sequenceFlow></process></definitions>"""
    new = b"""<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
      <process id="p"><laneSet id="ls"><lane id="a" name="police"/>
        <lane id="b" name="grid_patrol"><flowNodeRef>t1</flowNodeRef></lane></laneSet>
        <userTask id="t1" name="One"/><manualTask id="t2" name="Two"/>
        <sequenceFlow id="f1" sourceRef="t1" targetRef="t2"><conditionExpression>a == 2</conditionExpression>
        </sequenceFlow></process></definitions>"""
    result = compare(old, new)
    assert result["added"] == [{"id": "t2", "kind": "manualTask", "name": "Two"}]
    assert result["removed"] == [{"id": "s1", "kind": "scriptTask", "name": None}]
    changed = {c["id"]: {x["what"]: (x["old"], x["new"]) for x in c["changes"]} for c in result["changed"]}
    assert changed == {"a": {"content flowNodeRef": ("t1", None)}, "b": {"content flowNodeRef": (None, "t1")},
                       "f1": {"attribute targetRef": ("s1", "t2"), "content conditionExpression": ("a == 1", "a == 2")}}


def test_moving_shapes_is_only_a_layout_change():
    new = replaced(CLOSED_LOOP, 'x="', 'x="1')
    result = compare(CLOSED_LOOP, new)
    assert result["changed"] == [] and result["layout_changed"] is True


def test_untrusted_xml_is_refused_not_expanded():
    bomb = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n<x id="r">&b;</x>'
    with pytest.raises(DeploymentRejected) as refused:
        elements(bomb, "bomb.bpmn")
    assert refused.value.problems[0].line == 2 and "DOCTYPE" in refused.value.problems[0].message
    with pytest.raises(DeploymentRejected):
        compare(CLOSED_LOOP, b"<definitions")


def test_files_of_two_sets():
    assert compare_files({"a": "1", "b": "2", "c": "3"}, {"b": "2", "c": "4", "d": "5"}) == {
        "added": ["d"], "removed": ["a"], "changed": ["c"]}


# -- file sets -----------------------------------------------------------------------------------------------------

def test_a_file_set_is_checked_for_shape_and_size(monkeypatch):
    assert catalogue.file_set({"files": {"a.bpmn": "x"}}) == {"a.bpmn": b"x"}
    catalogue.check_request_size(None)
    catalogue.check_request_size(2 * defaults.MAX_DEPLOY_SET_BYTES)    # room for JSON escaping
    with pytest.raises(TooLarge):
        catalogue.check_request_size(2 * defaults.MAX_DEPLOY_SET_BYTES + 1)
    monkeypatch.setattr(defaults, "MAX_DEPLOY_SET_BYTES", 10)
    with pytest.raises(TooLarge) as large:
        catalogue.file_set({"files": {"a.bpmn": "零一二三四"}})            # 15 bytes in UTF-8
    assert large.value.details == {"limit": 10, "size": 15}
    for body in (None, [], {"files": "x"}, {"files": {}}, {"files": {"a/b.bpmn": "x"}}):
        with pytest.raises(DeploymentRejected):
            catalogue.file_set(body)


def test_check_lists_problems_and_stores_nothing(engine):
    files = read_files(ROOT / "bpmn")
    assert catalogue.check(files) == []
    files["closed_loop.bpmn"] = replaced(files["closed_loop.bpmn"], 'value="dispatch_limit"', 'value="1 +"')
    [problem] = catalogue.check(files)
    assert problem["element_id"] == "register" and problem["file"] == "closed_loop.bpmn" and problem["line"]
    assert engine.designs.processes() == []


# -- versions, use and roll back -----------------------------------------------------------------------------------

def test_versions_with_who_when_and_running_instances_and_roll_back(engine):
    files = read_files(ROOT / "bpmn")
    first = engine.deploy(files, deployed_by="alice")
    old_case = engine.start("closed_loop", START)
    changed = dict(files, **{"closed_loop.bpmn": replaced(files["closed_loop.bpmn"], 'value="dispatch_limit"',
                                                            'value="&quot;PT2H&quot;"')})
    second = engine.deploy(changed, deployed_by="bob")
    assert second.created and second.versions["closed_loop"] == 2

    [loop] = [p for p in engine.designs.processes() if p["process_id"] == "closed_loop"]
    assert [(v["version"], v["deployed_by"], v["running"]) for v in loop["versions"]] == [(2, "bob", 0),
                                                                                          (1, "alice", 1)]
    assert loop["running"] == 1 and loop["versions"][0]["deployed_at"] is not None
    one = engine.designs.version("closed_loop", 1)
    assert one["diagram_file"] == "closed_loop.bpmn" and one["newest"] == 2 and one["running"] == 1
    assert one["files"]["closed_loop.bpmn"].encode() == files["closed_loop.bpmn"]
    with pytest.raises(NotFound):
        engine.designs.version("closed_loop", 7)

    # rolling back makes version 1's content the newest again, as version 3
    back = engine.roll_back(first.deployment_id, deployed_by="carol")
    assert back.created and back.versions["closed_loop"] == 3
    # deploying that content again now changes nothing: it is the newest
    again = engine.deploy(files, deployed_by="carol")
    assert (again.created, again.deployment_id, again.versions["closed_loop"]) == (False, back.deployment_id, 3)
    # while version 2's content, older now, is a version again when deployed (a roll back by deploying)
    assert engine.deploy(changed, deployed_by="bob").versions["closed_loop"] == 4
    assert engine.roll_back(first.deployment_id, deployed_by="carol").versions["closed_loop"] == 5
    assert engine.designs.version("closed_loop", 3)["files"] == one["files"]
    new_case = engine.start("closed_loop", START)
    assert engine.get(new_case).version == 5 and engine.get(old_case).version == 1
    assert engine.roll_back(back.deployment_id, deployed_by="carol").created is False
    with pytest.raises(NotFound):
        engine.roll_back(999, deployed_by="carol")

    diff = engine.designs.compare_versions("closed_loop", 2, 3)
    assert [c["id"] for c in diff["elements"]["changed"]] == ["register"]
    assert diff["files"] == {"added": [], "removed": [], "changed": ["closed_loop.bpmn"]}
    assert diff["old"]["version"] == 2 and "files" not in diff["old"]


def test_conditions_inside_an_embedded_sub_process_are_compiled_too():
    files = read_files(ROOT / "bpmn")
    files["closed_loop.bpmn"] = replaced(files["closed_loop.bpmn"], 'scenario == "street_trading"', "scenario == ((")
    [problem] = catalogue.check(files)
    assert problem["element_id"] == "gw_playbook" and "call_street_trading" in problem["message"]
    assert problem["line"] == CLOSED_LOOP[:CLOSED_LOOP.index(b'id="gw_playbook"')].count(b"\n") + 1
