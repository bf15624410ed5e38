"""Drivers load the model however MLflow 3 stored and registered it (issue 17, class 7), through a real
``mlflow server`` that serves the artifacts:

- ``log_model(name=..., registered_model_name=...)``: a logged model, the version's source ``models:/m-...``;
- ``log_model`` then ``register_model("runs:/<run>/model")``: MLflow itself points the version at the logged model;
- ``create_model_version(source="runs:/<run>/model")`` for a logged model: the run has no files at ``model``
  (the case that failed with "Failed to download artifacts from path 'model'");
- a model saved and logged as the run's files (``log_artifacts``), registered from ``runs:/<run>/model``;
- a story that names the run (``run_id``), with the model as run files or as a logged model;
- nothing there at all: the error lists each place tried and why.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

from storybook.errors import SourceError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.sources.loader import StorySource, load_project
from tests.mlflow_server import mlflow_server
from tests.stores import MODEL_REQUIREMENTS

STORY_YAML = """\
title: Scores
summary: Which cases go first.
audience: Managers
owner: Analytics
model:
{model}
intended_use:
  primary: Sort cases.
  users: [Nurses]
  out_of_scope: [Diagnosis]
metrics:
  - {{key: test_recall, label: Cases found, kind: recall}}
evaluation:
  artifact: evaluation/scored.csv
  threshold: 0.5
  unit: patients
  positive_means: are ill
  negative_means: are well
drivers:
  source: model
  features: [strong, weak]
  metric: roc_auc
  repeats: 3
  seed: 1
"""


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"strong": rng.normal(size=400), "weak": rng.normal(size=400)})
    truth = (frame["strong"] * 3 + frame["weak"] * 0.2 + rng.normal(size=400) > 0).astype(int).to_numpy()
    return frame, truth


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A server whose store holds one model registered each way; yields its URL, a folder and the run ids."""
    root = tmp_path_factory.mktemp("registration")
    frame, truth = _data()
    model = LogisticRegression().fit(frame, truth)
    scored = frame.assign(label=truth, score=model.predict_proba(frame)[:, 1])
    with mlflow_server(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", root / "server.log") as url:
        previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        mlflow.set_tracking_uri(url)
        mlflow.set_registry_uri(url)
        client = MlflowClient(url, url)
        runs: dict[str, str] = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for way in ("logged", "registered-from-runs", "version-from-runs", "run-files", "nothing"):
                    with mlflow.start_run(run_name=way) as run:
                        mlflow.log_metric("test_recall", 0.9)
                        mlflow.log_text(scored.to_csv(index=False), "evaluation/scored.csv")
                        if way == "logged":
                            mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                                     name="model", registered_model_name=way,
                                                     input_example=frame.head(2))
                        elif way in ("registered-from-runs", "version-from-runs"):
                            mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                                     name="model", input_example=frame.head(2))
                        elif way == "run-files":
                            with tempfile.TemporaryDirectory() as folder:
                                mlflow.sklearn.save_model(model, f"{folder}/m")
                                mlflow.log_artifacts(f"{folder}/m", "model")
                    runs[way] = run.info.run_id
                    source = f"runs:/{run.info.run_id}/model"
                    if way == "registered-from-runs" or way == "run-files":
                        mlflow.register_model(source, way)
                    elif way in ("version-from-runs", "nothing"):
                        client.create_registered_model(way)
                        client.create_model_version(way, source, run.info.run_id)
            yield url, root, runs
        finally:
            mlflow.set_tracking_uri(previous[0])
            mlflow.set_registry_uri(previous[1])


def _story(url: str, root: Path, slug: str, model: str) -> tuple[StorySource, MlflowSource]:
    project = root / f"project-{slug}"
    (project / "stories" / slug).mkdir(parents=True, exist_ok=True)
    (project / "storybook.yaml").write_text(f"title: t\ntracking_uri: {url}\n")
    (project / "stories" / slug / "story.yaml").write_text(STORY_YAML.format(model=model))
    (project / "stories" / slug / "ethical-considerations.md").write_text("People decide.\n")
    (project / "stories" / slug / "caveats-and-recommendations.md").write_text("Check it.\n")
    story = load_project(project).stories[0]
    assert isinstance(story, StorySource), story
    return story, MlflowSource(url, project / ".cache")


@pytest.mark.parametrize(("way", "by_run"), [
    ("logged", False), ("registered-from-runs", False), ("version-from-runs", False), ("run-files", False),
    ("run-files", True), ("version-from-runs", True),
])
def test_the_model_is_loaded_however_it_was_registered(served: tuple[str, Path, dict[str, str]], way: str,
                                                       by_run: bool) -> None:
    url, root, runs = served
    model = f"  run_id: {runs[way]}" if by_run else f"  name: {way}\n  version: 1"
    story, source = _story(url, root, f"{way}-{'run' if by_run else 'version'}", model)
    drivers = source.resolve(story).drivers
    assert drivers is not None and drivers.origin == "model" and drivers.rows == 400
    mean_drop = drivers.table.groupby("feature")["drop"].mean()
    # Shuffling the strong feature costs far more ranking quality than shuffling the weak one.
    assert mean_drop["strong"] > 0.2 and abs(mean_drop["weak"]) < 0.05, mean_drop


def test_when_no_place_has_the_model_the_error_lists_each_place_tried(
        served: tuple[str, Path, dict[str, str]]) -> None:
    url, root, runs = served
    story, source = _story(url, root, "nothing", "  name: nothing\n  version: 1")
    with pytest.raises(SourceError) as caught:
        source.resolve(story)
    error = caught.value
    run = runs["nothing"]
    lines = STORY_YAML.format(model="  name: nothing\n  version: 1").splitlines()
    assert error.location is not None and error.location.line == lines.index("  source: model") + 1
    assert error.message.startswith("storybook could not download the model models:/nothing/1; it tried ")
    assert f"the model run {run} logged as 'model' (run {run} has no logged model named 'model')" in error.message
    assert f"runs:/{run}/model (no files are stored there)" in error.message
    assert "server" not in (error.hint or "")  # the fix does not blame the server
    assert "drivers.model_path" in (error.hint or "")
