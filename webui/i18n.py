"""Simplified Chinese by default, English on request, through Flask-Babel.

Every sentence the pages and the API say is an English ``gettext`` msgid in the code or the templates; the Chinese
lives in ``webui/translations/zh_Hans/LC_MESSAGES/messages.po`` (see docs/i18n.md for the extract/update/compile
cycle). The locale is the user's choice (the header link, ``?lang=zh|en``, kept in the session), else the browser's
Accept-Language, else Simplified Chinese (English on the JSON API, for machine clients). What the engine says
(``engine.exceptions.Message``: deploy problems, people errors) is said in the locale by :func:`say`. Names of
codes (stages, statuses, events, scenarios...) are in ``vocabulary.py``; scenario and team names of the roster come
from seed/teams.json, which is data.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from flask import current_app, g, request, session
from flask_babel import Babel, get_translations
from flask_babel import gettext as _
from lxml import etree

from engine import packaged
from engine.exceptions import Message

from . import vocabulary
from .catalogues import compile_catalogues

#: The two languages of the UI: the short code in the session and in ``?lang=`` and the Babel locale it stands for.
LOCALES = {"zh": "zh_Hans", "en": "en"}
LANGUAGES = tuple(LOCALES)
DEFAULT_LANGUAGE = "zh"
#: The language of an API request that names none we speak (no session choice, no zh or en in Accept-Language):
#: a machine client (a sensor gateway, a department's system, curl) sends no Accept-Language and reads the codes and
#: the OpenAPI document in English; its messages stay the English it always got from the engine.
API_DEFAULT_LANGUAGE = "en"
LOCAL = timezone(timedelta(hours=8))
#: The English name of a diagram element: ``<spiffworkflow:property name="name_en" value="..."/>``.
_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
_NAME_EN = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='name_en']/@value"
#: The English names of a decision table: ``jingzhi:name_en`` / ``jingzhi:label_en`` attributes (DMN has no properties).
_DMN_I18N = "http://jingzhi.example/i18n"
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True)
_ENGLISH_BY_DEPLOYMENT: dict[int, dict[str, str]] = {}


def catalogue() -> dict:
    """Scenario and team names from the roster file (``JINGZHI_ROSTER_FILE``, default seed/teams.json), by code."""
    return _catalogue(current_app.config.get("ROSTER_FILE") or str(packaged("seed", "teams.json")))


@lru_cache(maxsize=4)
def _catalogue(path: str) -> dict:
    roster = Path(path)
    data = json.loads(roster.read_text(encoding="utf-8")) if roster.exists() else {}
    return {"scenarios": {s["code"]: s for s in data.get("scenarios", [])},
            "teams": {t["code"]: t for t in data.get("teams", [])},
            "channels": data.get("channels", ["sensor", "patrol", "hotline", "video", "resident"]),
            "severities": data.get("severities", ["low", "medium", "high", "critical"]),
            "lead_suffix": data.get("lead_suffix", ".lead"), "raw_teams": data.get("teams", [])}


def language() -> str:
    """``zh`` or ``en``: the user's choice, else the browser's preference, else Chinese on a page and English on the
    JSON API (``API_DEFAULT_LANGUAGE``)."""
    if "lang" in g:
        return g.lang
    chosen = session.get("lang")
    if chosen not in LANGUAGES:
        from .security import is_api

        best = request.accept_languages.best_match(["zh", "zh-CN", "zh-Hans", "zh-TW", "en", "en-US", "en-GB"])
        chosen = best[:2] if best else API_DEFAULT_LANGUAGE if is_api() else DEFAULT_LANGUAGE
    g.lang = chosen
    return chosen


def locale() -> str:
    return LOCALES[language()]


def say(text):
    """What the engine said (an ``engine.exceptions.Message``) in the current language: the catalogue's
    translation of its template, filled with its params said the same way (a param may be a Message itself); a
    plain str (library text, ids, a message not yet made a Message) is returned as it is. Dicts and lists are walked,
    so an error's details (problem lists, field -> message) are said whole; keys and other values stay as they are.
    A translation whose placeholders do not fit its params falls back to the English."""
    if isinstance(text, Message):
        params = {key: say(value) for key, value in text.params.items()}
        try:
            return get_translations().gettext(text.template).format(**params)
        except (KeyError, IndexError, ValueError):
            return str(text)
    if isinstance(text, dict):
        return {key: say(value) for key, value in text.items()}
    if isinstance(text, (list, tuple)):
        return [say(value) for value in text]
    return text


def name_of(kind: str, code: str | None) -> str:
    """The name of a scenario, team, stage, status, event, channel, severity, outcome or role in the current
    language; a team or scenario of the roster by its names in seed/teams.json."""
    if not code:
        return "-"
    if kind in ("scenario", "team"):
        table = catalogue()["scenarios"] if kind == "scenario" else {**catalogue()["teams"], **team_rows()}
        base = code.removesuffix(catalogue()["lead_suffix"])
        found = table.get(base)
        if found:
            name = found["name_zh" if language() == "zh" else "name_en"]
            return _("%(team)s · lead", team=name) if base != code else name
    return vocabulary.label(kind, code)


def team_rows() -> dict[str, dict]:
    """The team table by code, read once a request: names given on the teams page win over the roster file's."""
    if "team_rows" not in g:
        from .security import engine

        g.team_rows = {team["code"]: team for team in engine().people.teams(retired=True)}
    return g.team_rows


