"""story.yaml's claims: (storybook.sources.schema.claims): each claim checks exactly one thing, with the bounds
that kind needs; a claim that could never hold (a lower bound above its upper one, a start after its end) is
refused on the line of the claim, before any data is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.sources.loader import BrokenStory, StorySource, load_project
from tests.sources.test_loader import STORY_YAML, write_story

FIRST = STORY_YAML.count("\n") + 2  # the line of the first claim, after "claims:"
GOOD = {
    "series": "series: production_mean_score\n    stays_below: 0.6\n    since: 2024-03-01\n    until: 2024-03-31",
    "metric": "metric: test_recall\n    at_least: 0.8\n    at_most: 0.8",  # exactly 0.8 can hold
    "slice": "slice: size_band\n    group: small\n    no_worse_than: large\n    rate: precision",
}


def _load(tmp_path: Path, claim: str) -> StorySource | BrokenStory:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\n")
    write_story(root, "screening", STORY_YAML + f"claims:\n  - id: the-claim\n    says: It holds.\n    {claim}\n")
    (story,) = load_project(root).stories
    return story


@pytest.mark.parametrize("kind", list(GOOD))
def test_a_claim_of_each_kind_is_read(tmp_path: Path, kind: str) -> None:
    story = _load(tmp_path, GOOD[kind])
    assert isinstance(story, StorySource)
    (claim,) = story.config.claims
    assert claim.kind == kind and claim.id == "the-claim" and claim.says == "It holds."


@pytest.mark.parametrize(("claim", "message"), [
    ("metric: test_recall\n    at_least: 0.9\n    at_most: 0.8",
     "claims.0: at_least (0.9) is above at_most (0.8): nothing can meet both, so the claim could never hold"),
    ("series: production_mean_score\n    stays_above: 0.7\n    stays_below: 0.6",
     "claims.0: stays_above (0.7) is above stays_below (0.6): nothing can meet both, so the claim could never hold"),
    ("series: production_mean_score\n    stays_below: 0.6\n    since: 2024-03-31\n    until: 2024-03-01",
     "claims.0: since (2024-03-31) is after until (2024-03-01)"),
    ("metric: test_recall\n    slice: size_band\n    at_least: 0.8",
     "claims.0: a claim checks exactly one of series, metric or slice"),
    ("says_nothing_else: 1", "claims.0.says_nothing_else"),
    ("metric: test_recall\n    stays_above: 0.8", "claims.0: stays_above belong to a series claim, not a metric claim"),
    ("metric: test_recall", "claims.0: a metric claim needs at_least, at_most or both"),
    ("series: production_mean_score", "claims.0: a series claim needs stays_above, stays_below or both"),
    ("slice: size_band\n    group: small",
     "claims.0: a slice claim needs group and no_worse_than (two values of the slice column)"),
])
def test_a_claim_that_cannot_be_checked_is_refused_on_its_line(tmp_path: Path, claim: str, message: str) -> None:
    story = _load(tmp_path, claim)
    assert isinstance(story, BrokenStory)
    assert message in story.error.message
    # The claim's own line; an unknown key's own line (the third of the claim).
    line = FIRST + 2 if "says_nothing_else" in claim else FIRST
    assert story.error.location is not None and story.error.location.line == line
