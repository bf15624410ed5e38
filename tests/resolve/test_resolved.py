"""What a story resolved to (resolve/resolved.py): each version's scored set is the one checked when the story was
resolved, checked again only when it was not (a pinned story), and the compared version's is checked with its own
version named in any error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from storybook.errors import SourceError
from storybook.resolve.resolved import (
    ComparedVersion,
    ModelVersionRecord,
    ResolvedRun,
    ResolvedStory,
    compared_task_set,
    story_task_set,
)
from storybook.resolve.scored import ScoredSet, task_set
from storybook.sources.loader import StorySource
from tests.resolve.task_stories import task_story

BINARY = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
          "threshold": 0.5}
FRAME = pd.DataFrame({"label": [1, 0, 1], "score": [0.8, 0.3, 0.4]})
RUN = ResolvedRun("r" * 32, "bold-run", "screening", 0, None, {}, {}, {})


@pytest.fixture
def loaded(tmp_path: Path) -> StorySource:
    story: StorySource = task_story(tmp_path, BINARY)
    return story


def test_the_set_checked_at_resolve_is_handed_on_as_it_is(loaded: StorySource) -> None:
    checked = task_set(loaded, FRAME, {}, RUN.run_id)
    resolved = ResolvedStory(source="s", run=RUN, evaluation=FRAME, scored=checked)
    assert story_task_set(loaded, resolved) is checked


def test_a_pinned_story_s_set_is_checked_now(loaded: StorySource) -> None:
    found = story_task_set(loaded, ResolvedStory(source="s", run=RUN, evaluation=FRAME))
    assert isinstance(found, ScoredSet)
    assert found.labels.tolist() == [True, False, True] and found.scores.tolist() == [0.8, 0.3, 0.4]
    assert found.threshold == 0.5


def test_a_set_checked_for_another_table_is_not_reused(loaded: StorySource) -> None:
    stale = task_set(loaded, FRAME.head(2), {}, RUN.run_id)
    found = story_task_set(loaded, ResolvedStory(source="s", run=RUN, evaluation=FRAME, scored=stale))
    assert found is not stale and found is not None and found.n == 3


def test_no_evaluation_set_is_none(loaded: StorySource) -> None:
    assert story_task_set(loaded, ResolvedStory(source="s", run=RUN)) is None
    assert compared_task_set(loaded, ResolvedStory(source="s", run=RUN)) is None


def test_the_compared_version_s_set_is_checked_with_its_version_named(loaded: StorySource) -> None:
    model = ModelVersionRecord("screening", 3, "c" * 32, 0, ("challenger",))
    run = dataclasses.replace(RUN, run_id="c" * 32)
    good = ComparedVersion(model=model, run=run, evaluation=FRAME)
    found = compared_task_set(loaded, ResolvedStory(source="s", run=RUN, compared=good))
    assert found is not None and found.n == 3
    broken = dataclasses.replace(good, evaluation=FRAME.rename(columns={"score": "chance"}))
    with pytest.raises(SourceError, match="version 3, the compared version"):
        compared_task_set(loaded, ResolvedStory(source="s", run=RUN, compared=broken))