def diagram_label(name: str | None) -> str:
    """A name from a deployed diagram (task, event, process) in the current language: diagrams are labelled in
    Chinese and carry the English as the element's ``name_en`` extension property (docs/i18n.md)."""
    if not name:
        return "-"
    if language() == "zh":
        return name
    return english_names().get(name, name)


def english_names() -> dict[str, str]:
    """Chinese name -> English name of every element of every deployed diagram that has a ``name_en``; read once
    per deployment (a deployment never changes), the newest version's name winning."""
    if "english_names" in g:
        return g.english_names
    from .security import engine

    names: dict[str, str] = {}
    for process in engine().designs.processes():
        for version in reversed(process["versions"]):
            key = version["deployment_id"]
            if key not in _ENGLISH_BY_DEPLOYMENT:
                files = engine().designs.version(process["process_id"], version["version"])["files"]
                _ENGLISH_BY_DEPLOYMENT[key] = english_names_in(files)
            names.update(_ENGLISH_BY_DEPLOYMENT[key])
    g.english_names = names
    return names


def english_names_in(files: dict[str, str]) -> dict[str, str]:
    """Chinese name -> English name of the elements of a deployment's .bpmn and .dmn files."""
    found = {}
    for name, text in files.items():
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _SAFE_XML)
        except etree.XMLSyntaxError:
            continue
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            for attribute in ("name", "label"):                 # DMN: jingzhi:name_en, jingzhi:label_en
                english = element.get(f"{{{_DMN_I18N}}}{attribute}_en")
                if element.get(attribute) and english:
                    found[element.get(attribute)] = english
            label = element.get("name")
            if label:
                english = element.xpath(_NAME_EN, namespaces=_NS)
                if english:
                    found[label] = english[0]
    return found


def diagram_context() -> dict:
    """What webui/static/translate.js needs: the diagram editors' strings in the page's language, and the names of
    the teams the lanes are named after (a lane's name is its team's code)."""
    suffix = catalogue()["lead_suffix"]
    teams = {}
    for code in {**catalogue()["teams"], **team_rows()}:
        teams[code], teams[code + suffix] = name_of("team", code), name_of("team", code + suffix)
    return {"strings": vocabulary.editor_strings(), "teams": teams}


def panel_labels() -> dict:
    """The designer's properties panel (webui/static/designer_panel.js), in the current language."""
    return {key: str(text) for key, text in vocabulary.PANEL.items()}


def init_app(app) -> None:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALES[DEFAULT_LANGUAGE])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    Babel(app, locale_selector=locale)

    @app.before_request
    def pick_language():
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            session["lang"] = chosen
            g.lang = chosen

    @app.template_filter("local")
    def local_time(value, fmt="%Y-%m-%d %H:%M"):
        """A UTC moment shown in the district's time (UTC+8)."""
        if not value:
            return "-"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(LOCAL).strftime(fmt)

    @app.context_processor
    def helpers():
        return {"name_of": name_of, "diagram_label": diagram_label, "lang": language(), "catalogue": catalogue(),
                "label": vocabulary.label, "diagram_context": diagram_context, "language_link": language_link}


def language_link(target: str) -> str:
    """This page in language ``target``: the same path and query, with ``lang`` set (a bare ``?lang=`` would drop
    the query, and a page such as a version comparison needs it)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [target]
    return f"{request.path}?{urlencode(args, doseq=True)}"
