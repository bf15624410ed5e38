"""Drivers of regression and multiclass stories: permutation importance in the task's own figures (the rise of
the average miss or RMSE; the drop of accuracy or rise of log loss), checked against scikit-learn's
permutation_importance with the same scorer and seed, and told on the page in the story's units."""

from __future__ import annotations

import html
import re
import warnings
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import SourceError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.sources.loader import StorySource, load_story
from tests.stores import (
    MODEL_REQUIREMENTS,
    WINE_CLASSES,
    TaskRun,
    log_multiclass_run,
    log_regression_run,
    multiclass_evaluation,
    register,
    regression_evaluation,
    story,
    tracking_uri,
    use_experiment,
    write_project,
)

runner = CliRunner()
REPEATS = 4
SEED = 3


def _project(root: Path, model: str, metrics: list[dict[str, Any]], evaluation: dict[str, Any],
             drivers: dict[str, Any]) -> StorySource:
    write_project(root, {"s": story(model, "champion", metrics, evaluation,
                                    drivers={"repeats": REPEATS, "seed": SEED, **drivers})})
    return load_story(root, root / "stories" / "s")


def _drops(root: Path, loaded: StorySource) -> dict[str, list[float]]:
    resolved = MlflowSource(tracking_uri(root), root / ".cache").resolve(loaded)
    assert resolved.drivers is not None and resolved.drivers.origin == "model"
    table = resolved.drivers.table
    overall = table[table["slice"] == "(all)"].sort_values(["feature", "repeat"])
    return {str(f): list(group["drop"]) for f, group in overall.groupby("feature")}


def _page_text(root: Path) -> str:
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (root / "site" / "s.html").read_text()
    body = page[page.index('<section id="drivers"'):]
    body = body[:body.index("</section>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.parametrize(("metric", "scoring"), [("mae", "neg_mean_absolute_error"),
                                                 ("rmse", "neg_root_mean_squared_error")])
def test_regression_drivers_are_sklearns_rise_of_the_miss(tmp_path: Path, metric: str, scoring: str) -> None:
    run: TaskRun = log_regression_run(tracking_uri(tmp_path))
    loaded = _project(tmp_path, "progression", [{"key": "test_mae", "label": "Average miss", "kind": "mae"}],
                      regression_evaluation(), {"metric": metric})
    ours = _drops(tmp_path, loaded)
    theirs = permutation_importance(run.model, run.features, run.truth, scoring=scoring, n_repeats=REPEATS,
                                    random_state=SEED)
    assert set(ours) == set(run.features.columns)  # the model's signature: every feature, no actual/predicted
    for index, feature in enumerate(run.features.columns):
        assert ours[feature] == pytest.approx(list(theirs.importances[index]), abs=1e-9)
    # bmi and s5 are this model's two strongest measurements by scikit-learn's own ranking
    top = [str(run.features.columns[i]) for i in np.argsort(-theirs.importances_mean)[:2]]
    assert set(top) == {"bmi", "s5"}


def test_a_regression_story_tells_its_drivers_in_its_amount_unit(tmp_path: Path) -> None:
    run = log_regression_run(tracking_uri(tmp_path))
    _project(tmp_path, "progression", [{"key": "test_mae", "label": "Average miss", "kind": "mae"}],
             regression_evaluation(), {"names": {"bmi": "body mass index"}})  # metric: the task's default, mae
    theirs = permutation_importance(run.model, run.features, run.truth, scoring="neg_mean_absolute_error",
                                    n_repeats=REPEATS, random_state=SEED)
    columns = list(run.features.columns)
    text = _page_text(tmp_path)
    top = int(np.argmax(theirs.importances_mean))
    rise = float(theirs.importances_mean[top])
    shown = f"{rise:.1f}"  # one decimal, as its range is told (a figure and its range at one precision)
    label = "body mass index" if columns[top] == "bmi" else columns[top]
    assert f"The model leans most on {label}: shuffling it raises the average miss by {shown} points" in text
    assert "The more its average miss grows, the more it relies on that measurement." in text
    assert "points of average miss" not in text and "out of 100" not in text
    mae = float(np.mean(np.abs(run.truth - run.model.predict(run.features))))
    assert f"Before shuffling, the average miss on these patients is {mae:.1f} points." in text


