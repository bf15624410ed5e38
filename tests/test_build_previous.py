"""What a built site leaves for the next build (build_previous.py): the manifest write_manifest writes is what
PreviousSite reads back, and a story's files are carried over only when its key and every file's size and time
are as that build left them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storybook.build_previous import MANIFEST, PreviousSite, write_manifest
from storybook.build_stories import StoryRun
from storybook.publish.site import MARKER
from storybook.render.cache import CacheStats
from storybook.render.pages import StoryEntry

WORDS = ("Screening", "Clinic managers", "screening@champion")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site a build left: the story's page and chart, its marker and its manifest."""
    site = tmp_path / "site"
    (site / "charts").mkdir(parents=True)
    (site / "s.html").write_text("<p>page</p>")
    (site / "charts" / "s-a.svg").write_text("<svg/>")
    (site / MARKER).write_text("")
    built = StoryRun("s", tmp_path / "stories" / "s", key="k1", words=WORDS, kept=["s.html", "charts/s-a.svg"])
    entry = StoryEntry("s", *WORDS, "built", "")
    write_manifest(site, [built], False, [entry], {}, {}, "2026-03-01 09:30 UTC")
    return site


def _take(site: Path, key: str | None = "k1", *, reuse: bool = True) -> tuple[bool, StoryRun, CacheStats]:
    stats = CacheStats()
    story = StoryRun("s", site.parent / "stories" / "s", key=key)
    return PreviousSite(site, reuse=reuse, stats=stats).take(story), story, stats


def test_a_story_built_from_the_same_key_is_carried_over_with_its_index_words(site: Path) -> None:
    taken, story, stats = _take(site)
    assert taken and story.kept == ["charts/s-a.svg", "s.html"] and story.words == WORDS
    assert (stats.hits, stats.site) == (1, 1)


def test_another_key_or_no_reuse_carries_nothing(site: Path) -> None:
    assert not _take(site, "k2")[0]
    assert not _take(site, None)[0]
    taken, story, stats = _take(site, reuse=False)
    assert not taken and story.kept is None and stats.hits == 0


def test_a_file_changed_since_the_build_is_not_carried_over(site: Path) -> None:
    (site / "charts" / "s-a.svg").write_text("<svg>edited</svg>")
    assert not _take(site)[0]


def test_a_file_touched_to_another_time_is_not_carried_over(site: Path) -> None:
    status = os.stat(site / "s.html")
    os.utime(site / "s.html", ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    assert not _take(site)[0]


def test_a_file_replaced_by_a_link_is_not_carried_over(site: Path) -> None:
    (site / "s.html").unlink()
    (site / "s.html").symlink_to(site / "charts" / "s-a.svg")
    assert not _take(site)[0]


@pytest.mark.parametrize("damage", ["no marker", "not json", "another format"])
def test_a_site_whose_manifest_says_nothing_carries_nothing(site: Path, damage: str) -> None:
    if damage == "no marker":
        (site / MARKER).unlink()
    elif damage == "not json":
        (site / MANIFEST).write_text("{")
    else:
        (site / MANIFEST).write_text('{"format": 99}')
    assert not _take(site)[0]
