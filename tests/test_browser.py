"""The built site in a real headless Chromium (Debian's, driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

import functools
import http.server
import itertools
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                "(scripts/setup.sh installs it)")
STORY = "breast-cancer-screening"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def built_site(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "site"
    result = CliRunner().invoke(app, ["build", str(trained_project), "--no-pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def served(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass




@pytest.mark.browser
@pytest.mark.parametrize("how", ["http", "file"])
def test_reader_follows_index_to_story_and_sees_charts(served: str, built_site: Path, how: str) -> None:
    from playwright.sync_api import sync_playwright

    start = f"{served}/index.html" if how == "http" else (built_site / "index.html").as_uri()
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(start)
        assert page.locator("h1").first.inner_text() == "Model stories"
        page.get_by_role("link", name="Which tumour scans should a specialist see first?", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"{STORY}.html")
        images = page.locator("img")
        assert images.count() >= 4
        for index in range(images.count()):
            image = images.nth(index)
            assert len(image.get_attribute("alt") or "") > 40
            assert image.evaluate("img => img.complete && img.naturalWidth > 0"), image.get_attribute("src")
        # The figure in prose links to its provenance row.
        page.locator('a[href="#prov-metric-test-recall"]').first.click()
        assert page.url.endswith("#prov-metric-test-recall")
        assert page.locator("#prov-metric-test-recall").is_visible()
        headings = [int(tag[1]) for tag in page.eval_on_selector_all("h1,h2,h3,h4", "els => els.map(e => e.tagName)")]
        assert headings[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(headings))
        browser.close()
    allowed = (served, "file://")
    assert requests and all(url.startswith(allowed) for url in requests), [
        url for url in requests if not url.startswith(allowed)]


AXE = Path(__file__).resolve().parents[1] / ".cache" / "axe-core-4.14.1" / "axe.min.js"


@pytest.mark.browser
@pytest.mark.skipif(not AXE.is_file(), reason="axe-core is fetched by scripts/setup.sh (scripts/fetch_axe.py)")
@pytest.mark.parametrize("page_name", ["index.html", f"{STORY}.html", f"{STORY}.summary.html"])
@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_no_serious_or_critical_violations(served: str, page_name: str, width: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # The pages forbid scripts by CSP; the checker is injected by the test, so the test lifts it.
        page = browser.new_page(bypass_csp=True, viewport={"width": width, "height": 900})
        page.goto(f"{served}/{page_name}")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                           first: v.nodes[0] && v.nodes[0].html}));
        }""")
        browser.close()
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.mark.browser
def test_keyboard_reaches_the_content_first(served: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{served}/{STORY}.html")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
        page.keyboard.press("Enter")
        assert page.url.endswith("#main")
        browser.close()


@pytest.mark.browser
def test_the_history_table_stays_inside_the_page_at_1280_px(served: str) -> None:
    """No part of the story page runs past a 1280 px window; the model-history table, however many figures it
    has (columns added here as a story with many metrics would have), scrolls inside its own region."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{served}/{STORY}.html")
        assert page.locator("table.timeline").count() == 1
        overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert page.evaluate(overflow) <= 0
        page.evaluate("""() => {
            for (const row of document.querySelectorAll('table.timeline tr')) {
                const cell = row.children[row.children.length - 1];
                for (let i = 0; i < 10; i++) {
                    const extra = document.createElement(row.parentElement.tagName === 'THEAD' ? 'th' : 'td');
                    extra.textContent = 'A figure with a long label ' + i;
                    extra.style.whiteSpace = 'nowrap';
                    row.insertBefore(extra, cell);
                }
            }
        }""")
        assert page.evaluate(overflow) <= 0  # the page itself never scrolls sideways
        region = page.evaluate("""() => {
            const region = document.querySelector('.table-scroll');
            const main = document.querySelector('main').getBoundingClientRect();
            const box = region.getBoundingClientRect();
            region.scrollLeft = region.scrollWidth;
            const last = document.querySelector('table.timeline thead th:last-child').getBoundingClientRect();
            return {style: getComputedStyle(region).overflowX, scrolls: region.scrollWidth > region.clientWidth,
                    inside: box.left >= main.left - 1 && box.right <= main.right + 1 && box.right <= 1280,
                    lastShown: last.right <= box.right + 1 && last.left >= box.left - 1,
                    focusable: region.tabIndex === 0, label: region.getAttribute('aria-label')};
        }""")
        browser.close()
    assert region == {"style": "auto", "scrolls": True, "inside": True, "lastShown": True, "focusable": True,
                      "label": "Versions, oldest first"}
