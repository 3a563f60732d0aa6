"""report.html in a real browser: headless Chromium loads it without errors and shows every plot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ZOO
from test_reports import RICH_CASE, RICH_PLOTS, cli_report

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_COPY = Path("/tmp/report-screenshot.png")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        not (ZOO / RICH_CASE).exists(), reason="shared/zoo is not beside the repository"
    ),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The rich zoo report opened in headless Chromium, with every console error and page error."""
    out = cli_report(tmp_path_factory, ZOO / RICH_CASE)
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "request",
            lambda request: (
                errors.append(f"fetched {request.url}")
                if not request.url.startswith("file://")
                else None
            ),
        )
        page.goto((out / "report.html").as_uri(), wait_until="load")
        yield out, page, errors
        browser.close()


def test_page_loads_without_errors_or_requests(rendered):
    _, page, errors = rendered
    assert page.title().startswith("nn-diagnose:")
    assert errors == []


def test_verdict_comes_first_and_is_visible(rendered):
    _, page, _ = rendered
    banner = page.locator("#verdict")
    assert banner.is_visible()
    assert banner.locator("h1").inner_text() == "Problems found"
    assert page.evaluate("document.body.firstElementChild.id") == "verdict"


def test_every_plot_is_drawn(rendered):
    _, page, _ = rendered
    shown = set(page.eval_on_selector_all("figure.plot", "figures => figures.map(f => f.id)"))
    assert shown == RICH_PLOTS
    for plot_id in RICH_PLOTS:
        svg = page.locator(f"figure#{plot_id} > svg")
        assert svg.count() == 1, plot_id
        box = svg.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, (plot_id, box)


def test_top_cause_shows_its_fix_code(rendered):
    out, page, _ = rendered
    top = json.loads((out / "report.json").read_text())["causes"][0]
    cause = page.locator(".cause").first
    assert cause.locator(".badge.confirmed").count() == int(top["confirmed"])
    assert cause.locator("code.fix-code").inner_text().strip() == top["fixes"][0]["code"].strip()


def test_screenshot(rendered, tmp_path):
    _, page, _ = rendered
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    shutil.copyfile(shot, SCREENSHOT_COPY)
