"""storybook.log_scored_set and storybook.log_production_series, on a real sqlite MLflow store."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import storybook
from storybook import logging_api
from storybook.errors import LoggingError
from tests.stores import tracking_uri, use_experiment

START = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def _database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One real sqlite store for the module (MLflow takes seconds to create its tables); each test logs into its
    own runs."""
    return tracking_uri(tmp_path_factory.mktemp("logging-api"))


@pytest.fixture
def store(_database: str) -> Iterator[str]:
    """The module's store made the active one, with an experiment whose artifacts live beside it."""
    use_experiment(_database, "logging-api")
    yield _database


def _artifact(uri: str, run_id: str, path: str) -> pd.DataFrame:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, uri)
    local = client.download_artifacts(run_id, path)
    return pd.read_csv(local)


def _artifacts(uri: str, run_id: str) -> list[str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, uri)
    return [a.path for a in client.list_artifacts(run_id)]


def _binary() -> pd.DataFrame:
    return pd.DataFrame({"label": [1, 0, 1, 0, 0], "score": [0.9, 0.2, 0.6, 0.4, 0.05],
                         "site": ["North", "South", "North", "South", "North"], "age": [50, 61, 45, 70, 38]})


def _multiclass() -> pd.DataFrame:
    return pd.DataFrame({
        "label": ["support", "challenge", "neither", "neither", "support", "challenge"],
        "p_support": [0.7, 0.1, 0.2, 0.1, 0.5, 0.3],
        "p_challenge": [0.1, 0.8, 0.2, 0.3, 0.1, 0.4],
        "p_neither": [0.2, 0.1, 0.6, 0.6, 0.4, 0.3],
        "predicted": ["support", "challenge", "neither", "neither", "support", "challenge"],
        "school": ["Oak", "Elm", "Oak", "Elm", "Oak", "Elm"],
    })


def _regression() -> pd.DataFrame:
    return pd.DataFrame({"actual": [151.0, 75.0, 141.0, 206.0, 135.0], "prediction": [160.2, 90.1, 130.0, 190.5, 140.0],
                         "lower": [100.0, 30.0, 70.0, 130.0, 80.0], "upper": [220.0, 150.0, 190.0, 250.0, 200.0],
                         "sex": ["f", "m", "f", "m", "f"]})


def test_the_api_is_exported_from_the_package() -> None:
    assert storybook.log_scored_set is logging_api.log_scored_set
    assert storybook.log_production_series is logging_api.log_production_series
    assert {"LoggedScoredSet", "log_production_series", "log_scored_set", "LoggedWindow",
            "log_production_scores"} <= set(storybook.__all__)


def test_a_binary_set_is_logged_whole_with_its_roles_in_a_tag(store: str) -> None:
    import mlflow

    frame = _binary()
    with mlflow.start_run() as run:
        logged = storybook.log_scored_set(frame, label="label", score="score", slices=["site"])
    assert logged == storybook.LoggedScoredSet(run.info.run_id, "evaluation/scored.csv", 5)
    pd.testing.assert_frame_equal(_artifact(store, run.info.run_id, "evaluation/scored.csv"), frame)
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert json.loads(tags["storybook.scored_set.evaluation/scored.csv"]) == {
        "task": "binary", "label": "label", "score": "score", "slices": ["site"]}


def test_a_multiclass_set_with_chances_and_the_called_class(store: str) -> None:
    import mlflow

    frame = _multiclass()
    probabilities = {"support": "p_support", "challenge": "p_challenge", "neither": "p_neither"}
    with mlflow.start_run() as run:
        storybook.log_scored_set(frame, task="multiclass", label="label", probabilities=probabilities,
                                 prediction="predicted", slices=["school"], artifact_path="eval/students.csv")
    pd.testing.assert_frame_equal(_artifact(store, run.info.run_id, "eval/students.csv"), frame)
    described = json.loads(mlflow.get_run(run.info.run_id).data.tags["storybook.scored_set.eval/students.csv"])
    assert described["probabilities"] == probabilities and described["prediction"] == "predicted"


def test_a_multiclass_set_with_only_the_called_class(store: str) -> None:
    import mlflow

    frame = _multiclass()[["label", "predicted", "school"]]
    with mlflow.start_run() as run:
        logged = storybook.log_scored_set(frame, task="multiclass", label="label", prediction="predicted")
    assert logged.rows == 6
    assert "evaluation" in _artifacts(store, run.info.run_id)


def test_a_regression_set_with_its_interval_on_a_named_run(store: str) -> None:
    import mlflow

    with mlflow.start_run() as run:
        pass  # the run has ended: the set goes to it by id
    frame = _regression()
    storybook.log_scored_set(frame, task="regression", actual="actual", prediction="prediction", lower="lower",
                             upper="upper", slices=["sex"], run_id=run.info.run_id)
    pd.testing.assert_frame_equal(_artifact(store, run.info.run_id, "evaluation/scored.csv"), frame)


