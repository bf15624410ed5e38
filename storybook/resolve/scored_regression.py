"""The scored evaluation set of a regression story, built and checked in one place.

:func:`regression_set` refuses, with the story.yaml line to fix, a set that a regression story cannot tell: the
actual and forecast columns exist and hold finite numbers, and a logged prediction interval has its low end at or
below its high end. A set whose actual column holds two values only is a yes/no outcome: it says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from storybook.errors import SourceError
from storybook.metrics.regression import RegressionScores
from storybook.resolve.scored_columns import missing_column
from storybook.sources.loader import StorySource

__all__ = ["RegressionSet", "regression_set"]


@dataclass(frozen=True, eq=False)
class RegressionSet:
    """One version's checked regression scored set: what happened, the forecasts, the whole table."""

    scores: RegressionScores
    frame: pd.DataFrame
    interval_level: float | None = None

    @property
    def n(self) -> int:
        return self.scores.n


def regression_set(story: StorySource, frame: pd.DataFrame, *, which: str = "") -> RegressionSet:
    """The checked set of one version (``which`` names it in messages); a located SourceError otherwise."""
    evaluation = story.config.evaluation
    assert evaluation is not None
    subject = f"the evaluation set {evaluation.artifact!r}" + (f" of {which}" if which else "")
    wanted: list[tuple[str, str]] = [("actual_column", evaluation.actual_column),
                                     ("prediction_column", evaluation.forecast_column)]
    if evaluation.lower_column is not None and evaluation.upper_column is not None:
        wanted += [("lower_column", evaluation.lower_column), ("upper_column", evaluation.upper_column)]
    for key, column in wanted:
        if column not in frame.columns:
            raise missing_column(story, frame, (key,), column, subject)
    if len(frame) == 0:
        raise SourceError(f"{subject} has no rows", location=story.yaml.location(("evaluation", "artifact")),
                          hint="log the scored evaluation set with one row per case")
    arrays = {key: _numbers(story, frame[column], key, subject) for key, column in wanted}
    actual = arrays["actual_column"]
    if np.unique(actual).size <= 2 and actual.size > 2:
        raise SourceError(f"column {evaluation.actual_column!r} of {subject} holds only "
                          f"{np.unique(actual).size} different values; that is a yes/no outcome, not an amount",
                          location=story.yaml.location(("evaluation", "task")),
                          hint="tell it as a binary story (evaluation.task: binary) with the model's score")
    lower, upper = arrays.get("lower_column"), arrays.get("upper_column")
    if lower is not None and upper is not None and (lower > upper).any():
        rows = int((lower > upper).sum())
        raise SourceError(f"{rows:,} rows of {subject} have a prediction interval whose low end is above its high "
                          "end", location=story.yaml.location(("evaluation", "lower_column")),
                          hint="check that lower_column and upper_column are not swapped")
    scores = RegressionScores(actual=actual, predicted=arrays["prediction_column"], lower=lower, upper=upper)
    return RegressionSet(scores=scores, frame=frame, interval_level=evaluation.interval_level)


def _numbers(story: StorySource, column: pd.Series, key: str, subject: str) -> np.ndarray:
    location = story.yaml.location(("evaluation", key))
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        example = str(column[bad].iloc[0])[:40]
        raise SourceError(f"column {column.name!r} of {subject} holds values that are not numbers (e.g. "
                          f"{example!r})", location=location, hint="a regression set holds amounts: numbers only")
    array = values.to_numpy(dtype=np.float64)
    missing = int(np.isnan(array).sum())
    if missing:
        raise SourceError(f"column {column.name!r} of {subject} has {missing:,} empty values", location=location,
                          hint="every row needs its value")
    if not np.isfinite(array).all():
        raise SourceError(f"column {column.name!r} of {subject} holds infinite values", location=location,
                          hint="log finite amounts")
    return array
