"""The regression scored set (resolve/scored_regression.py): actual and forecast amounts, their errors, and
columns that are not amounts refused on their lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from storybook.errors import SourceError
from storybook.resolve.scored import task_set
from storybook.resolve.scored_regression import RegressionSet
from tests.resolve.task_stories import REGRESSION, task_story, yaml_line


def test_a_regression_set_holds_the_actual_and_forecast_amounts(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    found = task_set(s, pd.DataFrame({"actual": [10.0, 20, 30], "predicted": [12.0, 18, 33]}), {}, "r1")
    assert isinstance(found, RegressionSet)
    assert found.scores.errors.tolist() == [2.0, -2.0, 3.0]


def test_text_in_the_forecast_column_is_a_located_error(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    with pytest.raises(SourceError, match="not numbers") as caught:
        task_set(s, pd.DataFrame({"actual": [10.0, 20, 30], "predicted": ["12", "n/a", "3"]}), {}, "r1")
    assert caught.value.location is not None and caught.value.location.line == yaml_line(s, "prediction_column")


def test_a_yes_no_column_told_as_regression_says_what_it_is(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    with pytest.raises(SourceError, match="yes/no outcome"):
        task_set(s, pd.DataFrame({"actual": [0, 1, 1, 0], "predicted": [0.2, 0.9, 0.6, 0.1]}), {}, "r1")
