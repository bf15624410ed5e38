"""Pinned snapshots: the JSON round-trip, tamper detection, builds from snapshots with no MLflow."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import ReferenceNotFound, SourceError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.snapshot import SnapshotSource, write_snapshot
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import StorySource, load_project
from storybook.typed_json import stored_fields
from tests.conftest import SCREENING as STORY
from tests.fresh_process import build_in_fresh_process

runner = CliRunner()


def _story(root: Path) -> StorySource:
    story = load_project(root, [STORY]).stories[0]
    assert isinstance(story, StorySource)
    return story


def _assert_same(left: Any, right: Any, where: str = "resolved") -> None:
    """Field by field, generically, DataFrames with pandas.testing; derived fields (worked out from the others,
    never stored, e.g. a checked scored set) are left out."""
    if isinstance(left, pd.DataFrame) or isinstance(right, pd.DataFrame):
        assert isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame), where
        pd.testing.assert_frame_equal(left, right, check_exact=True)
    elif dataclasses.is_dataclass(left) and not isinstance(left, type):
        assert type(left) is type(right), where
        for f in stored_fields(left):
            _assert_same(getattr(left, f.name), getattr(right, f.name), f"{where}.{f.name}")
    elif isinstance(left, dict):
        assert isinstance(right, dict) and sorted(left) == sorted(right), where
        for key in left:
            _assert_same(left[key], right[key], f"{where}.{key}")
    elif isinstance(left, tuple | list):
        assert type(left) is type(right) and len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            _assert_same(a, b, f"{where}.{index}")
    else:
        assert type(left) is type(right) and left == right, f"{where}: {left!r} != {right!r}"


def test_pin_then_snapshot_source_gives_an_equal_resolved_story(pinned_copy: Path) -> None:
    story = _story(pinned_copy)
    source = MlflowSource(tracking_uri("sqlite:///mlflow/mlflow.db", pinned_copy), pinned_copy / ".cache")
    fresh = source.resolve(story)
    write_snapshot(story, fresh, source=source.shown_uri)
    again = SnapshotSource().resolve(story)
    _assert_same(fresh, again)
    assert fresh.evaluation is not None and len(fresh.evaluation) > 100
    assert fresh.series and fresh.run.metrics and fresh.versions  # the walk really covered these
    # Every dataclass field of ResolvedStory is in the file: fields added later are pinned automatically.
    document = json.loads((story.directory / "snapshot.json").read_text())
    assert set(document["resolved"]) == {f.name for f in dataclasses.fields(ResolvedStory)} - {"scored"}
    assert document["resolved"]["evaluation"]["csv"] == "snapshot/evaluation.csv"


def test_snapshot_file_is_stable_sorted_and_round_trips_floats(pinned_copy: Path) -> None:
    path = pinned_copy / "stories" / STORY / "snapshot.json"
    text = path.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    document = json.loads(text)
    assert json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n" == text
    assert document["format"] == 1
    assert document["source"] == "sqlite:///mlflow/mlflow.db"  # as storybook.yaml writes it, not absolute
    assert str(pinned_copy) not in text
    recall = document["resolved"]["run"]["metrics"]["test_recall"]["value"]
    assert repr(recall) in text
    result = runner.invoke(app, ["pin", str(pinned_copy)])
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output
    assert path.read_text() == text


def test_pin_prints_what_changed(pinned_copy: Path) -> None:
    path = pinned_copy / "stories" / STORY / "snapshot.json"
    document = json.loads(path.read_text())
    real = document["resolved"]["run"]["metrics"]["test_recall"]["value"]
    document["resolved"]["run"]["metrics"]["test_recall"]["value"] = 0.5
    path.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")
    result = runner.invoke(app, ["pin", str(pinned_copy), "--story", STORY])
    assert result.exit_code == 0, result.output
    assert f"run.metrics.test_recall.value: 0.5 -> {real!r}" in result.output
    assert json.loads(path.read_text())["resolved"]["run"]["metrics"]["test_recall"]["value"] == real


def test_tampered_table_is_a_located_error_not_a_traceback(pinned_copy: Path) -> None:
    csv = pinned_copy / "stories" / STORY / "snapshot" / "evaluation.csv"
    lines = csv.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("0.", "0.9", 1)
    csv.write_text("".join(lines))
    with pytest.raises(SourceError) as caught:
        SnapshotSource().resolve(_story(pinned_copy))
    message = str(caught.value)
    assert "snapshot.json:" in message and "does not match its sha256" in message
    assert "storybook pin" in message
    result = runner.invoke(app, ["build", str(pinned_copy), "--offline", "--no-pdf"])
    assert result.exit_code == 1
    assert "does not match its sha256" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("mangle", "expected"), [
    (lambda text: text[: len(text) // 2], "not valid JSON"),
    (lambda text: text.replace('"format": 1', '"format": 99'), "format 99"),
    (lambda text: text.replace('"run_name": "', '"run_name": 5, "x": "', 1), "run.run_name: expected text"),
    (lambda text: text.replace('"csv": "snapshot/evaluation.csv"', '"csv": "../../../etc/passwd"'),
     "must be snapshot/<name>.csv"),
])
def test_malformed_snapshot_is_a_located_error(pinned_copy: Path, mangle: Any, expected: str) -> None:
    path = pinned_copy / "stories" / STORY / "snapshot.json"
    path.write_text(mangle(path.read_text()))
    with pytest.raises(SourceError) as caught:
        SnapshotSource().resolve(_story(pinned_copy))
    assert expected in str(caught.value)
    assert caught.value.location is not None and caught.value.location.path == path
    assert caught.value.hint and "storybook pin" in caught.value.hint


def test_snapshot_that_lacks_what_the_story_asks_for_says_to_pin(pinned_copy: Path) -> None:
    story_file = pinned_copy / "stories" / STORY / "story.yaml"
    # An alias no comparison in the story uses (the story compares with the challenger).
    story_file.write_text(story_file.read_text().replace("alias: champion", "alias: production"))
    with pytest.raises(SourceError, match="the snapshot pins model breast-cancer-screening@champion"):
        SnapshotSource().resolve(_story(pinned_copy))
    story_file.write_text(story_file.read_text().replace("alias: production", "alias: champion")
                          .replace("key: test_brier", "key: test_accuracy"))
    document = json.loads((story_file.parent / "snapshot.json").read_text())
    del document["resolved"]["run"]["metrics"]["test_accuracy"]
    (story_file.parent / "snapshot.json").write_text(json.dumps(document))
    with pytest.raises(ReferenceNotFound, match="metric 'test_accuracy' is not in the pinned snapshot"):
        SnapshotSource().resolve(_story(pinned_copy))


def test_offline_build_without_snapshot_fails_with_located_error(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--offline", "--no-pdf"])
    assert result.exit_code == 1
    assert "snapshot.json: this story has no pinned snapshot" in result.output
    assert "storybook pin --story breast-cancer-screening" in result.output


def test_offline_build_from_snapshot_never_imports_mlflow(pinned_copy: Path) -> None:
    # The store is gone: only the snapshot can answer.
    (pinned_copy / "mlflow" / "mlflow.db").unlink()
    assert "mlflow" not in build_in_fresh_process(pinned_copy, "--offline", "--no-pdf")
    page = (pinned_copy / "site" / f"{STORY}.html").read_text()
    run_id = json.loads((pinned_copy / "stories" / STORY / "snapshot.json").read_text())["resolved"]["run"]["run_id"]
    assert run_id in page  # provenance still names the run
    assert "prov-metric-test-recall" in page
