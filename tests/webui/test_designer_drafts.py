"""Designers' drafts (kept unvalidated, one per designer and process, gone once deployed) and the live preview of
a form schema edited beside the diagram."""
from __future__ import annotations

import json
import re

import pytest

from tests.webui.test_designer import REGISTER_DUE, TINY, district_files, edited

BROKEN = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="dispatch_limit +"/>')


@pytest.fixture
def designer(login):
    return login("designer")


def file_set_on_page(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="file-set">(.*?)</script>', page, re.S).group(1))


def test_a_draft_is_kept_unvalidated_and_reopens_in_the_editor(designer, seeded):
    base = seeded.designs.version("closed_loop", 1)["deployment_id"]
    saved = designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": BROKEN, "base_deployment_id": base})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["base_deployment_id"] == base

    page = designer.get("/designer/closed_loop/edit").get_data(as_text=True)
    assert 'id="draft-notice"' in page and 'id="draft-behind"' not in page
    assert 'value="dispatch_limit +"' in file_set_on_page(page)["closed_loop.bpmn"]   # the draft, not v1
    listing = designer.get("/designer").get_data(as_text=True)
    assert 'data-process="closed_loop" data-author="designer"' in listing
    assert 'class="edit-link" href="/designer/closed_loop/edit"' in listing      # every process opens from the list

    # saving again replaces the draft: still one per designer and process
    designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": district_files(), "base_deployment_id": base})
    assert [d["author"] for d in seeded.designs.drafts()] == ["designer"]
    assert 'value="dispatch_limit +"' not in file_set_on_page(
        designer.get("/designer/closed_loop/edit").get_data(as_text=True))["closed_loop.bpmn"]


def test_a_draft_is_the_designers_own(designer, login, seeded):
    designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": BROKEN})
    other = login("admin")
    page = other.get("/designer/closed_loop/edit").get_data(as_text=True)
    assert 'id="draft-notice"' not in page
    assert 'value="dispatch_limit"' in file_set_on_page(page)["closed_loop.bpmn"]
    listing = other.get("/designer").get_data(as_text=True)       # visible to others, not opened for them
    assert 'data-author="designer"' in listing and 'href="/designer/closed_loop/edit">closed_loop' not in listing


def test_a_draft_based_on_an_older_version_says_so(designer, seeded):
    base = seeded.designs.version("closed_loop", 1)["deployment_id"]
    designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": BROKEN, "base_deployment_id": base})
    newer = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')
    assert designer.api("POST", "/api/v1/designer/deploy", {"files": newer}).status_code == 201   # no "draft" key
    page = designer.get("/designer/closed_loop/edit").get_data(as_text=True)
    assert 'id="draft-behind"' in page and "v2" in page


def test_deploying_the_draft_removes_it_and_a_refused_one_keeps_it(designer, seeded):
    designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": BROKEN})
    refused = designer.api("POST", "/api/v1/designer/deploy", {"files": BROKEN, "draft": "closed_loop"})
    assert refused.status_code == 422
    assert seeded.designs.draft("closed_loop", "designer") is not None

    fixed = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT45M&quot;"/>')
    deployed = designer.api("POST", "/api/v1/designer/deploy", {"files": fixed, "draft": "closed_loop"})
    assert deployed.status_code == 201
    assert seeded.designs.draft("closed_loop", "designer") is None
    assert 'id="draft-notice"' not in designer.get("/designer/closed_loop/edit").get_data(as_text=True)


def test_discarding_a_draft(designer, seeded):
    designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": BROKEN})
    assert designer.api("DELETE", "/api/v1/designer/drafts/closed_loop").get_json() == {"discarded": True}
    assert designer.api("DELETE", "/api/v1/designer/drafts/closed_loop").get_json() == {"discarded": False}
    assert seeded.designs.drafts() == []


@pytest.mark.parametrize("body, status", [
    ({"files": {}}, 422),
    ({"files": {"../x.bpmn": TINY}}, 422),
    ({"files": {"a.bpmn": 5}}, 422),
    ("not an object", 422),
])
def test_a_draft_must_be_a_file_set(designer, seeded, body, status):
    response = designer.api("PUT", "/api/v1/designer/drafts/closed_loop", body)
    assert response.status_code == status
    assert seeded.designs.drafts() == []


def test_a_draft_over_the_size_limit_is_refused(designer, seeded, monkeypatch):
    from engine import defaults

    monkeypatch.setattr(defaults, "MAX_DEPLOY_SET_BYTES", 2000)
    response = designer.api("PUT", "/api/v1/designer/drafts/closed_loop", {"files": {"tiny.bpmn": TINY * 3}})
    assert response.status_code == 413
    assert seeded.designs.drafts() == []


def test_the_form_preview_renders_the_task_page_fields(designer, seeded):
    schema = {"type": "object", "required": ["plate"], "properties": {
        "plate": {"type": "string", "title": "车牌号"}, "moved": {"type": "boolean", "title": "已挪车"},
        "kind": {"enum": ["car", "van"]}}}
    response = designer.api("POST", "/api/v1/designer/form-preview", {"name": "x.json", "schema": json.dumps(schema)})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["fields"] == ["plate", "moved", "kind"]
    assert 'id="f-plate"' in body["html"] and "车牌号" in body["html"] and '<span class="req">*</span>' in body["html"]
    assert '<option value="van"' in body["html"]


@pytest.mark.parametrize("text, detail", [
    ('{"type": "object",\n "properties": {"a": }}', ("x.json", 2, "form schema is not valid JSON")),
    ('{"type": "objekt"}', ("x.json", None, "form schema is not a valid JSON Schema")),
])
def test_a_broken_form_schema_says_where(designer, seeded, text, detail):
    response = designer.api("POST", "/api/v1/designer/form-preview", {"name": "x.json", "schema": text})
    assert response.status_code == 422
    [problem] = response.get_json()["error"]["details"]
    assert (problem["file"], problem["line"]) == detail[:2] and problem["message"].startswith(detail[2])


def test_drafts_store_on_both_backends(engine):
    first = engine.designs.save_draft("p", "ann", {"p.bpmn": b"<x/>"}, base_deployment_id=999)
    assert first["base_deployment_id"] is None                 # a deployment that does not exist is not kept
    engine.designs.save_draft("p", "ann", {"p.bpmn": b"<y/>"}, None)
    engine.designs.save_draft("p", "bob", {"p.bpmn": b"<z/>"}, None)
    assert engine.designs.draft("p", "ann")["files"] == {"p.bpmn": "<y/>"}
    assert sorted(d["author"] for d in engine.designs.drafts()) == ["ann", "bob"]
    assert engine.designs.discard_draft("p", "ann") and not engine.designs.discard_draft("p", "ann")
    assert engine.designs.draft("p", "ann") is None and engine.designs.draft("p", "bob")


def test_deploying_over_a_newer_version_someone_else_made_is_refused_unless_forced(designer, login, seeded):
    base = seeded.designs.version("closed_loop", 1)["deployment_id"]
    theirs = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')
    assert login("admin").api("POST", "/api/v1/designer/deploy", {"files": theirs}).status_code == 201

    mine = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT45M&quot;"/>')
    refused = designer.api("POST", "/api/v1/designer/deploy",
                           {"files": mine, "draft": "closed_loop", "base_deployment_id": base})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "conflict" and "v2" in error["message"] and error["details"]["deployed_by"] == "admin"
    assert [v["version"] for p in seeded.designs.processes() if p["process_id"] == "closed_loop"
            for v in p["versions"]] == [2, 1]

    forced = designer.api("POST", "/api/v1/designer/deploy",
                          {"files": mine, "draft": "closed_loop", "base_deployment_id": base, "force": True})
    assert forced.status_code == 201 and forced.get_json()["versions"]["closed_loop"] == 3
    newest = seeded.designs.version("closed_loop", 3)
    current = designer.api("POST", "/api/v1/designer/deploy",   # based on the newest: no question asked
                           {"files": theirs, "draft": "closed_loop", "base_deployment_id": newest["deployment_id"]})
    assert current.status_code == 201


def test_the_form_preview_follows_the_layout_file(designer, seeded):
    schema = json.dumps({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}})
    body = designer.api("POST", "/api/v1/designer/form-preview", {
        "name": "x.json", "schema": schema, "ui_name": "x.ui.json",
        "ui": json.dumps({"ui:order": ["b", "*"], "a": {"ui:placeholder": "甲"}})}).get_json()
    assert body["fields"] == ["b", "a"] and 'placeholder="甲"' in body["html"]
    broken = designer.api("POST", "/api/v1/designer/form-preview",
                          {"name": "x.json", "schema": schema, "ui_name": "x.ui.json", "ui": "[1, 2]"})
    assert broken.status_code == 422
    assert "x.ui.json" in broken.get_json()["error"]["message"]


