"""The index line of each story says what is true of its page: up to date, kept from an earlier build by a
partial build (and when that build was), the last good version after a failure, or not built."""

from __future__ import annotations

import re
from pathlib import Path

from storybook.render.pages import StoryEntry, page_environment, render_index

NOW = "24 November 2026, 09:00 UTC"
MONDAY = "23 November 2026, 09:00 UTC"


def _lines(entries: list[StoryEntry], tmp_path: Path) -> dict[str, str]:
    html = render_index(page_environment(tmp_path / "no-templates"), "Stories", None, entries, NOW)
    rows = re.findall(r'<tr class="status-[a-z]+">(.*?)</tr>', html, re.DOTALL)
    return {re.sub(r"<[^>]+>", "", row.split("</th>")[0]).strip(): " ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in rows}


def test_each_status_is_told_with_the_build_it_comes_from(tmp_path: Path) -> None:
    lines = _lines([
        StoryEntry("a", "Built now", "x", "m", "built", pdf=True),
        StoryEntry("b", "Kept", "x", "m", "built", pdf=True, as_of=MONDAY),
        StoryEntry("c", "Stale now", "x", "m", "stale", "story.yaml:3: broken"),
        StoryEntry("d", "Stale kept", "x", "m", "stale", "story.yaml:3: broken", as_of=MONDAY),
        StoryEntry("e", "Failed kept", "x", "m", "failed", "story.yaml:3: broken", as_of=MONDAY),
        StoryEntry("f", "f", "-", "-", "unbuilt", "not built yet; build without --story to build every story"),
    ], tmp_path)
    assert "Up to date One page" in lines["Built now"] and "as of" not in lines["Built now"]
    assert f"Up to date as of {MONDAY} (not rebuilt this time)" in lines["Kept"]
    assert "Showing the last good version; this build failed: story.yaml:3: broken" in lines["Stale now"]
    assert f"Showing the last good version; the build of {MONDAY} failed: story.yaml:3: broken" in lines["Stale kept"]
    assert f"Not built (build of {MONDAY}): story.yaml:3: broken" in lines["Failed kept"]
    assert "Not built: not built yet; build without --story to build every story" in lines["f"]


def test_the_site_title_is_said_once(tmp_path: Path) -> None:
    entry = StoryEntry(slug="s", title="Screening", audience="Clinicians", model="m", status="built")
    html = render_index(page_environment(tmp_path / "no-templates"), "Model stories", None, [entry], NOW)
    body = html.split("<body", 1)[1]
    assert body.count("Model stories") == 1
    assert "<h1>Model stories</h1>" in body
