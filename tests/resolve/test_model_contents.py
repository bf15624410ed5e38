"""What MLflow holds for one model version or run, for storybook new (resolve/model_contents.py), read from a real
sqlite store: metrics, params, the keys logged at several steps, every table artifact with the roles a tag
recorded, unreadable tables named with why, and a model or alias the registry lacks refused with what it has."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from storybook.errors import ReferenceNotFound
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.model_contents import SCORED_SET_TAG, read_model_contents
from tests.stores import use_experiment

FRAME = pd.DataFrame({"label": [1, 0, 1], "score": [0.9, 0.2, 0.6], "site": ["a", "b", "a"]})


@pytest.fixture
def store(tmp_path: Path) -> tuple[MlflowSource, str]:
    """A run with two metrics (one logged at three steps), a param, a scored set with its roles, a second table
    in a folder, a file that is no table, and a .csv that is not one; registered as churn version 1 @champion."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    use_experiment(uri, "contents")
    roles = {"label": "label", "score": "score", "slices": ["site"], "probabilities": {"a": 1}, "n": 3}
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        mlflow.log_metric("test_recall", 0.8)
        for step, value in enumerate((0.5, 0.4, 0.3)):
            mlflow.log_metric("loss", value, step=step)
        mlflow.log_param("C", "0.5")
        mlflow.set_tag(SCORED_SET_TAG + "evaluation/scored.csv", json.dumps(roles))
        FRAME.to_csv(Path(folder) / "scored.csv", index=False)
        mlflow.log_artifact(str(Path(folder) / "scored.csv"), "evaluation")
        FRAME.head(1).to_csv(Path(folder) / "other.csv", index=False)
        mlflow.log_artifact(str(Path(folder) / "other.csv"), "data/deeper")
        (Path(folder) / "notes.txt").write_text("not a table")
        mlflow.log_artifact(str(Path(folder) / "notes.txt"))
        (Path(folder) / "broken.csv").write_bytes(b"\x00\xff\x00")
        mlflow.log_artifact(str(Path(folder) / "broken.csv"))
        run_id = run.info.run_id
    client = MlflowClient(uri, uri)
    client.create_registered_model("churn")
    version = client.create_model_version("churn", f"runs:/{run_id}/evaluation", run_id=run_id)
    client.set_registered_model_alias("churn", "champion", version.version)
    return MlflowSource(uri, tmp_path / "cache"), run_id


def test_a_version_s_run_is_read_whole(store: tuple[MlflowSource, str]) -> None:
    source, run_id = store
    found = read_model_contents(source, name="churn", alias="champion")
    assert (found.run_id, found.name, found.version, found.aliases) == (run_id, "churn", 1, {"champion": 1})
    assert found.metrics == {"test_recall": 0.8, "loss": 0.3} and found.params == {"C": "0.5"}
    assert found.histories == ("loss",)
    tables = {table.path: table for table in found.tables}
    assert sorted(tables) == ["data/deeper/other.csv", "evaluation/scored.csv"]
    pd.testing.assert_frame_equal(tables["evaluation/scored.csv"].frame, FRAME)
    # Only text roles are taken from the (untrusted) tag: the chances map of a number and the count are dropped.
    assert tables["evaluation/scored.csv"].roles == {"label": "label", "score": "score", "slices": ["site"]}
    assert tables["data/deeper/other.csv"].roles is None
    assert len(found.unread) == 1 and found.unread[0].startswith("broken.csv (")


def test_a_run_is_read_by_its_id_without_the_registry(store: tuple[MlflowSource, str]) -> None:
    source, run_id = store
    found = read_model_contents(source, run_id=run_id)
    assert (found.name, found.version, found.aliases) == (None, None, {})
    assert found.metrics["test_recall"] == 0.8


def test_an_alias_the_model_lacks_is_refused_with_what_it_has(store: tuple[MlflowSource, str]) -> None:
    source, _ = store
    with pytest.raises(ReferenceNotFound, match="model churn@challenger is not in the model registry") as caught:
        read_model_contents(source, name="churn", alias="challenger")
    assert caught.value.hint == "churn has aliases: champion and versions 1"
    with pytest.raises(ReferenceNotFound, match="model nosuch version 2 is not in the model registry"):
        read_model_contents(source, name="nosuch", version=2)


def test_a_run_that_does_not_exist_is_refused(store: tuple[MlflowSource, str]) -> None:
    source, _ = store
    with pytest.raises(ReferenceNotFound, match=f"run {'0' * 32} does not exist"):
        read_model_contents(source, run_id="0" * 32)


def test_a_figure_logged_twice_at_one_step_is_no_series(tmp_path: Path) -> None:
    """MLflow 3's mlflow.models.evaluate logs each figure twice at step 0 (for the run and its logged model): one
    reading, which storybook new must not draft as a series "over time"; a figure logged at two steps is one."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    use_experiment(uri, "twice")
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy_score", 0.88, step=0)
        mlflow.log_metric("accuracy_score", 0.88, step=0)
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metric("loss", 0.4, step=1)
    client = MlflowClient(uri, uri)
    assert len(client.get_metric_history(run.info.run_id, "accuracy_score")) == 2  # two entries, one step
    found = read_model_contents(MlflowSource(uri, tmp_path / "cache"), run_id=run.info.run_id)
    assert found.histories == ("loss",)
