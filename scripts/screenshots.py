"""Regenerate the screenshots in docs/screenshots/ from the built example site (run after `storybook example`).

    .venv/bin/python scripts/screenshots.py

Index and story page at desktop (1280 px) and phone (390 px) widths in Debian's chromium, and the first two
pages of the story's PDF and its one-page summary through pdftoppm.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
OUT = ROOT / "docs" / "screenshots"
STORY = "breast-cancer-screening"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for width, label in ((1280, "desktop"), (390, "phone")):
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name in ("index", STORY):
                page.goto((SITE / f"{name}.html").as_uri())
                page.screenshot(path=str(OUT / f"{'story' if name == STORY else name}-{label}.png"))
            page.close()
        browser.close()
    subprocess.run(["pdftoppm", "-png", "-r", "45", "-f", "1", "-l", "2", str(SITE / f"{STORY}.pdf"),
                    str(OUT / "pdf-page")], check=True)
    subprocess.run(["pdftoppm", "-png", "-r", "45", "-singlefile", str(SITE / f"{STORY}.summary.pdf"),
                    str(OUT / "summary-pdf")], check=True)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