@pytest.mark.parametrize(("metric", "scoring"), [("multiclass_accuracy", "accuracy"), ("log_loss", "neg_log_loss")])
def test_multiclass_drivers_are_sklearns_drop(tmp_path: Path, metric: str, scoring: str) -> None:
    run = log_multiclass_run(tracking_uri(tmp_path))
    loaded = _project(tmp_path, "cultivar", [{"key": "test_accuracy", "label": "Accuracy",
                                              "kind": "multiclass_accuracy"}], multiclass_evaluation(),
                      {"metric": metric, "by_slice": False})
    ours = _drops(tmp_path, loaded)
    theirs = permutation_importance(run.model, run.features, run.truth, scoring=scoring, n_repeats=REPEATS,
                                    random_state=SEED)
    assert set(ours) == set(run.features.columns)
    for index, feature in enumerate(run.features.columns):
        assert ours[feature] == pytest.approx(list(theirs.importances[index]), abs=1e-9)


def test_multiclass_drivers_from_the_called_class_alone(tmp_path: Path) -> None:
    run = log_multiclass_run(tracking_uri(tmp_path), chances=False)
    loaded = _project(tmp_path, "cultivar", [{"key": "test_accuracy", "label": "Accuracy",
                                              "kind": "multiclass_accuracy"}], multiclass_evaluation(chances=False),
                      {})
    ours = _drops(tmp_path, loaded)
    theirs = permutation_importance(run.model, run.features, run.truth, scoring="accuracy", n_repeats=REPEATS,
                                    random_state=SEED)
    for index, feature in enumerate(run.features.columns):
        assert ours[feature] == pytest.approx(list(theirs.importances[index]), abs=1e-12)
    assert set(run.frame["predicted"]) <= set(WINE_CLASSES)


def test_a_multiclass_story_tells_its_drivers_as_wrong_calls(tmp_path: Path) -> None:
    run = log_multiclass_run(tracking_uri(tmp_path))
    _project(tmp_path, "cultivar", [{"key": "test_accuracy", "label": "Accuracy", "kind": "multiclass_accuracy"}],
             multiclass_evaluation(), {"show": 3})
    theirs = permutation_importance(run.model, run.features, run.truth, scoring="accuracy", n_repeats=REPEATS,
                                    random_state=SEED)
    text = _page_text(tmp_path)
    assert "The more accuracy it loses, the more it relies on that measurement." in text
    accuracy = float(np.mean(run.model.predict(run.features) == run.truth))
    assert f"Before shuffling, the accuracy on these wines is {accuracy * 100:.1f} out of 100." in text
    for index, feature in enumerate(run.features.columns):
        mean = float(theirs.importances_mean[index])
        assert f'{mean * 100:.2f}' in re.sub(r"\s+", " ", text), feature


def test_a_drivers_metric_of_another_task_is_refused_on_its_line(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"s": story("progression", "champion", [{"key": "k", "label": "K", "kind": "mae"}],
                                               regression_evaluation(), drivers={"metric": "accuracy"})})
    with pytest.raises(SourceError, match="drivers of a regression story cannot be measured in 'accuracy'; use "
                                          "one of mae, rmse") as caught:
        load_story(root, root / "stories" / "s")
    lines = (root / "stories" / "s" / "story.yaml").read_text().splitlines()
    assert caught.value.location is not None
    assert "metric: accuracy" in lines[caught.value.location.line - 1]


def test_the_log_loss_without_chances_is_refused_on_its_line(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"s": story("cultivar", "champion", [{"key": "k", "label": "K", "kind": "other"}],
                                               multiclass_evaluation(chances=False), drivers={"metric": "log_loss"})})
    with pytest.raises(SourceError, match="the log loss needs each class's chance"):
        load_story(root, root / "stories" / "s")


def test_regression_drivers_within_each_slice_group_are_sklearns_on_the_groups_rows(tmp_path: Path) -> None:
    run = log_regression_run(tracking_uri(tmp_path))
    write_project(tmp_path, {"s": story("progression", "champion", [{"key": "test_mae", "label": "Average miss",
                                                                     "kind": "mae"}], regression_evaluation(),
                                        slices=[{"column": "age_band", "label": "Age"}],
                                        drivers={"repeats": REPEATS, "seed": SEED})})
    loaded = load_story(tmp_path, tmp_path / "stories" / "s")
    resolved = MlflowSource(tracking_uri(tmp_path), tmp_path / ".cache").resolve(loaded)
    assert resolved.drivers is not None
    table = resolved.drivers.table
    for group in ("older", "younger"):
        rows = (run.frame["age_band"] == group).to_numpy()
        theirs = permutation_importance(run.model, run.features[rows], run.truth[rows],
                                        scoring="neg_mean_absolute_error", n_repeats=REPEATS, random_state=SEED)
        ours = table[(table["slice"] == "age_band") & (table["group"] == group)]
        for index, feature in enumerate(run.features.columns):
            drops = ours[ours["feature"] == feature].sort_values("repeat")["drop"].tolist()
            assert drops == pytest.approx(list(theirs.importances[index]), abs=1e-9)


