"""The one door to the data (storybook.resolve.source.open_source): the snapshot when a story has one, MLflow
otherwise, never MLflow offline; one cache folder for everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import SourceError
from storybook.files import CACHE_DIR
from storybook.render.cache import CHARTS_DIR, PAGES_DIR, PDFS_DIR
from storybook.resolve.snapshot import SnapshotSource, snapshot_path
from storybook.resolve.source import Source, cache_dir, open_source
from storybook.review.pin import pin
from storybook.sources.loader import StorySource, load_project
from tests.conftest import copy_example_project


def _only_story(root: Path) -> StorySource:
    stories = [s for s in load_project(root).stories if isinstance(s, StorySource)]
    assert len(stories) == 1
    return stories[0]


def test_offline_refuses_a_story_without_snapshot_and_opens_no_mlflow(tmp_path: Path) -> None:
    root = copy_example_project(tmp_path / "project")
    project = load_project(root)
    story = _only_story(root)
    source = open_source(project, offline=True)
    source.prefetch(project.stories)  # offline: no batched reads, so no MLflow
    with pytest.raises(SourceError) as caught:
        source.resolve(story)
    assert caught.value.message == "this story has no pinned snapshot"
    assert caught.value.location is not None and caught.value.location.path == snapshot_path(story.directory)
    assert f"storybook pin --story {story.slug}" in (caught.value.hint or "")
    assert source._mlflow is None  # the tracking server was never opened
    assert not (root / "mlflow.db").exists() and not (root / ".storybook").exists()


def test_one_door_reads_mlflow_then_the_pinned_snapshot(project_copy: Path) -> None:
    project = load_project(project_copy)
    story = _only_story(project_copy)
    live = open_source(project).resolve(story)  # no snapshot yet: read from MLflow
    assert open_source(project).mlflow.cache_dir == project_copy / ".storybook" / "cache" == cache_dir(project_copy)

    assert pin(project_copy).ok  # pin goes through the same door (its .mlflow)
    assert snapshot_path(story.directory).is_file()
    pinned_project = load_project(project_copy)
    source = open_source(pinned_project, offline=True)
    source.prefetch(pinned_project.stories)
    pinned = source.resolve(_only_story(project_copy))
    assert source._mlflow is None  # every story is pinned: MLflow is not opened, online or off
    online = open_source(pinned_project)
    online.prefetch(pinned_project.stories)
    assert online._mlflow is None
    # The three readers answer the same protocol (mypy checks these assignments), and agree on the figures.
    readers: list[Source] = [online, SnapshotSource(), online.mlflow]
    assert [r.resolve(_only_story(project_copy)).run.run_id for r in readers] == [live.run.run_id] * 3
    assert pinned.run.run_id == live.run.run_id
    assert {k: f.value for k, f in pinned.run.metrics.items()} == {k: f.value for k, f in live.run.metrics.items()}
    assert online.resolve(_only_story(project_copy)).run.metrics.keys() == live.run.metrics.keys()


def test_the_cache_folder_is_named_once() -> None:
    assert CACHE_DIR == ".storybook/cache"
    for folder in (PAGES_DIR, CHARTS_DIR, PDFS_DIR):
        assert folder.startswith(CACHE_DIR + "/")
