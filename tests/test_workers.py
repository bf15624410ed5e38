"""Analysing and rendering one story (workers.py) in this process: a story's own error comes back as that
story's located result, never raised; the pool is tested through whole builds in test_incremental.py."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from storybook.errors import SourceError
from storybook.render.pages import page_environment
from storybook.resolve.resolved import ResolvedRun, ResolvedStory
from storybook.sources.loader import StorySource, load_story
from storybook.workers import RenderTask, default_jobs, render_one
from tests.stores import story, write_project

EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}
RUN = ResolvedRun("r" * 32, "bold-run", "screening", 0, None, {}, {}, {})


@pytest.fixture
def loaded(tmp_path: Path) -> StorySource:
    metrics = [{"key": "k", "label": "K", "kind": "other"}]
    root = write_project(tmp_path / "project", {"s": story("m", "champion", metrics, EVALUATION)})
    return load_story(root, root / "stories" / "s")


def _task(loaded: StorySource, resolved: ResolvedStory | None) -> RenderTask:
    return RenderTask(loaded, resolved, "2026-03-01 09:30 UTC", None, loaded.directory.parents[1] / "templates")


def test_a_story_with_no_snapshot_to_read_is_that_story_s_error(loaded: StorySource) -> None:
    env = page_environment(loaded.directory.parents[1] / "templates")
    result = render_one(_task(loaded, None), env)
    assert (result.slug, result.page) == ("s", None)
    assert isinstance(result.error, SourceError) and "no pinned snapshot" in result.error.message


def test_a_scored_set_without_its_score_column_is_that_story_s_located_error(loaded: StorySource) -> None:
    resolved = ResolvedStory(source="sqlite:///mlflow.db", run=RUN,
                             evaluation=pd.DataFrame({"label": [1, 0], "chance": [0.8, 0.3]}))
    result = render_one(_task(loaded, resolved), page_environment(loaded.directory.parents[1] / "templates"))
    assert result.page is None and isinstance(result.error, SourceError)
    assert "score_column 'score' is not a column" in result.error.message
    assert result.error.location is not None and result.error.location.path == loaded.story_file


def test_the_default_number_of_jobs_is_the_cores_this_process_may_use() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0)) >= 1


def test_warmed_up_workers_start_before_any_story_and_render_what_this_process_renders(loaded: StorySource) -> None:
    """warm_up starts the workers (and their chart engine) ahead of the first story without counting as work;
    a story they render afterwards comes back as it does in this process."""
    import time

    from storybook.workers import Workers

    here = render_one(_task(loaded, None), page_environment(loaded.directory.parents[1] / "templates"))
    with Workers(2, svg_cache=None, pdf=False) as workers:
        workers.warm_up()
        assert not workers.started  # nothing to report as rendered in workers yet
        pool = workers._pool
        assert pool is not None
        deadline = time.monotonic() + 60
        while len(pool._processes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pool._processes) == 2  # both workers run before any story was given to them
        there = workers.render(_task(loaded, None)).result(timeout=120)
        assert workers.started
    assert (there.slug, there.page) == (here.slug, here.page) == ("s", None)
    assert type(there.error) is type(here.error) and str(there.error) == str(here.error)
