"""The UI's two languages without a browser: the locale chosen, the catalogue complete, diagrams and forms in one
language with the other as an extension, every code named, form errors in the user's language."""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from lxml import etree

from sensors.district import TYPES
from webui import schema_form, vocabulary
from webui.catalogues import TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent.parent
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def chinese_catalogue():
    with (TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source)


def test_every_message_of_the_code_and_templates_has_its_chinese():
    catalogue = chinese_catalogue()
    method_map = [("webui/**.py", "python"), ("webui/templates/**.html", "jinja2")]
    found = {message for _, _, message, _, _ in extract_from_dir(ROOT, method_map, keywords={"_": None, "_l": None,
                                                                  "N_": None, "gettext": None})
             if isinstance(message, str)}
    missing = sorted(m for m in found if not (catalogue.get(m) and catalogue.get(m).string))
    assert len(found) > 300 and missing == []


def test_every_message_the_engine_says_has_its_chinese_with_the_same_placeholders():
    """engine/ says its deploy problems and people errors as ``Message("English template {param}", ...)``
    (engine.exceptions); webui.i18n.say translates the template, so each must be in the catalogue, its Chinese
    filling the same ``{placeholders}`` (a missing one would fall back to English, an extra one too)."""
    catalogue = chinese_catalogue()
    found = {message for _, _, message, _, _ in extract_from_dir(ROOT, [("engine/**.py", "python")],
                                                                 keywords={"Message": None})
             if isinstance(message, str)}
    missing = sorted(m for m in found if not (catalogue.get(m) and catalogue.get(m).string))
    assert len(found) > 100 and missing == []

    def placeholders(text: str) -> list[str]:
        return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)

    unlike = [m for m in found if placeholders(m) != placeholders(catalogue.get(m).string)]
    assert unlike == []


def test_every_code_the_engine_stores_is_named_in_both_languages(app):
    codes = {"scenario": {t.scenario for t in TYPES} | {"other"},
             "event": {"instance.started", "instance.completed", "instance.cancelled", "instance.failed",
                       "instance.migrated", "instance.resumed", "task.created", "task.claimed", "task.unclaimed",
                       "task.reassigned", "task.completed", "timer.fired", "message.received", "stage.changed"},
             "role": {"officer", "team_lead", "dispatcher", "designer", "admin"},
             "channel": {"sensor", "patrol", "hotline", "video", "resident"},
             "severity": {"low", "medium", "high", "critical"},
             "status": {"running", "completed", "cancelled", "error", "ready"},
             "stage": {"discover", "register", "dispatch", "handle", "verify", "closed", "rejected", "evaluate"}}
    handled = re.findall(r'(?:handling_result|outcome) = "([a-z_]+)"',
                         "".join(p.read_text("utf-8") for p in (ROOT / "bpmn").glob("*.bpmn")))
    codes["outcome"] = set(handled) | {"registered", "duplicate", "false_alarm", "out_of_scope"}
    assert len(codes["scenario"]) == 39
    for language in ("zh", "en"):
        with app.test_request_context(f"/?lang={language}"):
            app.preprocess_request()
            for kind, wanted in codes.items():
                for code in wanted:
                    name = vocabulary.label(kind, code)
                    assert name != code, (kind, code)
                    assert bool(CJK.search(name)) == (language == "zh"), (kind, code, name)


@pytest.mark.parametrize("header, expected", [(None, "zh-CN"), ("en-GB,en;q=0.9", "en"), ("zh-CN,zh;q=0.9", "zh-CN"),
                                              ("fr-FR", "zh-CN")])
def test_the_language_is_the_browsers_unless_the_user_chose(app, header, expected):
    client = app.test_client()
    headers = {"Accept-Language": header} if header else {}
    assert f'<html lang="{expected}">' in client.get("/login", headers=headers).get_data(as_text=True)
    chosen = client.get("/login?lang=en", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in chosen and "Log in" in chosen
    kept = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in kept                                            # the choice stays in the session


def test_the_language_link_keeps_the_page_and_its_query(login):
    page = login("dispatcher").get("/cases?q=FIR&page=2").get_data(as_text=True)
    assert 'href="/cases?q=FIR&amp;page=2&amp;lang=en" id="lang-switch"' in page


def test_diagram_names_are_chinese_with_the_english_as_a_property():
    checked = 0
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        for element in etree.parse(str(path)).iter(f"{{{BPMN}}}*"):
            name = element.get("name")
            if not name or not CJK.search(name):
                continue                                        # lanes are team codes, flows may be unnamed
            assert not LATIN_WORD.search(name), (path.name, name)
            english = element.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
                                    "[@name='name_en']/@value", namespaces={"bpmn": BPMN, "spiffworkflow": SPIFF})
            assert english and not CJK.search(english[0]), (path.name, element.get("id"))
            checked += 1
    assert checked > 200


def test_form_schemas_are_chinese_with_english_titles_and_choices_with_titles():
    def walk(node, where):
        if isinstance(node, dict):
            for key in ("title", "description"):
                if key in node:
                    assert CJK.search(node[key]) and not LATIN_WORD.search(node[key].replace("MPa", "")), where
                    assert node.get(key + "_en") and not CJK.search(node[key + "_en"]), where
            if "oneOf" in node:
                assert all({"const", "title", "title_en"} <= set(o) for o in node["oneOf"]), where
            for key, value in node.items():
                if key not in ("if",):                          # conditions name codes, not choices
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in sorted((ROOT / "bpmn").glob("*.schema.json")):
        walk(json.loads(path.read_text("utf-8")), path.name)


def test_a_form_shows_titles_not_codes_and_says_what_is_wrong_in_the_users_language(app):
    schema = json.loads((ROOT / "bpmn" / "register.schema.json").read_text("utf-8"))
    for language, decision, wanted in (("zh", "误报", "此项必填"), ("en", "False alarm", "This field is required")):
        with app.test_request_context(f"/?lang={language}"):
            app.preprocess_request()
            [field] = [f for f in schema_form.fields(schema) if f.name == "decision"]
            assert field.widget == "select" and ("false_alarm", decision) in field.choices
            assert schema_form.explain(schema, {}) == {"decision": wanted}
            assert "notes" in schema_form.explain(schema, {"decision": "registered", "notes": "x" * 3000})


def test_the_english_page_names_tasks_by_their_name_en(login, registered_case):
    _, move = registered_case
    client = login("property1")
    english = client.get(f"/tasks/{move['id']}?lang=en").get_data(as_text=True)
    assert "Get the vehicle moved" in english and "劝离挪车" not in english and "Plate number" in english
    chinese = client.get(f"/tasks/{move['id']}?lang=zh").get_data(as_text=True)
    assert "劝离挪车" in chinese and "Get the vehicle moved" not in chinese and "车牌号" in chinese
