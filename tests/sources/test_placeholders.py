"""The placeholder mark of ``storybook new``: a story holding it neither loads nor passes check, located per line."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import SourceError
from storybook.review.check import check_project
from storybook.sources.loader import load_story
from storybook.sources.placeholders import PLACEHOLDER, placeholder_lines
from tests import stores


def _project(tmp_path: Path) -> Path:
    story = stores.story("m", "champion", [{"key": "test_recall", "label": "Found", "kind": "recall"}],
                         {"unit": "patients", "positive_means": "are ill", "negative_means": "are well",
                          "threshold": 0.5})
    return stores.write_project(tmp_path, {"screening": story}) / "stories" / "screening"


def test_placeholder_lines_are_the_marked_lines_counted_from_one() -> None:
    assert placeholder_lines(f"a\n{PLACEHOLDER} b\nc\n  # {PLACEHOLDER}\n") == [2, 4]
    assert placeholder_lines("[storybook: to do] is not the mark\n") == []


def test_a_marked_markdown_line_stops_the_story_on_that_line(tmp_path: Path) -> None:
    directory = _project(tmp_path)
    (directory / "caveats-and-recommendations.md").write_text(f"Read the ranges.\n\n{PLACEHOLDER} the rest\n")
    with pytest.raises(SourceError) as caught:
        load_story(tmp_path, directory)
    assert caught.value.location is not None
    assert (caught.value.location.path.name, caught.value.location.line) == ("caveats-and-recommendations.md", 3)
    assert "still holds a placeholder from storybook new" in caught.value.message


def test_a_mark_in_a_yaml_comment_stops_the_story_and_check_lists_every_mark(tmp_path: Path) -> None:
    directory = _project(tmp_path)
    text = (directory / "story.yaml").read_text().replace("threshold: 0.5", f"threshold: 0.5  # {PLACEHOLDER} x")
    (directory / "story.yaml").write_text(text + f"# {PLACEHOLDER} and this\n")
    marked = placeholder_lines((directory / "story.yaml").read_text())
    assert len(marked) == 2
    with pytest.raises(SourceError) as caught:
        load_story(tmp_path, directory)
    assert caught.value.location is not None and caught.value.location.line == marked[0]
    (directory / "ethical-considerations.md").write_text(f"{PLACEHOLDER}\n")
    report = check_project(tmp_path)
    found = sorted((f.file.rsplit("/", 1)[-1], f.line) for f in report.errors)
    assert found == sorted([("story.yaml", marked[0]), ("story.yaml", marked[1]), ("ethical-considerations.md", 1)])
    assert {f.code for f in report.errors} == {"placeholder"}
