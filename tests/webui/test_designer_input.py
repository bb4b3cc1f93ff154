"""The designer API's validate and deploy agree on texts that are not valid Unicode or too long for their columns:
validate says invalid with file and line, deploy refuses with the same problems (422), never a 500."""
from __future__ import annotations

import json

import pytest

from tests.conftest import DIAGRAMS

SANDBOX = (DIAGRAMS / "sandbox.bpmn").read_text()

CASES = {
    "surrogate in a text": ({"sandbox.bpmn": SANDBOX.replace('name="Approve"', 'name="Appro\ud800ve"')},
                            "contains an unpaired surrogate ('\\ud800')"),
    "surrogate in a name": ({"sand\udfffbox.bpmn": SANDBOX}, "the file name has an unpaired surrogate"),
    "NUL in a text": ({"sandbox.bpmn": SANDBOX.replace('name="Approve"', 'name="Appro\x00ve"')}, "contains a NUL character"),
    "process name too long": ({"sandbox.bpmn": SANDBOX.replace('name="Sandbox"', f'name="{"x" * 301}"')},
                              "process name is 301 characters long"),
}


def post(client, url: str, files: dict):
    """POST JSON as a browser's JSON.stringify sends it: an unpaired surrogate travels as a \\udXXX escape."""
    return client.flask.post(url, data=json.dumps({"files": files}), content_type="application/json",
                             headers={"X-CSRF-Token": client.csrf})


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_and_deploy_refuse_bad_texts_alike(login, case):
    files, message = CASES[case]
    designer = login("designer")
    validated = post(designer, "/api/v1/designer/validate", files)
    assert validated.status_code == 200
    body = validated.get_json()
    assert body["valid"] is False and any(message in p["message"] for p in body["problems"]), body
    deployed = post(designer, "/api/v1/designer/deploy", files)
    assert deployed.status_code == 422, deployed.get_data(as_text=True)
    error = deployed.get_json()["error"]
    assert error["code"] == "deployment_rejected" and error["details"] == body["problems"]
    assert all(p["line"] for p in body["problems"] if "file name" not in p["message"])
