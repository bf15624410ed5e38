"""storybook pin (review/pin.py) against a real sqlite MLflow store: each story that resolves gets its snapshot,
a story that does not is reported with its located error while the others are pinned, and pinning again with
nothing changed in MLflow changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from storybook.errors import ReferenceNotFound, SourceError, StorybookError
from storybook.resolve.snapshot import SnapshotChange, snapshot_path
from storybook.review.pin import pin
from tests.stores import log_scored_run, story, tracking_uri, write_project

EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}
METRICS = [{"key": "test_recall", "label": "Found", "kind": "recall"}]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three stories: one about churn@champion (registered, with its scored set), one about a model the registry
    lacks, and one whose story.yaml is broken."""
    root = write_project(tmp_path / "project", {
        "good": story("churn", "champion", METRICS, EVALUATION),
        "missing": story("nosuch", "champion", METRICS, EVALUATION)})
    (root / "stories" / "broken").mkdir()
    (root / "stories" / "broken" / "story.yaml").write_text("title: [unclosed\n")
    uri = tracking_uri(root)
    frame = pd.DataFrame({"label": [1, 0, 1, 0], "score": [0.9, 0.2, 0.3, 0.6]})
    run_id = log_scored_run(uri, frame, metrics={"test_recall": 0.5})
    client = MlflowClient(uri, uri)
    client.create_registered_model("churn")
    version = client.create_model_version("churn", f"runs:/{run_id}/evaluation", run_id=run_id)
    client.set_registered_model_alias("churn", "champion", version.version)
    return root


def test_each_story_is_pinned_or_reported_and_the_others_still_pinned(project: Path) -> None:
    told: list[tuple[str, bool, str]] = []

    def on_story(slug: str, change: SnapshotChange | None, error: StorybookError | None) -> None:
        told.append((slug, change is not None, type(error).__name__ if error else ""))

    report = pin(project, on_story=on_story)
    assert not report.ok
    assert sorted(told) == [("broken", False, "SourceError"), ("good", True, ""),
                            ("missing", False, "ReferenceNotFound")]
    assert isinstance(report.failed["missing"], ReferenceNotFound)
    broken = report.failed["broken"]
    assert isinstance(broken, SourceError) and broken.location is not None
    assert broken.location.path.name == "story.yaml"
    change = report.pinned["good"]
    assert change.created and change.path == snapshot_path(project / "stories" / "good")
    pinned = json.loads(change.path.read_text(encoding="utf-8"))
    assert "test_recall" in json.dumps(pinned) and not snapshot_path(project / "stories" / "missing").exists()


def test_pinning_again_with_nothing_changed_changes_nothing(project: Path) -> None:
    first = pin(project, only=["good"])
    assert first.ok and first.pinned["good"].created
    text = snapshot_path(project / "stories" / "good").read_text(encoding="utf-8")
    again = pin(project, only=["good"])
    assert again.ok and not again.pinned["good"].changed
    assert snapshot_path(project / "stories" / "good").read_text(encoding="utf-8") == text
