"""The process designer: versions and their use, validating and deploying an edited file set from the browser,
rolling back, comparing two versions, and the limits on what may be sent."""
from __future__ import annotations

import io
import re

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from engine import defaults
from engine.models import Deployment
from tests.conftest import read_files
from tests.webui.conftest import ROOT, fire_lane_alert

#: A whole process in one small file, for the permission cases and the size checks.
TINY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="tiny_definitions" targetNamespace="http://jingzhi.example/test">
  <bpmn:process id="tiny" name="Tiny" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_check</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_check" sourceRef="start" targetRef="check"/>
    <bpmn:userTask id="check" name="Check">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="dueIn" value="&quot;PT1H&quot;"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>to_check</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="check" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
REGISTER_DUE = '<spiffworkflow:property name="dueIn" value="dispatch_limit"/>'


def district_files() -> dict[str, str]:
    """The district's deployed file set as the designer's browser holds it: name -> text."""
    return {name: data.decode("utf-8") for name, data in read_files(ROOT / "bpmn").items()}


def edited(old: str, new: str) -> dict[str, str]:
    files = district_files()
    assert old in files["closed_loop.bpmn"]
    files["closed_loop.bpmn"] = files["closed_loop.bpmn"].replace(old, new, 1)
    return files


def line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


def deployments(engine) -> int:
    with engine.store.session() as session:
        return session.query(Deployment).count()


@pytest.fixture
def designer(login):
    return login("designer")


def test_the_process_list_shows_versions_who_when_and_running_instances(designer, seeded, registered_case):
    instance_id, _ = registered_case
    response = designer.api("POST", "/api/v1/designer/deploy",
                            {"files": edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] is True and response.get_json()["versions"]["closed_loop"] == 2

    page = designer.get("/designer").get_data(as_text=True)
    assert re.search(r'data-process="closed_loop" data-version="2" data-running="0"', page)
    assert re.search(r'data-process="closed_loop" data-version="1" data-running="1"', page)
    assert "流程设计" in page and '<td translate="no" data-label="部署人">designer</td>' in page    # who deployed v2
    assert "Process designer" in designer.get("/designer?lang=en").get_data(as_text=True)

    # the running case stays on version 1; a new one starts on version 2 with the new deadline
    assert seeded.get(instance_id).version == 1
    newer = seeded.start("closed_loop", fire_lane_alert("FIR-0043"), business_key="FIR-0043/fire_lane")
    assert seeded.get(newer).version == 2
    [register] = seeded.ready_tasks(instance_id=newer)
    assert (register["due_at"] - register["created_at"]).total_seconds() == 2 * 3600


def test_the_version_page_has_the_diagram_and_every_file_to_download(designer, seeded):
    page = designer.get("/designer/closed_loop/1").get_data(as_text=True)
    assert 'id="diagram" data-src="/designer/closed_loop/1/files/closed_loop.bpmn"' in page
    assert "bpmn-navigated-viewer.production.min.js" in page
    for name in district_files():
        assert f'/designer/closed_loop/1/files/{name}"' in page
    download = designer.get("/designer/closed_loop/1/files/routing.dmn")
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True) == district_files()["routing.dmn"]
    assert designer.get("/designer/closed_loop/1/files/nothing.bpmn").status_code == 404
    assert designer.get("/designer/closed_loop/9").status_code == 404


def test_validation_returns_each_problem_with_element_id_and_line_and_stores_nothing(designer, seeded):
    files = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot; +"/>')
    before = deployments(seeded)
    response = designer.api("POST", "/api/v1/designer/validate", {"files": files})
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is False
    [problem] = body["problems"]
    assert problem["file"] == "closed_loop.bpmn" and problem["element_id"] == "register"
    assert problem["line"] == line_of(files["closed_loop.bpmn"], '<bpmn:userTask id="register"')
    assert "dueIn" in problem["message"]
    assert deployments(seeded) == before

    good = designer.api("POST", "/api/v1/designer/validate", {"files": district_files()}).get_json()
    assert good == {"valid": True, "problems": []}


def test_a_refused_deployment_answers_422_with_the_same_problems_and_stores_nothing(designer, seeded):
    files = edited('targetRef="register"', 'targetRef="registr"')
    before = deployments(seeded)
    checked = designer.api("POST", "/api/v1/designer/validate", {"files": files}).get_json()["problems"]
    response = designer.api("POST", "/api/v1/designer/deploy", {"files": files})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "deployment_rejected" and error["details"] == checked and checked
    assert all(p["element_id"] and p["line"] for p in checked)
    assert deployments(seeded) == before
    assert seeded.designs.processes()[0]["versions"][0]["version"] == 1


