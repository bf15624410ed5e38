"""Issue 24, class 5: a file's size is checked before it is read, and nothing is waited on or read past its cap.

The oversized files here are sparse (a few GiB on paper, no blocks on disk): reading one whole would take
seconds and gigabytes, so a test that passes quickly shows the size was checked first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from storybook.errors import SourceError
from storybook.resolve.snapshot import load_snapshot
from storybook.sources.loader import load_project, load_story
from storybook.sources.yaml_loader import load_yaml
from tests.sources.test_loader import write_story

HUGE = 4 * 2**30


def _sparse(path: Path, size: int = HUGE) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_an_oversized_section_is_refused_on_its_file_before_it_is_read(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\n")
    directory = write_story(root, "screening")
    _sparse(directory / "metrics.md")
    start = time.perf_counter()
    with pytest.raises(SourceError) as raised:
        load_story(root, directory)
    assert time.perf_counter() - start < 2
    assert raised.value.location is not None and raised.value.location.path.name == "metrics.md"
    assert f"file is {HUGE:,} bytes; a section may be at most 200,000" in str(raised.value)


def test_an_oversized_story_yaml_fails_its_story_and_not_the_others(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\n")
    write_story(root, "good")
    bad = write_story(root, "bad")
    _sparse(bad / "story.yaml")
    start = time.perf_counter()
    stories = {story.slug: story for story in load_project(root).stories}
    assert time.perf_counter() - start < 2
    assert not hasattr(stories["good"], "error")
    error = stories["bad"].error  # type: ignore[union-attr]
    assert f"file is {HUGE:,} bytes" in str(error) and "story.yaml" in str(error)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_pipe_in_place_of_a_yaml_file_is_a_located_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "story.yaml")
    with pytest.raises(SourceError, match="not a regular file"):
        load_yaml(tmp_path / "story.yaml")


def test_an_oversized_snapshot_is_refused_before_it_is_read(tmp_path: Path) -> None:
    story = tmp_path / "story"
    story.mkdir()
    _sparse(story / "snapshot.json")
    start = time.perf_counter()
    with pytest.raises(SourceError, match=f"the snapshot is {HUGE:,} bytes"):
        load_snapshot(story)
    assert time.perf_counter() - start < 2
