"""The what-if from the designer in a real browser (Playwright driving Debian's Chromium): from a process version's
page a designer opens the what-if, tries that version with a fifth of the grid patrol on a tiny simulated period
(a quarter day of open doors and blocked fire lanes at half the traffic, one seed), starts it, watches the run page refresh itself
until the comparison is there, in Chinese and in English. Screenshots: tests/artifacts/whatif-form.png and
tests/artifacts/whatif.png."""
from __future__ import annotations

import pytest

from tests.webui.test_browser import ARTIFACTS, browser, open_as, server  # noqa: F401  (fixtures)
from tests.webui.test_i18n_browser import FIND_TEXT, SKIP, untranslated

#: Upper bound for the background run to finish on a busy machine; never a timing assertion.
RUN_MS = 240_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_designer_runs_a_whatif_from_a_version_and_reads_the_comparison(seeded, server, browser):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_as(browser, server, "designer")
    page.goto(f"{server}/designer/closed_loop/1")
    page.click("#whatif-link")
    page.wait_for_selector("#whatif-form")
    assert page.input_value("#b") == "version:1"                    # this version is B
    assert page.is_visible("#too-little") and page.is_checked("#source-simulated")   # the test database is empty
    page.fill("#staff_grid_patrol", "0.2")
    page.fill("#days", "0.25")
    page.fill("#scale", "0.5")
    page.check('input[name="scenarios"][value="door_open"]')
    page.check('input[name="scenarios"][value="fire_lane"]')
    page.fill("#seeds", "1")
    page.screenshot(path=str(ARTIFACTS / "whatif-form.png"), full_page=True)
    page.click("#start-whatif")
    page.wait_for_selector("#run-status")
    assert page.get_attribute("#run-status", "data-status") in ("queued", "running", "done")
    page.wait_for_selector("#whatif-indicators", timeout=RUN_MS)    # the page refreshes itself until it is done
    assert page.get_attribute("#run-status", "data-status") == "done"
    assert "网格巡查队 × 0.2" in page.inner_text("#setup-b")
    cases = page.locator('#whatif-indicators tr[data-figure="cases"] td').all_inner_texts()
    assert len(cases) == 3 and float(cases[0]) > 0                  # A, B, B - A
    assert page.locator("#whatif-teams tbody tr").count() > 0
    assert page.locator('#whatif-scenarios tr[data-scenario="door_open"]').count() == 1
    # fewer patrol officers verify later: the on-time closure rate drops, marked worse (lower is worse there)
    rate = page.locator('#whatif-indicators tr[data-figure="on_time_closure_rate"] td.diff')
    assert float(rate.inner_text().split()[0]) < 0 and "worse" in rate.get_attribute("class")
    assert untranslated(page.evaluate(FIND_TEXT, SKIP), "zh") == []
    page.screenshot(path=str(ARTIFACTS / "whatif.png"), full_page=True)
    page.goto(page.url + "?lang=en")
    page.wait_for_selector("#whatif-indicators")
    assert "On-time closure rate" in page.inner_text("#whatif-indicators")
    assert untranslated(page.evaluate(FIND_TEXT, SKIP), "en") == []
    page.screenshot(path=str(ARTIFACTS / "whatif-en.png"), full_page=True)
