"""The designer's decision tables: listed with their versions on the designer's index page, one version with its
rules and the process versions deployed with it, its file, and the dmn-js editor page with the file set it posts;
the modeler page carries bpmnlint's list and scripts."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import read_files
from tests.webui.conftest import ROOT, fire_lane_alert

FIRE_LANE_TEAM = '<outputEntry id="routing_fire_lane_compound_out_team"><text>"property_company"</text></outputEntry>'


@pytest.fixture
def designer(login):
    return login("designer")


def routing_changed(seeded):
    files = read_files(ROOT / "bpmn")
    files["routing.dmn"] = files["routing.dmn"].replace(
        FIRE_LANE_TEAM.encode(), FIRE_LANE_TEAM.replace("property_company", "grid_patrol").encode())
    return seeded.deploy(files, deployed_by="designer")


def rows(html: str, table: str) -> list[tuple[str, str, str]]:
    """(decision or process, version, running) of each row of one table of a page."""
    body = html[html.index(f'id="{table}"'):]
    body = body[:body.index("</table>")]
    return re.findall(r'data-(?:decision|process)="([^"]+)" data-version="(\d+)" data-running="(\d+)"', body)


def test_the_designer_page_lists_decisions_with_their_versions(seeded, designer):
    seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    routing_changed(seeded)
    html = designer.get("/designer").get_data(as_text=True)
    assert "决策表" in html and 'id="decisions"' in html
    assert rows(html, "decisions") == [("auto_registration", "1", "1"), ("routing", "2", "0"), ("routing", "1", "1")]
    assert 'href="/designer/decisions/routing/2"' in html and 'href="/designer/decisions/routing/1"' in html
    assert "routing.dmn" in html and 'href="/designer/closed_loop/1">closed_loop v1</a> (1)' in html
    assert "Decision tables" in designer.get("/designer?lang=en").get_data(as_text=True)


def test_a_decision_version_shows_its_rules_users_and_file(seeded, designer):
    seeded.start("closed_loop", fire_lane_alert(), business_key="FIR-0042/fire_lane")
    routing_changed(seeded)

    old = designer.get("/designer/decisions/routing/1")
    assert old.status_code == 200
    html = old.get_data(as_text=True)
    assert 'id="edit"' not in html                                        # only the newest is edited
    assert ("closed_loop", "1", "1") in rows(html, "used-by")
    assert 'data-rule="routing_fire_lane_compound"' in html and "&#34;property_company&#34;" in html
    assert "首个" in html                                          # the hit policy FIRST, by its name

    new = designer.get("/designer/decisions/routing/2").get_data(as_text=True)
    assert 'id="edit"' in new and 'href="/designer/decisions/routing/edit"' in new
    assert ("closed_loop", "2", "0") in rows(new, "used-by")
    assert "&#34;grid_patrol&#34;" in new

    download = designer.get("/designer/decisions/routing/1/file")
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert "routing.dmn" in download.headers["Content-Disposition"]
    assert FIRE_LANE_TEAM in download.get_data(as_text=True)

    assert designer.get("/designer/decisions/routing/3").status_code == 404
    assert designer.get("/designer/decisions/nothing/1").status_code == 404


def test_the_editor_page_holds_the_newest_file_set_and_posts_to_the_designer_endpoints(seeded, designer):
    result = routing_changed(seeded)
    page = designer.get("/designer/decisions/routing/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-file="routing.dmn"' in html and 'data-decision="routing"' in html
    assert 'data-validate="/api/v1/designer/validate"' in html and 'data-deploy="/api/v1/designer/deploy"' in html
    assert "vendor/dmn-modeler.production.min.js" in html and "decisions.js" in html
    assert "vendor/dmn/dmn-js-decision-table.css" in html
    files = json.loads(re.search(r'<script type="application/json" id="file-set">(.*?)</script>', html, re.S)
                       .group(1))
    assert files == seeded.designs.decision("routing")["files"]
    assert f"#{result.deployment_id}" in html and '"grid_patrol"' in files["routing.dmn"]
    assert designer.get("/designer/decisions/nothing/edit").status_code == 404


def test_the_modeler_page_lints_in_the_browser(designer, app):
    html = designer.get("/designer/closed_loop/edit").get_data(as_text=True)
    assert '<ul id="lint">' in html and "建模检查" in html
    assert html.index("vendor/jingzhi-lint.js") < html.index("designer_lint.js") and \
        html.index("designer.js") < html.index("designer_lint.js")
    bundle = designer.get("/static/vendor/jingzhi-lint.js")                 # built by `make assets`
    assert bundle.status_code == 200 and b"JingzhiLint" in bundle.get_data()
    bundle.close()
