"""``wording:`` and ``glossary:`` in storybook.yaml and story.yaml: typed once, errors on their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.analyse.model_card import wording_rules
from storybook.errors import ConfigError
from storybook.sources.loader import BrokenStory, StorySource, load_project

from .test_loader import STORY_YAML, write_story


def _project(root: Path, extra: str = "", story_extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "storybook.yaml").write_text("title: Stories\n" + extra)
    write_story(root, "screening", STORY_YAML + story_extra)
    return root


def test_defaults_and_project_values_reach_the_story(tmp_path: Path) -> None:
    story = load_project(_project(tmp_path / "a")).stories[0]
    assert isinstance(story, StorySource) and story.project is not None
    assert (wording_rules(story.project).tight_width, wording_rules(story.project).min_count) == (0.1, 10)
    root = _project(tmp_path / "b", "wording:\n  tight_width: '0.05'\n  min_count: 25\n"
                    "glossary:\n  PSI: null\n  scan reader:\n    plain: A specialist who reads scans.\n",
                    "glossary:\n  Recall:\n    plain: Cases found.\n    also: [hit rate]\n")
    story = load_project(root).stories[0]
    assert isinstance(story, StorySource) and story.project is not None
    assert wording_rules(story.project).tight_width == 0.05 and wording_rules(story.project).min_count == 25
    assert story.project.glossary["PSI"] is None
    assert story.config.glossary["Recall"] is not None and story.config.glossary["Recall"].also == ["hit rate"]


@pytest.mark.parametrize(("extra", "line", "words"), [
    ("wording:\n  tight_width: 2\n", 3, "tight_width"),
    ("wording:\n  min_count: 0\n", 3, "min_count"),
    ("wording:\n  tight: 0.1\n", 3, "Did you mean 'tight_width'"),
    ("glossary:\n  recall:\n    plian: x\n", 4, "Did you mean 'plain'"),
    ("glossary:\n  recall:\n    in_story: no plain words\n", 3, "plain"),
])
def test_project_errors_are_located(tmp_path: Path, extra: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_project(_project(tmp_path / "p", extra))
    error = caught.value
    # One problem is located on the error; several are listed, each with its own file:line.
    assert (error.location is not None and error.location.line == line) or f"storybook.yaml:{line}: " in error.message
    assert words in error.message


def test_story_glossary_errors_are_located(tmp_path: Path) -> None:
    story_line = STORY_YAML.count("\n") + 2  # the term's line, below "glossary:"
    story = load_project(_project(tmp_path / "s", "", "glossary:\n  '<b>x</b>':\n    plain: bold\n")).stories[0]
    assert isinstance(story, BrokenStory)
    assert story.error.location is not None and story.error.location.line in (story_line - 1, story_line)
    assert "glossary" in story.error.message
