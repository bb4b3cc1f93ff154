"""Teams kept by admins (engine/teams.py): created, renamed, retired and restored. A retired team is offered as no
choice, takes no new members, cannot be named by a deployment and cannot be retired while the newest version of a
process routes to it; a case still running on an older version that routes to it says so in its timeline."""
from __future__ import annotations

import pytest

from engine import teams
from engine.exceptions import Conflict, DeploymentRejected, FormInvalid, NotFound
from tests.conftest import DIAGRAMS, read_files

ROSTER = [{"code": "command_centre", "name_zh": "指挥中心", "name_en": "Command centre", "kind": "in_house"},
          {"code": "field_team", "name_zh": "外勤队", "name_en": "Field team", "kind": "in_house"},
          {"code": "other_team", "name_zh": "另一队", "name_en": "Other team", "kind": "partner"}]


def inspection(lane: str = "field_team") -> dict[str, bytes]:
    files = read_files(DIAGRAMS / "inspection.bpmn", DIAGRAMS / "register.schema.json")
    files["inspection.bpmn"] = files["inspection.bpmn"].replace(b'name="field_team"', f'name="{lane}"'.encode())
    return files


def roster_of(engine):
    return engine.people.roster()


def test_create_rename_retire_and_restore(engine):
    engine.people.seed_teams(ROSTER)
    created = engine.teams.create("night_watch", " 夜巡队 ", "Night watch", "partner")
    assert (created["name_zh"], created["retired"]) == ("夜巡队", False)
    with pytest.raises(Conflict):
        engine.teams.create("night_watch", "又一个", "Again", "other")
    for code in ("Night", "x", "night_watch.lead", "夜巡", "a" * 61):
        with pytest.raises(FormInvalid):
            engine.teams.create(code, "名", "Name", "other")
    with pytest.raises(FormInvalid) as unnamed:
        engine.teams.create("day_watch", "", "Day watch", "sideline")
    assert set(unnamed.value.details) == {"name_zh", "kind"}

    renamed = engine.teams.rename("night_watch", "夜间巡逻队", "Night patrol", "in_house")
    assert (renamed["name_zh"], renamed["name_en"], renamed["kind"]) == ("夜间巡逻队", "Night patrol", "in_house")
    with pytest.raises(NotFound):
        engine.teams.rename("nobody", "无", "None", "other")

    member = engine.people.add_user("walker", "long enough", ["officer"], ["night_watch"])
    assert engine.teams.retire("night_watch")["retired"] is True
    assert "night_watch" not in {t["code"] for t in engine.people.teams()}          # no longer a choice
    assert "night_watch" in {t["code"] for t in engine.people.teams(retired=True)}
    assert "night_watch" not in roster_of(engine) and "night_watch" in roster_of(engine).retired
    with pytest.raises(FormInvalid):                                                    # takes no new members
        engine.people.add_user("runner", "long enough", ["officer"], ["night_watch"])
    kept = engine.people.update_user(member["id"], roles=["officer"], team_codes=["night_watch", "field_team"],
                                     display_name="老王")
    assert (kept["teams"], kept["display_name"]) == (["field_team", "night_watch"], "老王")   # its history stays
    [row] = [t for t in engine.teams.overview() if t["code"] == "night_watch"]
    assert (row["retired"], row["members"], row["open_tasks"]) == (True, 1, 0)

    assert engine.teams.restore("night_watch")["retired"] is False
    assert "night_watch" in roster_of(engine)


def test_loading_the_roster_never_revives_a_team_and_setup_keeps_the_names_given_in_the_app(engine):
    engine.people.seed_teams(ROSTER)
    engine.teams.rename("other_team", "改过的名字", "Renamed", "partner")
    engine.teams.retire("other_team")
    assert engine.people.seed_teams(ROSTER, update_existing=False) == 0
    assert teams.team(engine.store, "other_team")["name_zh"] == "改过的名字"
    engine.people.seed_teams(ROSTER)                          # `jingzhi teams load`: the file's names win
    found = teams.team(engine.store, "other_team")
    assert (found["name_zh"], found["retired"]) == ("另一队", True)


def test_a_routed_team_cannot_be_retired_and_a_retired_one_cannot_be_deployed(engine):
    engine.people.seed_teams(ROSTER)
    engine.deploy(inspection(), deployed_by="test", roster=roster_of(engine))
    instance_id = engine.start("inspection", {"device_id": "D-1"})          # waits at register, on version 1
    with pytest.raises(Conflict) as refused:
        engine.teams.retire("field_team")
    assert refused.value.details == {"processes": ["inspection"]}
    assert "newest version of inspection" in refused.value.message
    routed = {t["code"]: t["routed_by"] for t in engine.teams.overview()}
    assert routed == {"command_centre": ["inspection"], "field_team": ["inspection"], "other_team": []}

    engine.deploy(inspection("other_team"), deployed_by="test", roster=roster_of(engine))   # version 2 routes away
    assert engine.teams.retire("field_team")["retired"]

    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy(inspection("field_team"), deployed_by="test", roster=roster_of(engine))
    [problem] = rejected.value.problems
    assert problem.element_id == "lane_field" and "names a retired team" in problem.message

    # the case of version 1 still routes its next task there: created in that inbox, and said in its timeline
    [register] = engine.ready_tasks(instance_id=instance_id)
    engine.complete_task(register["id"], {"valid": True}, actor="dispatcher1")
    [handle] = engine.ready_tasks(instance_id=instance_id)
    assert (handle["bpmn_id"], handle["team"]) == ("handle", "field_team")
    flagged = [e for e in engine.history(instance_id) if e["kind"] == "task.team_retired"]
    assert [(e["detail"]["bpmn_id"], e["detail"]["team"]) for e in flagged] == [("handle", "field_team")]
    [row] = [t for t in engine.teams.overview() if t["code"] == "field_team"]
    assert row["open_tasks"] == 1