def test_the_same_content_again_makes_no_new_version_and_says_so(designer, seeded):
    response = designer.api("POST", "/api/v1/designer/deploy", {"files": district_files()})
    assert response.status_code == 200
    body = response.get_json()
    assert body["created"] is False and body["versions"]["closed_loop"] == 1
    assert "no new version" in body["message"] and f"deployment {body['deployment_id']}" in body["message"]


def test_roll_back_makes_the_older_content_the_newest_version(designer, seeded, registered_case):
    instance_id, _ = registered_case
    changed = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')
    assert designer.api("POST", "/api/v1/designer/deploy", {"files": changed}).status_code == 201
    first = seeded.designs.version("closed_loop", 1)

    page = designer.get("/designer/closed_loop/1").get_data(as_text=True)
    assert 'id="roll-back"' in page
    response = designer.post(f"/designer/deployments/{first['deployment_id']}/roll-back",
                             {"process_id": "closed_loop"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/designer/closed_loop/3")
    third = seeded.designs.version("closed_loop", 3)
    assert third["files"] == first["files"] and third["deployed_by"] == "designer"
    newer = seeded.start("closed_loop", fire_lane_alert("FIR-0043"), business_key="FIR-0043/fire_lane")
    assert seeded.get(newer).version == 3 and seeded.get(instance_id).version == 1
    [register] = seeded.ready_tasks(instance_id=newer)
    assert (register["due_at"] - register["created_at"]).total_seconds() != 2 * 3600

    # rolling back to what is already the newest stores nothing
    before = deployments(seeded)
    again = designer.post(f"/designer/deployments/{third['deployment_id']}/roll-back", {"process_id": "closed_loop"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/designer/closed_loop/3")
    assert deployments(seeded) == before
    assert "已是最新" in designer.get("/designer/closed_loop/3").get_data(as_text=True)
    other = designer.post(f"/designer/deployments/{third['deployment_id']}/roll-back", {"process_id": "nothing"})
    assert other.status_code == 302 and other.headers["Location"].endswith("/designer/closed_loop/3")  # its first


def test_comparing_two_versions_lists_what_changed(designer, seeded):
    changed = edited(REGISTER_DUE, '<spiffworkflow:property name="dueIn" value="&quot;PT2H&quot;"/>')
    assert designer.api("POST", "/api/v1/designer/deploy", {"files": changed}).status_code == 201
    page = designer.get("/designer/closed_loop/compare?from=1&to=2").get_data(as_text=True)
    assert '<tr data-id="register">' in page and "property dueIn" in page
    assert "dispatch_limit" in page and "&#34;PT2H&#34;" in page
    assert re.search(r'id="file-changes">[^<]*closed_loop.bpmn', page)
    same = designer.get("/designer/closed_loop/compare?from=1&to=1").get_data(as_text=True)
    assert 'id="no-changes"' in same
    assert designer.get("/designer/closed_loop/compare?from=1").status_code == 404


def test_a_file_set_over_the_limit_is_refused_with_a_clear_error(designer, seeded, monkeypatch):
    monkeypatch.setattr(defaults, "MAX_DEPLOY_SET_BYTES", 4000)
    response = designer.api("POST", "/api/v1/designer/validate",
                            {"files": {"tiny.bpmn": TINY, "padding.json": '"' + "x" * 4000 + '"'}})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "at most 4000 bytes" in error["message"]
    assert designer.api("POST", "/api/v1/designer/deploy", {"files": {"tiny.bpmn": TINY}}).status_code == 201


def test_a_body_over_the_limit_is_refused_before_it_is_read(app, designer, seeded, monkeypatch):
    monkeypatch.setattr(defaults, "MAX_DEPLOY_SET_BYTES", 4000)
    junk = b"{" * 9000                                   # not even JSON: a parse would answer 422, not 413
    headers = {"X-CSRF-Token": designer.csrf, "Content-Type": "application/json"}
    response = designer.flask.post("/api/v1/designer/deploy", data=junk, headers=headers)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"

    # chunked, without Content-Length (as waitress hands it on): Werkzeug stops reading at the limit
    environ = EnvironBuilder("/api/v1/designer/deploy", method="POST", input_stream=io.BytesIO(junk),
                             headers={**headers, "Cookie": f"session={designer.flask.get_cookie('session').value}"},
                             environ_overrides={"wsgi.input_terminated": True}).get_environ()
    del environ["CONTENT_LENGTH"]
    _, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert deployments(seeded) == 1


def test_the_real_limit_refuses_a_few_megabytes(designer, seeded):
    body = {"files": {"tiny.bpmn": TINY, "big.json": '"' + "x" * defaults.MAX_DEPLOY_SET_BYTES + '"'}}
    before = deployments(seeded)
    response = designer.api("POST", "/api/v1/designer/deploy", body)
    assert response.status_code == 413 and deployments(seeded) == before


@pytest.mark.parametrize("body", [None, {"files": []}, {"files": {}}, {"files": {"a.bpmn": 1}},
                                  {"files": {"../a.bpmn": TINY}}])
def test_what_is_not_a_file_set_is_refused_with_a_message(designer, seeded, body):
    response = designer.api("POST", "/api/v1/designer/validate", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "deployment_rejected"


def test_untrusted_diagrams_with_entities_are_refused_with_the_line(designer, seeded):
    laughs = TINY.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                          '<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY lol "lol">]>\n')
    body = designer.api("POST", "/api/v1/designer/validate", {"files": {"tiny.bpmn": laughs}}).get_json()
    assert body["valid"] is False
    assert body["problems"][0]["line"] == 2 and "DOCTYPE" in body["problems"][0]["message"]


def test_the_editor_endpoints_need_the_csrf_header(designer, seeded):
    response = designer.flask.post("/api/v1/designer/deploy", json={"files": {"tiny.bpmn": TINY}})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert deployments(seeded) == 1


def test_only_designers_and_admins_see_the_designer_link(login, seeded):
    assert 'href="/designer"' in login("designer").get("/inbox").get_data(as_text=True)
    assert 'href="/designer"' in login("admin").get("/inbox").get_data(as_text=True)
    assert 'href="/designer"' not in login("property1").get("/inbox").get_data(as_text=True)


def test_the_edit_page_carries_the_newest_file_set_for_the_modeler(designer, seeded):
    page = designer.get("/designer/closed_loop/edit").get_data(as_text=True)
    assert "bpmn-modeler.production.min.js" in page and 'data-file="closed_loop.bpmn"' in page
    embedded = re.search(r'<script type="application/json" id="file-set">(.*?)</script>', page, re.S).group(1)
    import json
    assert json.loads(embedded) == district_files()
    assert designer.get("/designer/nothing/edit").status_code == 404


@pytest.mark.parametrize("name", ["camunda.bpmn", "zeebe.bpmn", "signavio.bpmn"])
def test_diagrams_from_other_tools_get_an_answer_never_a_server_error(designer, seeded, name):
    from tests.conftest import DIAGRAMS

    text = (DIAGRAMS / "other_tools" / name).read_text()
    checked = designer.api("POST", "/api/v1/designer/validate", {"files": {name: text}})
    assert checked.status_code == 200
    deployed = designer.api("POST", "/api/v1/designer/deploy", {"files": {name: text}})
    if checked.get_json()["valid"]:
        assert deployed.status_code == 201
    else:
        assert deployed.status_code == 422
        assert deployed.get_json()["error"]["details"] == checked.get_json()["problems"]
        assert all(p["element_id"] and p["line"] for p in checked.get_json()["problems"])


def test_every_other_tools_file_validates_to_200_naming_what_to_change(designer, seeded):
    from tests.conftest import DIAGRAMS

    for path in sorted((DIAGRAMS / "other_tools").iterdir()):
        checked = designer.api("POST", "/api/v1/designer/validate", {"files": {path.name: path.read_text()}})
        assert checked.status_code == 200, path.name
    text = (DIAGRAMS / "other_tools" / "camunda7.bpmn").read_text()
    body = designer.api("POST", "/api/v1/designer/validate", {"files": {"camunda7.bpmn": text}}).get_json()
    assert body["valid"] is False
    assert {"file": "camunda7.bpmn", "element_id": "Flow_large", "line": line_of(text, "${amount &gt; 100}"),
            "message": "sequenceFlow 'Flow_large' uses the JUEL (Camunda 7) condition ${amount > 100}: expressions "
                       "here are Python, evaluated on the case data; e.g. amount > 100"} in body["problems"]
    assert any(p["element_id"] == "Task_check" and "camunda:class" in p["message"] for p in body["problems"])
