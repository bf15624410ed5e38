"""The one door to the data (storybook.resolve.source.open_source): the snapshot when a story has one, MLflow
otherwise, never MLflow offline; one cache folder for everything."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

import storybook
from storybook.errors import SourceError
from storybook.files import CACHE_DIR
from storybook.render.cache import CHARTS_DIR, PAGES_DIR, PDFS_DIR
from storybook.resolve.snapshot import SnapshotSource, snapshot_path
from storybook.resolve.source import (
    Source,
    cache_dir,
    is_pinned,
    open_source,
    pinned_hash,
    read_pinned,
    read_snapshot_file,
    resolve_pinned,
)
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


def test_pinned_figures_are_read_through_the_door(project_copy: Path) -> None:
    story = _only_story(project_copy)
    assert not is_pinned(story.directory) and pinned_hash(story.directory) is None
    for read in (resolve_pinned, read_pinned):
        with pytest.raises(SourceError, match="this story has no pinned snapshot") as caught:
            read(story)
        assert caught.value.location is not None and caught.value.location.path == snapshot_path(story.directory)

    assert pin(project_copy).ok
    story = _only_story(project_copy)
    path = snapshot_path(story.directory)
    assert is_pinned(story.directory)
    assert pinned_hash(story.directory) == hashlib.sha256(path.read_bytes()).hexdigest()
    checked, as_written, from_file = resolve_pinned(story), read_pinned(story), read_snapshot_file(path)
    assert checked.run.run_id == as_written.run.run_id == from_file.run.run_id
    assert checked.run.metrics.keys() == from_file.run.metrics.keys()

    # story.yaml now names another alias: the checked read refuses on the model's line, the plain read still
    # gives the pinned figures (what diff compares and check looks names up in).
    text = story.story_file.read_text(encoding="utf-8")
    assert "alias: champion" in text
    story.story_file.write_text(text.replace("alias: champion", "alias: candidate"), encoding="utf-8")
    moved = _only_story(project_copy)
    with pytest.raises(SourceError, match="the snapshot pins") as refused:
        resolve_pinned(moved)
    assert refused.value.location is not None and refused.value.location.path == moved.story_file
    assert read_pinned(moved).run.run_id == checked.run.run_id


_BY_HAND = {"SnapshotSource", "has_snapshot", "load_snapshot", "decode_resolved", "MlflowSource"}


def test_no_command_picks_mlflow_or_the_snapshot_by_hand() -> None:
    """Outside storybook/resolve/, the snapshot and MLflow readers are reached only through resolve/source.py
    (a type named for annotations only, under TYPE_CHECKING, is allowed)."""
    package = Path(storybook.__file__).parent
    offenders = []
    for module in sorted(package.rglob("*.py")):
        if module.is_relative_to(package / "resolve"):
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                       for statement in block.body for node in ast.walk(statement)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in typing_only:
                names = {alias.name for alias in node.names} & _BY_HAND
                offenders += [f"{module.relative_to(package)}:{node.lineno} {name}" for name in sorted(names)]
    assert offenders == []
    # And the test sees what it looks for: resolve/source.py itself imports them.
    source = ast.parse((package / "resolve" / "source.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(source) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {"SnapshotSource", "load_snapshot", "MlflowSource"} <= imported
