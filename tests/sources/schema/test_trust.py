"""story.yaml's trust: guardrails (storybook.sources.schema.trust): a guardrail needs a bound, and one whose lower
bound is above its upper one (every reading would break it) is refused on its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.sources.loader import BrokenStory, StorySource, load_project
from tests.sources.test_loader import STORY_YAML, write_story

GUARDRAIL = STORY_YAML.count("\n") + 4  # the line of the guardrail, after "trust:", its owner and "guardrails:"


def _load(tmp_path: Path, bounds: str) -> StorySource | BrokenStory:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\n")
    write_story(root, "screening", STORY_YAML + "trust:\n  owner: Analytics\n  guardrails:\n"
                "    - series: production_mean_score\n      name: the mean score\n" + bounds)
    (story,) = load_project(root).stories
    return story


@pytest.mark.parametrize(("bounds", "lower", "upper"), [
    ("      lower: 0.2\n      upper: 0.6\n", 0.2, 0.6),
    ("      lower: 0.4\n      upper: 0.4\n", 0.4, 0.4),  # a series held at exactly one value
    ("      upper: 0.6\n", None, 0.6),
])
def test_a_guardrail_with_bounds_that_can_hold_is_read(tmp_path: Path, bounds: str, lower: float | None,
                                                       upper: float) -> None:
    story = _load(tmp_path, bounds)
    assert isinstance(story, StorySource) and story.config.trust is not None
    (guardrail,) = story.config.trust.guardrails
    assert (guardrail.series, guardrail.lower, guardrail.upper) == ("production_mean_score", lower, upper)


@pytest.mark.parametrize(("bounds", "message"), [
    ("      lower: 0.7\n      upper: 0.6\n",
     "trust.guardrails.0: lower (0.7) is above upper (0.6): no reading could stay within both, so every reading "
     "would break the guardrail"),
    ("", "trust.guardrails.0: a guardrail needs lower, upper or both"),
])
def test_a_guardrail_that_cannot_be_judged_is_refused_on_its_line(tmp_path: Path, bounds: str, message: str) -> None:
    story = _load(tmp_path, bounds)
    assert isinstance(story, BrokenStory)
    assert message in story.error.message
    assert story.error.location is not None and story.error.location.line == GUARDRAIL