def test_a_layout_deployed_from_the_designer_shapes_the_officers_task_page(designer, login, seeded):
    from tests.webui.conftest import fire_lane_alert

    files = edited('<spiffworkflow:property name="formJsonSchemaFilename" value="register.schema.json"/>',
                   '<spiffworkflow:property name="formJsonSchemaFilename" value="register.schema.json"/>'
                   '<spiffworkflow:property name="formUiSchemaFilename" value="register.ui.json"/>')
    files["register.ui.json"] = json.dumps({"ui:order": ["notes", "*"], "duplicate_of": {"ui:widget": "hidden"},
                                            "notes": {"ui:help": "先写现场情况"}}, ensure_ascii=False)
    assert designer.api("POST", "/api/v1/designer/deploy", {"files": files}).status_code == 201

    instance_id = seeded.start("closed_loop", fire_lane_alert("FIR-0050"), business_key="FIR-0050/fire_lane")
    [register] = seeded.ready_tasks(instance_id=instance_id)
    page = login("dispatcher").get(f"/tasks/{register['id']}").get_data(as_text=True)
    assert page.index('id="field-notes"') < page.index('id="field-decision"')
    assert 'id="field-duplicate_of"' not in page and "先写现场情况" in page


def test_the_editor_speaks_both_languages(designer, seeded):
    def context(page: str) -> dict:
        return json.loads(re.search(r'id="editor-context">(.*?)</script>', page, re.S).group(1))

    chinese = designer.get("/designer/closed_loop/edit").get_data(as_text=True)
    english = designer.get("/designer/closed_loop/edit?lang=en").get_data(as_text=True)
    assert "保存草稿" in chinese and "Save draft" in english
    assert context(chinese)["labels"]["calledElement"] == "调用的流程"
    assert context(english)["labels"]["calledElement"] == "Called process"
    assert context(english)["labels"].keys() == context(chinese)["labels"].keys()      # no label only in one
    assert {"code": "grid_patrol", "name": "Grid patrol and supervisors"} in context(english)["teams"]
    assert {"code": "grid_patrol", "name": "网格巡查队"} in context(chinese)["teams"]


def test_the_designer_is_told_of_a_team_the_district_does_not_have(designer, seeded):
    misspelt = edited('name="grid_patrol">', 'name="grid_patrl">')
    checked = designer.api("POST", "/api/v1/designer/validate", {"files": misspelt}).get_json()
    assert [p["element_id"] for p in checked["problems"]] == ["closed_loop_lane_grid_patrol"]
    refused = designer.api("POST", "/api/v1/designer/deploy", {"files": misspelt})
    assert refused.status_code == 422
    assert "grid_patrl" in refused.get_json()["error"]["details"][0]["message"]
