"""Every page as every role, in Chinese and in English, in a real browser: fails on any untranslated text.

On a Chinese page a word in Latin letters is untranslated (a code like ``false_alarm`` counts as its words), unless
it is on the short allow-list below (units, file formats, product names) or part of an id (it has a digit: v2,
FIR-0042, PT30M). On an English page any Chinese character is untranslated. Text the page marks as data or ids
(``translate="no"``, ``<code>``: addresses, people, business keys) and the language switch are not checked; the
diagram's labels are (the case and version viewers show the English names on an English page). One browser, one
login per role; screenshots of every page in both languages go to tests/artifacts/i18n-*.png.
"""
from __future__ import annotations

import re

import pytest

from engine import people
from engine.alarms.devices import import_devices
from tests.sensors.conftest import DEVICES
from tests.webui.test_browser import ARTIFACTS, browser, open_as, server  # noqa: F401  (fixtures)

#: Latin words a Chinese page may show: units, formats, standards and the names of things that have no other.
ALLOWED = {"CSV", "PDF", "JPEG", "PNG", "GIF", "WebP", "MB", "MPa", "BPMN", "DMN", "Python", "JSON", "FEEL", "ID", "SLA",
           "KPI", "API", "bpmn", "dmn", "json", "xml", "js", "Jingzhi", "Leaflet"}
#: Upper bound for a diagram or a decision table to be drawn on a busy machine; never a timing assertion.
DRAW_MS = 90_000
#: What a designer wrote in a decision table (labels, rule cells and descriptions): the file's content, not the UI.
EDITOR_CONTENT = ", ".join(f"#dmn-editor {part}" for part in (
    ".tjs-table tbody", ".input-label", ".output-label", ".input-expression", ".output-name", ".decision-table-name",
    ".input-variable", ".output-variable", ".annotation", ".type-ref"))
#: Tooltips are checked in bpmn-js's palette, context pad and popup menu only: dmn-js writes a few of its own
#: ("Move Input", the hit policies' explanations) without its translate service, so no module can reach them.
#: Tags and marks whose text is not the UI's to translate.
SKIP = ("script, style, code, pre, [translate=no], #lang-switch, #modeler .djs-container text, .djs-minimap,"
        " .bjs-powered-by, .dmn-powered-by, #new-process-id," + EDITOR_CONTENT)

FIND_TEXT = """(skip) => {
  const skipped = (node) => { const el = node.nodeType === 1 ? node : node.parentElement; return !el || !!el.closest(skip); };
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!text || skipped(node)) continue;
    const el = node.parentElement, style = el && getComputedStyle(el);
    if (style && (style.display === "none" || style.visibility === "hidden")) continue;
    texts.push(text);
  }
  const editors = ".djs-palette, .djs-context-pad, .djs-popup";
  for (const el of document.querySelectorAll("[placeholder], [title]")) {
    if (!el.getAttribute("placeholder") && !el.closest(editors)) continue;
    if (skipped(el)) continue;
    for (const name of ["placeholder", "title"]) if (el.getAttribute(name)) texts.push(el.getAttribute(name));
  }
  return texts;
}"""


def untranslated(texts: list[str], language: str) -> list[str]:
    """The words of ``texts`` that are not in ``language``."""
    found = []
    for text in texts:
        if language == "en":
            found += re.findall(r"\S*[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+\S*", text)
            continue
        for chunk in re.findall(r"[A-Za-z0-9_.:/-]+", text):
            if re.search(r"\d", chunk) or chunk.startswith(("http:", "https:", "/")):
                continue                                                    # an id, a version or a path
            found += [word for word in re.findall(r"[A-Za-z]{2,}", chunk) if word not in ALLOWED]
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_as_every_role_speaks_one_language(seeded, registered_case, server, browser):  # noqa: F811
    instance_id, move = registered_case
    import_devices(seeded.store, DEVICES)                                 # the command centre's registry
    ARTIFACTS.mkdir(exist_ok=True)
    patrol = next(u["id"] for u in people.users(seeded.store) if u["username"] == "patrol1")
    designer_pages = ["/designer", "/designer/closed_loop/1", "/designer/closed_loop/edit",
                      "/designer/decisions/routing/1", "/designer/decisions/routing/edit",
                      "/designer/whatif?process=closed_loop"]
    pages = {
        "property1": ["/inbox", "/cases", f"/cases/{instance_id}", f"/tasks/{move['id']}", "/me/contact",
                      "/me/notifications"],
        "property_lead": ["/inbox", "/dashboard"],
        "dispatcher": ["/inbox", "/cases", "/cases?q=FIR&channel=sensor&opened_from=2020-01-01", "/cases?opened_from=x",
                       f"/cases/{instance_id}", "/report", "/dashboard", "/command", "/devices", "/devices/GEO-1",
                       "/same", "/patrol"],
        "designer": ["/inbox", *designer_pages],
        "admin": ["/inbox", "/report", "/admin/users", f"/admin/users/{patrol}", "/admin/teams", "/admin/failed",
                  "/dead-letters", "/admin/audit", "/admin/audit?kind=task.claimed&text=x", "/admin/notifications",
                  "/admin/notifications/templates/escalation", *designer_pages],
    }
    problems: dict[str, list[str]] = {}
    anonymous = browser.new_page()
    for language in ("zh", "en"):
        anonymous.goto(f"{server}/login?lang={language}")
        check(anonymous, f"anonymous {language} /login", language, problems)
    anonymous.close()
    for username, paths in pages.items():
        page = open_as(browser, server, username)
        for language in ("zh", "en"):
            page.goto(f"{server}/inbox?lang={language}")                     # the header link's choice, kept
            for path in paths:
                page.goto(server + path)
                settle(page, path)
                check(page, f"{username} {language} {path}", language, problems)
        page.context.close()
    assert not problems, "untranslated text:\n" + "\n".join(f"{where}: {words}" for where, words in problems.items())


def settle(page, path: str) -> None:
    """Wait for what a page draws in the browser: the diagram viewer, the modeler, the decision table."""
    if path.startswith("/cases/") or path.startswith("/designer/closed_loop/1"):
        page.wait_for_selector("#diagram[data-rendered]", timeout=DRAW_MS)
        assert page.get_attribute("#diagram", "data-rendered") == "yes", page.inner_text("#diagram")
    elif path == "/designer/closed_loop/edit":
        page.wait_for_selector("#modeler .djs-palette", timeout=DRAW_MS)
    elif path == "/command":
        page.wait_for_selector("#map .leaflet-container, #map.leaflet-container", timeout=DRAW_MS)
    elif path.endswith("/edit"):
        page.wait_for_selector("#dmn-editor .tjs-container, #dmn-editor .dmn-decision-table-container",
                               timeout=DRAW_MS)
    else:
        page.wait_for_load_state("load")


def check(page, where: str, language: str, problems: dict) -> None:
    assert page.evaluate("document.documentElement.lang").startswith("en" if language == "en" else "zh"), where
    words = untranslated(page.evaluate(FIND_TEXT, SKIP), language)
    if words:
        problems[where] = sorted(set(words))
    name = re.sub(r"[?&=]", "_", where.replace(" /", "-").replace("/", "_").replace(" ", "-"))
    page.screenshot(path=str(ARTIFACTS / f"i18n-{name}.png"), full_page=True)
