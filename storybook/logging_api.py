"""Log, from training code, what storybook reads: a scored evaluation set and a production series.

    import mlflow
    import storybook

    with mlflow.start_run():
        ...                                   # train, then score the held-out set into a DataFrame
        storybook.log_scored_set(scored, task="multiclass", label="label",
                                 probabilities={"support": "p_support", "challenge": "p_challenge",
                                                "neither": "p_neither"},
                                 prediction="predicted", slices=["school"])
        storybook.log_production_series("production_prediction_mean", daily_means,
                                        start=datetime(2026, 9, 1, tzinfo=UTC))

Both check what they are given before anything is logged, the way a story will read it, and refuse with a
:class:`~storybook.errors.LoggingError` that names the calling line, the column and what was expected. The scored
set is written as a CSV artifact of the run (every column of the frame, in its order: keep the feature columns
in it when the story shows what drives the predictions), and the columns' roles are recorded in a run tag
``storybook.scored_set.<artifact path>`` (JSON), so whoever reads the run can tell which column is which.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from storybook.errors import Location, LoggingError, user_code_location
from storybook.files import csv_text

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = ["LoggedScoredSet", "log_production_series", "log_scored_set"]

Task = Literal["binary", "multiclass", "regression"]
TAG_PREFIX = "storybook.scored_set."
SUM_TOLERANCE = 1e-3  # a row's chances must add up to 1 within this (as storybook reads them)
_BATCH = 1000  # MLflow takes at most 1,000 metrics in one log_batch call
_KEY = re.compile(r"^[A-Za-z0-9_\-./ ]{1,250}$")  # what MLflow accepts as a metric key
_SHOWN = 5


@dataclass(frozen=True)
class LoggedScoredSet:
    """What :func:`log_scored_set` logged: on which run, where, and how many rows."""

    run_id: str
    artifact_path: str
    rows: int


def log_scored_set(frame: pd.DataFrame, *, task: Task = "binary", label: str | None = None,
                   score: str | None = None, prediction: str | None = None,
                   probabilities: Mapping[str, str] | None = None, actual: str | None = None,
                   lower: str | None = None, upper: str | None = None, slices: Sequence[str] = (),
                   artifact_path: str = "evaluation/scored.csv", run_id: str | None = None) -> LoggedScoredSet:
    """Check a scored evaluation set and log it as a CSV artifact of the active MLflow run (or of ``run_id``).

    Name the columns by the story's task:

    - ``binary``: ``label`` (the true outcome, two values) and ``score`` (the model's chance, 0 to 1);
    - ``multiclass``: ``label`` (the true class, at least three classes) and ``probabilities`` (each class, as
      spelt in the label column, to the column with the model's chance of it; they add up to 1 per row), or
      ``prediction`` (the class the model called), or both;
    - ``regression``: ``actual`` and ``prediction`` (numbers), optionally ``lower`` and ``upper`` (the ends of
      each prediction interval, both or neither).

    ``slices`` are columns the story breaks the figures down by (e.g. a school or a clinic). Returns what was
    logged; raises :class:`LoggingError` (nothing logged) when the set does not have the shape the task needs.
    """
    import pandas as pd

    where = _caller()
    if not isinstance(frame, pd.DataFrame):
        raise _error(where, f"log_scored_set needs a pandas DataFrame, not {type(frame).__name__}",
                     "build the scored set as a DataFrame, one row per case")
    frame = frame.rename(columns=str)  # a CSV's column names are text; name the columns as text too
    _check_artifact_path(where, artifact_path)
    roles = _roles(where, task, label=label, score=score, prediction=prediction, probabilities=probabilities,
                   actual=actual, lower=lower, upper=upper)
    _check_columns(where, frame, roles, slices)
    if task == "binary":
        _check_binary(where, frame, str(label), str(score))
    elif task == "multiclass":
        _check_multiclass(where, frame, str(label), probabilities, prediction)
    else:
        _check_regression(where, frame, str(actual), str(prediction), lower, upper)

    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    target = _run_id(where, run_id, "log_scored_set")
    client.log_text(target, csv_text(frame), artifact_path)
    described: dict[str, object] = {"task": task, **{k: v for k, v in roles.items() if isinstance(v, str)}}
    if probabilities is not None:
        described["probabilities"] = {str(k): v for k, v in probabilities.items()}
    described["slices"] = list(slices)
    client.set_tag(target, TAG_PREFIX + artifact_path, json.dumps(described))
    return LoggedScoredSet(run_id=target, artifact_path=artifact_path, rows=len(frame))


def log_production_series(key: str, values: Iterable[float], *, start: datetime, every: timedelta = timedelta(days=1),
                          run_id: str | None = None) -> int:
    """Log readings of a production series (e.g. each day's mean prediction) as the metric history ``key`` of
    the active MLflow run (or of ``run_id``), the form a story's ``series:`` and ``trust.guardrails`` read.

    The first value was read at ``start`` (a date and time with its time zone), each next one ``every`` later;
    steps continue after the readings the run already holds for ``key`` (1 for a new series), so a monitoring job
    can append a day at a time. Returns how many readings were logged.
    """
    where = _caller()
    if not isinstance(key, str) or not _KEY.match(key):
        raise _error(where, f"the series key {key!r} is not a metric key MLflow accepts",
                     "use letters, digits, spaces and _ - . / only, e.g. production_prediction_mean")
    readings = _readings(values)
    if readings is None:
        raise _error(where, f"the values of {key!r} must be a sequence of numbers, not {type(values).__name__}",
                     "pass a list (or a numpy array, or a pandas Series) of the readings, oldest first")
    if not readings:
        raise _error(where, f"no values to log for {key!r}", "pass at least one reading")
    numbers: list[float] = []
    for index, value in enumerate(readings):
        number = _number(value)
        if number is None or not math.isfinite(number):
            raise _error(where, f"value {index + 1} of {key!r} is {value!r}, not a finite number",
                         "log only the readings that were taken, each a number")
        numbers.append(number)
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise _error(where, f"start must be a date and time with its time zone, not {start!r}",
                     "e.g. start=datetime(2026, 9, 1, tzinfo=UTC)")
    if not isinstance(every, timedelta) or every <= timedelta(0):
        raise _error(where, f"every must be a positive time step, not {every!r}", "e.g. every=timedelta(days=1)")

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    target = _run_id(where, run_id, "log_production_series")
    first = max((m.step for m in client.get_metric_history(target, key)), default=0) + 1
    metrics = [Metric(key, value, int((start + every * index).timestamp() * 1000), first + index)
               for index, value in enumerate(numbers)]
    for begin in range(0, len(metrics), _BATCH):
        client.log_batch(target, metrics=metrics[begin:begin + _BATCH])
    return len(metrics)


# --- checks ---------------------------------------------------------------------------------------------------


def _roles(where: Location | None, task: str, **given: object) -> dict[str, object]:
    """The columns the task needs, refusing a missing one and one the task does not read."""
    needs: dict[str, tuple[str, ...]] = {
        "binary": ("label", "score"),
        "multiclass": ("label",),
        "regression": ("actual", "prediction"),
    }
    reads: dict[str, tuple[str, ...]] = {
        "binary": ("label", "score"),
        "multiclass": ("label", "prediction", "probabilities"),
        "regression": ("actual", "prediction", "lower", "upper"),
    }
    if task not in needs:
        raise _error(where, f"task must be binary, multiclass or regression, not {task!r}",
                     "binary: a yes/no outcome with a score; multiclass: one of several classes; "
                     "regression: an amount")
    for name in needs[task]:
        if given[name] is None:
            raise _error(where, f"a {task} scored set needs {name}= (the column with "
                         f"{_MEANING[name]})", f"pass {name}='<column name>'")
    for name, value in given.items():
        if value is not None and name not in reads[task]:
            raise _error(where, f"a {task} scored set does not use {name}=", _NOT_READ.get((task, name),
                         f"leave {name}= out (the column is still logged with the frame)"))
    if task == "multiclass" and given["probabilities"] is None and given["prediction"] is None:
        raise _error(where, "a multiclass scored set needs probabilities= (each class's chance) or prediction= "
                     "(the class the model called), or both", "e.g. probabilities={'support': 'p_support', ...}")
    if task == "regression" and (given["lower"] is None) != (given["upper"] is None):
        raise _error(where, "a prediction interval needs both lower= and upper=", "give both ends, or neither")
    return {name: value for name, value in given.items() if value is not None}


_MEANING = {"label": "the true outcome", "score": "the model's chance, from 0 to 1",
            "actual": "what really happened", "prediction": "the model's forecast"}
_NOT_READ = {
    ("binary", "prediction"): "a binary set is flagged by the story's threshold, so storybook reads no predicted "
                              "class: leave prediction= out (the column is still logged with the frame)",
    ("regression", "label"): "a regression set names its true amounts with actual=",
    ("binary", "actual"): "a binary set names its true outcome with label=",
}


def _check_columns(where: Location | None, frame: pd.DataFrame, roles: Mapping[str, object],
                   slices: Sequence[str]) -> None:
    names = [str(c) for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _error(where, f"the frame has more than one column named {repeated[0]!r}",
                     "give each column its own name")
    if len(frame) == 0:
        raise _error(where, "the scored set has no rows", "score the held-out cases, one row each")
    wanted: list[tuple[str, str]] = []
    for role, value in roles.items():
        if isinstance(value, str):
            wanted.append((f"{role}=", value))
        elif isinstance(value, Mapping):
            wanted += [(f"probabilities[{k!r}]", str(v)) for k, v in value.items()]
    if isinstance(slices, str):
        raise _error(where, f"slices must be a list of column names, not the text {slices!r}",
                     f"e.g. slices=[{slices!r}]")
    wanted += [("slices", str(s)) for s in slices]
    for role, column in wanted:
        if column not in names:
            raise _error(where, f"{role} names column {column!r}, which the frame does not have",
                         f"columns: {_listed(names)}")
    used = [column for role, column in wanted if role != "slices"]
    for role, column in wanted:
        if role == "slices" and column in used:
            raise _error(where, f"slice {column!r} is also a column the model's figures are read from",
                         "slice by a property of the cases (a school, a clinic), not by a label or a prediction")
        if role == "slices" and frame[column].isna().any():
            empty = frame[column].isna()
            raise _error(where, f"slice {column!r} is empty in {_rows(int(empty.sum()))} (the first is row "
                         f"{int(empty.to_numpy().nonzero()[0][0]) + 1}); a story would not know their group",
                         "name the group of every row, e.g. 'not recorded'")


def _check_binary(where: Location | None, frame: pd.DataFrame, label: str, score: str) -> None:
    labels = _labels(where, frame, label)
    values = sorted(labels.unique())
    if len(values) != 2:
        raise _error(where, f"column {label!r} holds {len(values)} different labels ({_listed(values)}), not two",
                     "a binary set has a yes/no outcome; use task='multiclass' for three or more classes, "
                     "task='regression' for amounts")
    scores = _numbers(where, frame, score)
    low, high = float(scores.min()), float(scores.max())
    if low < 0 or high > 1:
        raise _error(where, f"column {score!r} holds values from {low:g} to {high:g}, not chances between 0 and 1",
                     "log each row's chance of the positive class (e.g. predict_proba's column for it)")


def _check_multiclass(where: Location | None, frame: pd.DataFrame, label: str,
                      probabilities: Mapping[str, str] | None, prediction: str | None) -> None:
    import numpy as np

    labels = _labels(where, frame, label)
    classes = [str(c) for c in probabilities] if probabilities is not None else []
    if probabilities is not None:
        if len(classes) < 3:
            raise _error(where, f"probabilities= names {len(classes)} classes; a multiclass set has at least three",
                         "a yes/no outcome is a binary set (task='binary', with score=)")
        chances = np.column_stack([_numbers(where, frame, str(column)) for column in probabilities.values()])
        for column, values in zip(probabilities.values(), chances.T, strict=True):
            if values.min() < 0 or values.max() > 1:
                raise _error(where, f"column {column!r} holds values from {values.min():g} to {values.max():g}, "
                             "not chances between 0 and 1", "log predict_proba's column for each class")
        sums = chances.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1) > SUM_TOLERANCE)
        if off.size:
            raise _error(where, f"the chances of row {int(off[0]) + 1} add up to {sums[off[0]]:g}, not 1 "
                         f"({_rows(off.size)} off by more than {SUM_TOLERANCE:g})",
                         "give a column for every class the model knows, each row's chances from one "
                         "predict_proba call")
        unknown = sorted(set(labels.unique()) - set(classes))
        if unknown:
            raise _error(where, f"column {label!r} holds labels with no probability column: {_listed(unknown)}",
                         f"probabilities= names {_listed(classes)}; spell the classes as the label column does")
    if prediction is not None:
        called = _labels(where, frame, prediction)
        known = set(classes) if classes else set(labels.unique())
        unknown = sorted(set(called.unique()) - known)
        if unknown and classes:
            raise _error(where, f"column {prediction!r} calls classes with no probability column: "
                         f"{_listed(unknown)}", f"probabilities= names {_listed(classes)}")
        classes = sorted(known | set(called.unique()))
    if len(set(classes)) < 3:
        raise _error(where, f"the set has {len(set(classes))} classes ({_listed(sorted(set(classes)))}); a "
                     "multiclass set has at least three", "a yes/no outcome is a binary set (task='binary')")


def _check_regression(where: Location | None, frame: pd.DataFrame, actual: str, prediction: str,
                      lower: str | None, upper: str | None) -> None:
    import numpy as np

    truth = _numbers(where, frame, actual)
    distinct = np.unique(truth).size
    if distinct <= 2:
        raise _error(where, f"column {actual!r} holds only {distinct} different values; that is a class label, "
                     "not an amount", "use task='binary' (with label= and score=) for a yes/no outcome")
    _numbers(where, frame, prediction)
    if lower is not None and upper is not None:
        low, high = _numbers(where, frame, lower), _numbers(where, frame, upper)
        crossed = np.flatnonzero(low > high)
        if crossed.size:
            row = int(crossed[0])
            raise _error(where, f"in row {row + 1} the interval's low end ({low[row]:g}, column {lower!r}) is above "
                         f"its high end ({high[row]:g}, column {upper!r}); {_rows(crossed.size)} like it",
                         "lower= names the low end and upper= the high end of each prediction interval")


def _labels(where: Location | None, frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as text (as a story spells classes), refusing empty cells."""
    values = frame[column]
    missing = int(values.isna().sum())
    if missing:
        row = int(values.isna().to_numpy().nonzero()[0][0])
        raise _error(where, f"column {column!r} is empty in {_rows(missing)} (the first is row {row + 1})",
                     "every row needs its value; leave out the cases that have none")
    return values.astype(str)


def _numbers(where: Location | None, frame: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    """The column as finite floats, refusing text, empty cells and infinities (naming the first bad row)."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise _error(where, f"column {column!r} holds {_shown(frame[column].iloc[row])} in row {row + 1}, not a "
                     f"finite number ({_rows(bad.size)} like it)", "every row needs a number in this column")
    return values


def _check_artifact_path(where: Location | None, artifact_path: str) -> None:
    path = Path(artifact_path) if isinstance(artifact_path, str) else None
    if path is None or path.is_absolute() or ".." in path.parts or path.suffix.lower() != ".csv":
        raise _error(where, f"artifact_path must be a relative path ending in .csv, not {artifact_path!r}",
                     "e.g. evaluation/scored.csv (the story's evaluation.artifact)")


# --- helpers --------------------------------------------------------------------------------------------------


def _run_id(where: Location | None, run_id: str | None, function: str) -> str:
    if run_id is not None:
        return run_id
    import mlflow

    run = mlflow.active_run()
    if run is None:
        raise _error(where, f"{function} found no active MLflow run",
                     "call it inside 'with mlflow.start_run():', or pass run_id=")
    return str(run.info.run_id)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type, unused-ignore]
    except (TypeError, ValueError):
        return None


def _readings(values: object) -> list[object] | None:
    """The values as a list (a list, tuple, numpy array or pandas Series), or None for text, a mapping or a
    single number."""
    if isinstance(values, str | bytes | Mapping):
        return None
    try:
        return list(values)  # type: ignore[call-overload, no-any-return, unused-ignore]
    except TypeError:
        return None


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _shown(value: object) -> str:
    """A cell as a message shows it: text quoted (and cut short), an empty cell said, a number as written."""
    if isinstance(value, str):
        return repr(value[:40])
    number = _number(value)
    if value is None or (number is not None and math.isnan(number)):
        return "an empty cell"
    return str(number) if number is not None else repr(value)[:40]


def _listed(values: Sequence[object]) -> str:
    shown = ", ".join(repr(str(v)) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN:,} more" if len(values) > _SHOWN else "")


_caller = user_code_location  # errors point at the line of the user's code that called storybook



def _error(where: Location | None, message: str, hint: str) -> LoggingError:
    return LoggingError(message, location=where, hint=hint)
