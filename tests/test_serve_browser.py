"""``storybook serve`` in a real headless Chromium: an open page reloads by itself after a rebuild, and its script
runs under the served page's Content-Security-Policy (no violation)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from storybook.serve import preview
from tests.test_browser import ARGS, CHROMIUM, STORY

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                "(scripts/setup.sh installs it)")


@pytest.mark.browser
def test_an_open_page_shows_an_edit_without_the_reader_reloading_it(project_copy: Path) -> None:
    from playwright.sync_api import sync_playwright

    stop = threading.Event()
    ready: list[str] = []
    thread = threading.Thread(target=preview, args=(project_copy,), daemon=True,
                              kwargs={"port": 0, "stop": stop, "on_ready": ready.append})
    thread.start()
    messages: list[str] = []
    try:
        for _ in range(600):
            if ready:
                break
            stop.wait(0.1)
        assert ready, "the preview did not start"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.on("console", lambda message: messages.append(message.text))
            page.goto(f"{ready[0]}/{STORY}.html")
            page.wait_for_load_state("load")
            page.evaluate("window.storybookMarker = 'the page before the edit'")
            assert "A sentence added while the page was open." not in page.content()

            section = project_copy / "stories" / STORY / "caveats-and-recommendations.md"
            section.write_text(section.read_text() + "\nA sentence added while the page was open.\n")
            for _ in range(600):  # polled from here: the page's policy allows no script of the test's own
                if "A sentence added while the page was open." in _content(page):
                    break
                page.wait_for_timeout(100)
            page.wait_for_load_state("load")
            assert "A sentence added while the page was open." in page.content()
            assert page.evaluate("window.storybookMarker === undefined")  # a new page: it reloaded itself
            browser.close()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not [m for m in messages if "Content Security Policy" in m], messages


def _content(page: Any) -> str:
    """The page's HTML, or "" while it is reloading itself (Chromium refuses to read a page mid-navigation)."""
    try:
        return str(page.content())
    except Exception as error:  # playwright's Error; the reload is what the test waits for
        if "navigating" not in str(error):
            raise
        return ""