def _refused(frame: pd.DataFrame, **kwargs: object) -> LoggingError:
    """The error log_scored_set raises inside a run, after checking that the run holds no artifact."""
    import mlflow

    with mlflow.start_run() as run, pytest.raises(LoggingError) as caught:
        storybook.log_scored_set(frame, **kwargs)  # type: ignore[arg-type]
    client = mlflow.tracking.MlflowClient()
    assert client.list_artifacts(run.info.run_id) == []
    assert not any(k.startswith("storybook.") for k in mlflow.get_run(run.info.run_id).data.tags)
    return caught.value


@pytest.mark.usefixtures("store")
def test_errors_point_at_the_calling_line_and_name_the_column() -> None:
    import mlflow

    with mlflow.start_run(), pytest.raises(LoggingError) as caught:
        line = sys._getframe().f_lineno + 1
        storybook.log_scored_set(_binary(), label="label", score="chance")
    error = caught.value
    assert error.location is not None
    assert error.location.path.resolve() == Path(__file__).resolve() and error.location.line == line
    assert "score= names column 'chance', which the frame does not have" in str(error)
    assert "'label', 'score', 'site', 'age'" in str(error)  # the columns it has, to pick from
    assert isinstance(error, ValueError)


@pytest.mark.usefixtures("store")
@pytest.mark.parametrize(("frame", "kwargs", "says"), [
    (_binary().assign(label=[0, 1, 2, 1, 0]), {"label": "label", "score": "score"},
     "column 'label' holds 3 different labels ('0', '1', '2'), not two"),
    (_binary().assign(score=[0.9, 12.0, 0.5, 0.1, 0.3]), {"label": "label", "score": "score"},
     "column 'score' holds values from 0.1 to 12, not chances between 0 and 1"),
    (_binary().assign(score=[0.9, "high", 0.5, 0.1, 0.3]), {"label": "label", "score": "score"},
     "column 'score' holds 'high' in row 2, not a finite number"),
    (_binary().assign(label=[1.0, np.nan, 1.0, 0.0, 0.0]), {"label": "label", "score": "score"},
     "column 'label' is empty in 1 row (the first is row 2)"),
    (_binary(), {"label": "label", "score": "score", "prediction": "score"},
     "a binary set is flagged by the story's threshold"),
    (_binary(), {"label": "label", "score": "score", "slices": "site"},
     "slices must be a list of column names, not the text 'site'"),
    (_binary(), {"label": "label", "score": "score", "slices": ["label"]},
     "slice 'label' is also a column the model's figures are read from"),
    (_binary().assign(site=pd.Series(["North", None, "North", np.nan, "North"], dtype=object)),
     {"label": "label", "score": "score", "slices": ["site"]},
     "slice 'site' is empty in 2 rows (the first is row 2); a story would not know their group"),
    (_binary().iloc[:0], {"label": "label", "score": "score"}, "the scored set has no rows"),
    (_binary(), {"label": "label", "score": "score", "artifact_path": "../scored.csv"},
     "artifact_path must be a relative path ending in .csv"),
    (_binary(), {"task": "ranking", "label": "label"}, "task must be binary, multiclass or regression"),
    (_multiclass(), {"task": "multiclass", "label": "label"}, "needs probabilities= (each class's chance) or "
     "prediction="),
    (_multiclass().assign(p_neither=[0.2, 0.1, 0.6, 0.6, 0.3, 0.3]),
     {"task": "multiclass", "label": "label",
      "probabilities": {"support": "p_support", "challenge": "p_challenge", "neither": "p_neither"}},
     "the chances of row 5 add up to 0.9, not 1 (1 row off by more than 0.001)"),
    (_multiclass().assign(label=["support", "challenge", "neither", "held back", "support", "skip"]),
     {"task": "multiclass", "label": "label",
      "probabilities": {"support": "p_support", "challenge": "p_challenge", "neither": "p_neither"}},
     "column 'label' holds labels with no probability column: 'held back', 'skip'"),
    (_multiclass(), {"task": "multiclass", "label": "label",
                     "probabilities": {"support": "p_support", "challenge": "p_challenge"}},
     "probabilities= names 2 classes; a multiclass set has at least three"),
    (_multiclass().assign(predicted=["support", "other", "neither", "neither", "support", "challenge"]),
     {"task": "multiclass", "label": "label", "prediction": "predicted",
      "probabilities": {"support": "p_support", "challenge": "p_challenge", "neither": "p_neither"}},
     "column 'predicted' calls classes with no probability column: 'other'"),
    (_multiclass().assign(label=["a", "b", "a", "b", "a", "b"], predicted=["a", "b", "b", "b", "a", "a"]),
     {"task": "multiclass", "label": "label", "prediction": "predicted"},
     "the set has 2 classes ('a', 'b'); a multiclass set has at least three"),
    (_regression(), {"task": "regression", "actual": "actual", "prediction": "prediction", "lower": "lower"},
     "a prediction interval needs both lower= and upper="),
    (_regression().assign(lower=[100.0, 30.0, 200.0, 130.0, 80.0]),
     {"task": "regression", "actual": "actual", "prediction": "prediction", "lower": "lower", "upper": "upper"},
     "in row 3 the interval's low end (200, column 'lower') is above its high end (190, column 'upper')"),
    (_regression().assign(prediction=[1.0, np.inf, 2.0, 3.0, 4.0]),
     {"task": "regression", "actual": "actual", "prediction": "prediction"},
     "column 'prediction' holds inf in row 2, not a finite number"),
    (_regression().assign(actual=[0, 1, 0, 1, 1]), {"task": "regression", "actual": "actual", "prediction":
     "prediction"}, "column 'actual' holds only 2 different values; that is a class label, not an amount"),
    (_regression(), {"task": "regression", "label": "actual", "prediction": "prediction"},
     "a regression scored set needs actual="),
])
def test_a_set_of_the_wrong_shape_is_refused_and_nothing_is_logged(frame: pd.DataFrame, kwargs: dict[str, object],
                                                                   says: str) -> None:
    error = _refused(frame, **kwargs)
    assert says in str(error), str(error)
    assert error.hint


