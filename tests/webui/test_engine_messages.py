"""What the engine says (deploy problems, people errors) reaches a person in their language: the designer's validate
and deploy answers, the JSON API's errors and the admin page, in Chinese and in English; the same engine messages
stay English for the CLI, the logs, and an API request that names no language."""
from __future__ import annotations

import pytest

from engine import people
from engine.exceptions import Message
from tests.conftest import DIAGRAMS
from tests.webui.test_designer import TINY, edited, line_of
from webui.i18n import say

ZH, EN = {"Accept-Language": "zh-CN,zh;q=0.9"}, {"Accept-Language": "en-GB,en;q=0.9"}
#: The lone multi-instance task of TINY, run 51 times at once: one past sandbox_limits.MAX_PARALLEL_BRANCHES.
MANY = TINY.replace('<bpmn:userTask id="check" name="Check">', '<bpmn:userTask id="check" name="Check">'
                    '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>51</bpmn:loopCardinality>'
                    '</bpmn:multiInstanceLoopCharacteristics>')
#: A condition that is not Python: expressions.py says "{what} does not compile: {error}" with what a Message itself.
BROKEN_CONDITION = ('<bpmn:conditionExpression>scenario == "street_trading"</bpmn:conditionExpression>',
                    '<bpmn:conditionExpression>scenario == </bpmn:conditionExpression>')


def call(client, path: str, body: dict, headers: dict):
    return client.flask.open(path, method="POST", json=body, headers={"X-CSRF-Token": client.csrf, **headers})


def problems(client, files: dict, headers: dict) -> list[dict]:
    response = call(client, "/api/v1/designer/validate", {"files": files}, headers)
    assert response.status_code == 200
    return response.get_json()["problems"]


def messages(found: list[dict]) -> list[str]:
    return [p["message"] for p in found]


@pytest.fixture
def designer(login):
    return login("designer")


def test_validation_problems_in_chinese_and_in_english(designer, seeded):
    """validation.py: the file set itself."""
    files = {"notes.txt": "x"}
    assert messages(problems(designer, files, EN)) == ["no .bpmn file in the deployment",
                                                       "unsupported file type (expected .bpmn, .dmn or .json)"]
    assert messages(problems(designer, files, ZH)) == ["部署中没有 .bpmn 文件", "不支持的文件类型（应为 .bpmn、.dmn 或 .json）"]
    broken = {"a.bpmn": "<bpmn:definitions"}
    [english] = messages(problems(designer, broken, EN))
    [chinese] = messages(problems(designer, broken, ZH))
    assert english.startswith("malformed XML: ") and chinese.startswith("XML 格式错误：")
    assert english.removeprefix("malformed XML: ") == chinese.removeprefix("XML 格式错误：")   # lxml's own words


def test_a_nested_message_is_translated_inside_its_sentence(designer, seeded):
    """expressions.py: "condition of the flow to {target}" inside "{what} does not compile: {error}"."""
    files = edited(*BROKEN_CONDITION)
    [english] = problems(designer, files, EN)
    [chinese] = problems(designer, files, ZH)
    assert english["message"].startswith("condition of the flow to call_street_trading does not compile: ")
    assert chinese["message"].startswith("通往 call_street_trading 的顺序流的条件无法编译：")
    error = english["message"].split("does not compile: ", 1)[1]                 # Python's SyntaxError stays as it is
    assert chinese["message"].endswith(error) and error
    assert {k: v for k, v in english.items() if k != "message"} == {k: v for k, v in chinese.items() if k != "message"}


def test_advice_for_a_camunda_diagram_in_chinese_and_in_english(designer, seeded):
    """foreign.py: what a Camunda 7 diagram relies on, and what to write instead."""
    text = (DIAGRAMS / "other_tools" / "camunda7.bpmn").read_text()
    where = {"file": "camunda7.bpmn", "element_id": "Flow_large", "line": line_of(text, "${amount &gt; 100}")}
    assert {**where, "message": "sequenceFlow 'Flow_large' uses the JUEL (Camunda 7) condition ${amount > 100}: "
                                "expressions here are Python, evaluated on the case data; e.g. amount > 100"} \
        in problems(designer, {"camunda7.bpmn": text}, EN)
    chinese = problems(designer, {"camunda7.bpmn": text}, ZH)
    assert {**where, "message": "sequenceFlow 'Flow_large' 使用了 JUEL (Camunda 7) 写的条件 ${amount > 100}："
                                "本系统的表达式是 Python，基于案件数据求值；例如 amount > 100"} in chinese
    [check] = [p["message"] for p in chinese if p["element_id"] == "Task_check"]
    assert check.startswith("serviceTask 'Task_check' 使用了 camunda:class（Java 委托类）：本系统不支持调用 Java 类")


def test_a_limit_of_the_sandbox_in_chinese_and_in_english(designer, seeded):
    """sandbox_limits.py: numbers and the constant's name kept, the sentence translated."""
    [english] = messages(problems(designer, {"many.bpmn": MANY}, EN))
    [chinese] = messages(problems(designer, {"many.bpmn": MANY}, ZH))
    assert english == ("runs 51 instances in parallel; a diagram may have at most 50 branches active at once "
                       "(engine.deploy.sandbox_limits.MAX_PARALLEL_BRANCHES)")
    assert chinese == "并行运行 51 个实例；一张图同时活动的分支最多 50 个（engine.deploy.sandbox_limits.MAX_PARALLEL_BRANCHES）"