class _Chances(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """A model that is not scikit-learn to MLflow: a table of chances with a column per class (in the model's own
    order, not the story's), or the forecasts of a regression."""

    def __init__(self, model: Any, chances: bool) -> None:
        self.model = model
        self.chances = chances

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        if self.chances:
            return pd.DataFrame(self.model.predict_proba(model_input), columns=list(self.model.classes_))
        return self.model.predict(model_input)


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_drivers_of_a_pyfunc_model_are_read_in_the_storys_order(tmp_path: Path, task: str) -> None:
    uri = tracking_uri(tmp_path)
    if task == "regression":
        run = log_regression_run(uri, alias="sklearn")
        evaluation, metric, scoring, name = regression_evaluation(), "mae", "neg_mean_absolute_error", "progression"
    else:
        run = log_multiclass_run(uri, alias="sklearn")
        evaluation, metric, scoring, name = multiclass_evaluation(), "log_loss", "neg_log_loss", "cultivar"
    use_experiment(uri, "pyfunc")
    with mlflow.start_run() as logged, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow suggests type hints on predict
        mlflow.log_metric("k", 1.0)
        mlflow.log_text(run.frame.to_csv(index=False), "evaluation/scored.csv")
        mlflow.pyfunc.log_model(pip_requirements=MODEL_REQUIREMENTS,
                                name="model", python_model=_Chances(run.model, task == "multiclass"),
                                input_example=run.features.head(3))
    register(uri, logged.info.run_id, name, "champion")
    loaded = _project(tmp_path, name, [{"key": "k", "label": "K", "kind": "other"}], evaluation,
                      {"metric": metric, "by_slice": False})
    ours = _drops(tmp_path, loaded)
    theirs = permutation_importance(run.model, run.features, run.truth, scoring=scoring, n_repeats=REPEATS,
                                    random_state=SEED)
    for index, feature in enumerate(run.features.columns):
        assert ours[feature] == pytest.approx(list(theirs.importances[index]), abs=1e-9)


def _without_signature(uri: str, run: TaskRun, name: str, python_model: Any = None) -> None:
    """The run's model logged again with no input example (so no signature), registered as name@champion."""
    import mlflow.sklearn

    use_experiment(uri, "unsigned")
    with mlflow.start_run() as logged, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow suggests an input example; here there is none
        mlflow.log_metric("k", 1.0)
        mlflow.log_text(run.frame.to_csv(index=False), "evaluation/scored.csv")
        if python_model is None:
            mlflow.sklearn.log_model(run.model, pip_requirements=MODEL_REQUIREMENTS, name="model")
        else:
            mlflow.pyfunc.log_model(pip_requirements=MODEL_REQUIREMENTS, name="model", python_model=python_model)
    register(uri, logged.info.run_id, name, "champion")


def test_a_model_without_a_signature_is_read_on_the_columns_it_was_fitted_on(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    run = log_regression_run(uri, columns=["bmi", "s5", "bp"], alias="signed")
    _without_signature(uri, run, "progression")
    loaded = _project(tmp_path, "progression", [{"key": "k", "label": "K", "kind": "other"}],
                      regression_evaluation(), {"by_slice": False})
    ours = _drops(tmp_path, loaded)
    theirs = permutation_importance(run.model, run.features, run.truth, scoring="neg_mean_absolute_error",
                                    n_repeats=REPEATS, random_state=SEED)
    assert list(ours) == sorted(["bmi", "s5", "bp"])  # not patient_id, age_band or the other features in the set
    for index, feature in enumerate(run.features.columns):
        assert ours[feature] == pytest.approx(list(theirs.importances[index]), abs=1e-9)


def test_a_model_that_cannot_score_the_sets_columns_is_refused_on_the_drivers_line(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    run = log_regression_run(uri, alias="signed")
    _without_signature(uri, run, "progression", python_model=_Chances(run.model, chances=False))
    loaded = _project(tmp_path, "progression", [{"key": "k", "label": "K", "kind": "other"}],
                      regression_evaluation(), {"by_slice": False})
    refused = "could not score the evaluation set's columns patient_id, age, sex"
    with pytest.raises(SourceError, match=refused) as caught:
        MlflowSource(tracking_uri(tmp_path), tmp_path / ".cache").resolve(loaded)
    assert caught.value.location is not None
    lines = (tmp_path / "stories" / "s" / "story.yaml").read_text().splitlines()
    assert lines[(caught.value.location.line or 0) - 1].startswith("drivers:")
    assert "drivers.features" in str(caught.value.hint)
