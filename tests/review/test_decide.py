"""storybook.review.decide: ``storybook sign --decision`` as people type it, read to the words the record keeps;
anything else refused with the three choices. (Signing a brief end to end: tests/review/test_decision_review.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import SourceError
from storybook.review.decide import current_brief, decision_argument
from storybook.sources.loader import StorySource, load_project
from tests.sources.test_loader import STORY_YAML, write_story


@pytest.mark.parametrize(("typed", "recorded"), [
    ("go", "go"), (" GO ", "go"), ("no-go", "no-go"), ("no_go", "no-go"), ("NoGo", "no-go"), ("no go", "no-go"),
    ("go-with-conditions", "go with conditions"), ("go_with_conditions", "go with conditions"),
])
def test_each_way_of_typing_a_decision_is_recorded_in_the_same_words(typed: str, recorded: str) -> None:
    assert decision_argument(typed) == recorded


@pytest.mark.parametrize("typed", ["yes", "", "go now", "with conditions", "no-go-with-conditions"])
def test_anything_else_is_refused_with_the_choices(typed: str) -> None:
    with pytest.raises(SourceError) as error:
        decision_argument(typed)
    assert error.value.message == f"--decision is go, no-go or go-with-conditions, not {typed!r}"
    assert error.value.hint == "pass --decision go, --decision no-go or --decision go-with-conditions"


def test_a_story_without_a_decision_has_no_brief_and_reads_no_data(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\ntracking_uri: http://127.0.0.1:9/nothing-here\n")
    write_story(root, "screening", STORY_YAML)
    project = load_project(root)
    (story,) = project.stories
    assert isinstance(story, StorySource)
    assert current_brief(project, story) is None  # no server is asked (none answers at that address)