def test_columns_named_by_numbers_are_named_as_text(store: str) -> None:
    import mlflow

    frame = pd.DataFrame({0: [1, 0, 1], 1: [0.8, 0.3, 0.6]})
    with mlflow.start_run() as run:
        storybook.log_scored_set(frame, label="0", score="1")
    assert list(_artifact(store, run.info.run_id, "evaluation/scored.csv").columns) == ["0", "1"]


@pytest.mark.usefixtures("store")
def test_a_repeated_column_name_is_refused() -> None:
    frame = pd.read_csv(io.StringIO("label,score,score\n1,0.5,0.4\n0,0.1,0.2\n"))
    frame.columns = ["label", "score", "score"]
    assert "more than one column named 'score'" in _refused(frame, label="label", score="score").message


@pytest.mark.usefixtures("store")
def test_outside_a_run_it_says_how_to_start_one() -> None:
    with pytest.raises(LoggingError, match="found no active MLflow run") as caught:
        storybook.log_scored_set(_binary(), label="label", score="score")
    assert "mlflow.start_run()" in str(caught.value)


def test_a_production_series_is_a_metric_history_with_days_as_steps(store: str) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    values = np.array([150.5, 149.0, 152.25])
    with mlflow.start_run() as run:
        assert storybook.log_production_series("production_prediction_mean", values, start=START) == 3
    history = MlflowClient(store, store).get_metric_history(run.info.run_id, "production_prediction_mean")
    readings = sorted((m.step, m.timestamp, m.value) for m in history)
    day_ms = 24 * 3600 * 1000
    first = int(START.timestamp() * 1000)
    assert readings == [(1, first, 150.5), (2, first + day_ms, 149.0), (3, first + 2 * day_ms, 152.25)]


def test_a_series_appended_later_continues_its_steps(store: str) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    with mlflow.start_run() as run:
        storybook.log_production_series("daily", [1.0, 2.0], start=START)
    later = START + timedelta(days=2)
    storybook.log_production_series("daily", pd.Series([3.0]), start=later, every=timedelta(hours=1),
                                    run_id=run.info.run_id)
    history = MlflowClient(store, store).get_metric_history(run.info.run_id, "daily")
    assert sorted((m.step, m.value) for m in history) == [(1, 1.0), (2, 2.0), (3, 3.0)]
    assert max(m.timestamp for m in history) == int(later.timestamp() * 1000)


def test_a_long_series_is_logged_in_batches_mlflow_accepts(store: str) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    with mlflow.start_run() as run:
        storybook.log_production_series("hourly", list(range(2500)), start=START, every=timedelta(hours=1))
    history = MlflowClient(store, store).get_metric_history(run.info.run_id, "hourly")
    assert len(history) == 2500 and {m.step for m in history} == set(range(1, 2501))


@pytest.mark.usefixtures("store")
@pytest.mark.parametrize(("key", "values", "start", "says"), [
    ("daily", [1.0, float("nan")], START, "value 2 of 'daily' is nan, not a finite number"),
    ("daily", [1.0, "12"], START, None),  # text that reads as a number is a number
    ("daily", ["twelve"], START, "value 1 of 'daily' is 'twelve', not a finite number"),
    ("daily", [], START, "no values to log for 'daily'"),
    ("daily", "123", START, "must be a sequence of numbers, not str"),
    ("daily", 5.0, START, "must be a sequence of numbers, not float"),
    ("daily", [1.0], datetime(2026, 9, 1), "start must be a date and time with its time zone"),
    ("daily mean; drop", [1.0], START, "is not a metric key MLflow accepts"),
])
def test_a_series_that_is_not_readings_is_refused(key: str, values: object, start: datetime,
                                                  says: str | None) -> None:
    import mlflow

    with mlflow.start_run() as run:
        if says is None:
            assert storybook.log_production_series(key, values, start=start) == 2  # type: ignore[arg-type]
            return
        with pytest.raises(LoggingError) as caught:
            storybook.log_production_series(key, values, start=start)  # type: ignore[arg-type]
    assert says in caught.value.message
    assert caught.value.location is not None and caught.value.location.path.resolve() == Path(__file__).resolve()
    assert mlflow.get_run(run.info.run_id).data.metrics == {}