def test_a_refused_deployment_answers_422_in_the_readers_language(designer, seeded):
    files = edited(*BROKEN_CONDITION)
    for headers, refused in ((ZH, "部署被拒绝，共 1 个问题：\n  - closed_loop.bpmn:"),
                             (EN, "deployment refused, 1 problem(s):\n  - closed_loop.bpmn:")):
        response = call(designer, "/api/v1/designer/deploy", {"files": files}, headers)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "deployment_rejected" and error["message"].startswith(refused)
        assert error["details"] == problems(designer, files, headers)
        assert error["details"][0]["message"] in error["message"]
    assert error["details"][0]["message"].startswith("condition of the flow to call_street_trading")


def test_the_api_says_what_the_request_asks_and_english_when_it_asks_nothing(app, seeded, designer):
    """A machine client sends no Accept-Language: it gets the English it always got (codes never change); one that
    asks for Chinese gets Chinese; a person's choice of language (kept in the session) holds on the API too."""
    token = people.create_token(seeded.store, "designer", "test")
    client = app.test_client()

    def validate(headers):
        return client.post("/api/v1/designer/validate", json={"files": {"notes.txt": "x"}},
                           headers={"Authorization": f"Bearer {token}", **headers}).get_json()["problems"][0]

    assert validate({})["message"] == "no .bpmn file in the deployment"
    assert validate(ZH)["message"] == "部署中没有 .bpmn 文件"
    assert validate({"Accept-Language": "fr-FR"})["message"] == "no .bpmn file in the deployment"
    assert validate(ZH)["file"] == validate({})["file"] == "(deployment)"                    # data, not words
    chosen = designer.get("/designer?lang=zh")                                               # the header link
    assert chosen.status_code == 200
    assert messages(problems(designer, {"notes.txt": "x"}, EN))[0] == "部署中没有 .bpmn 文件"
    assert '<html lang="zh-CN">' in app.test_client().get("/login").get_data(as_text=True)  # pages: Chinese


def test_a_people_error_on_the_admin_page_in_chinese(login, seeded):
    admin = login("admin")
    taken = admin.post("/admin/users", {"username": "patrol1", "password": "long enough", "roles": "officer"})
    assert taken.status_code == 422 and "用户 patrol1 已存在" in taken.get_data(as_text=True)
    short = admin.post("/admin/users", {"username": "someone", "password": "short", "roles": "officer"})
    page = short.get_data(as_text=True)
    assert short.status_code == 422 and "必填" in page and "至少 8 个字符" in page and "at least" not in page
    english = admin.post("/admin/users?lang=en", {"username": "patrol1", "password": "long enough",
                                                  "roles": "officer"}).get_data(as_text=True)
    assert "user patrol1 exists already" in english


def test_say_translates_params_recursively_and_leaves_plain_text(app):
    nested = Message("{what} does not compile: {error}", what=Message("condition of the flow to {target}", target="x"),
                     error="invalid syntax (line 1)")
    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        assert say(nested) == "通往 x 的顺序流的条件无法编译：invalid syntax (line 1)"
        assert say("plain library text") == "plain library text"
        assert say({"password": Message("at least {length} characters", length=8), "line": 3}) == \
            {"password": "至少 8 个字符", "line": 3}
        assert say(Message("a template nobody translated {x}", x=Message("required"))) == \
            "a template nobody translated 必填"
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        assert say(nested) == str(nested) == "condition of the flow to x does not compile: invalid syntax (line 1)"


def test_the_editor_names_a_problem_of_no_one_file_in_the_pages_language(designer, seeded):
    """The API's pseudo-files "(deployment)" and "(request)" stay codes; the editor's list shows them in words."""
    page = designer.get("/designer/closed_loop/edit?lang=zh").get_data(as_text=True)
    assert 'data-deployment="（整个部署）" data-request="（请求本身）"' in page


def test_a_manual_report_says_what_is_missing_in_chinese(login, seeded):
    page = login("dispatcher").post("/report", {"scenario": "nonsense", "channel": "hotline"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "请填写地点" in text and "请选择已有的场景" in text
    assert "where is it?" not in text


def test_an_officer_reads_why_a_task_is_not_theirs_in_chinese(login, seeded, registered_case):
    """runtime, assignment: the engine's refusal of a claim on the error page, in the page's language."""
    _, move = registered_case
    seeded.claim(move["id"], "property1")
    page = login("property2").post(f"/tasks/{move['id']}/claim")
    assert page.status_code == 403 and f"任务 {move['id']} 已被 property1 认领" in page.get_data(as_text=True)
    api = login("property2").api("POST", f"/api/v1/tasks/{move['id']}/claim")
    assert api.get_json()["error"] == {"code": "not_allowed", "details": None,
                                       "message": f"task {move['id']} is held by property1"}
