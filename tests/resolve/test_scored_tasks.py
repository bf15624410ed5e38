"""The scored set of each task is checked once, on the story.yaml line to fix (resolve/scored*.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from storybook.errors import SourceError
from storybook.resolve.scored import ScoredSet, task_set
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.loader import load_story
from tests.stores import story, write_project

MULTICLASS = {
    "task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students", "label_column": "label",
    "classes": [{"value": v, "means": f"need {v}", "probability_column": f"p_{v}"}
                for v in ("support", "challenge", "neither")],
}
REGRESSION = {
    "task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients", "actual_column": "actual",
    "prediction_column": "predicted", "target_means": "the progression score a year later", "amount_unit": "points",
}


def _story(tmp_path: Path, evaluation: dict[str, Any], kind: str = "other") -> Any:
    root = write_project(tmp_path, {"s": story("m", "champion", [{"key": "k", "label": "K", "kind": kind}],
                                               evaluation)})
    return load_story(root, root / "stories" / "s")


def _line(story: Any, text: str) -> int:
    lines = (story.directory / "story.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_a_multiclass_set_calls_the_most_likely_class_and_keeps_the_story_order(tmp_path: Path) -> None:
    s = _story(tmp_path, MULTICLASS)
    frame = pd.DataFrame({"label": ["neither", "support", "challenge", "support"],
                          "p_support": [0.2, 0.7, 0.1, 0.3], "p_challenge": [0.1, 0.2, 0.5, 0.3],
                          "p_neither": [0.7, 0.1, 0.4, 0.4]})
    found = task_set(s, frame, {}, "r1")
    assert isinstance(found, MulticlassSet)
    assert found.scores.classes == ("support", "challenge", "neither")
    assert found.scores.truth.tolist() == [2, 0, 1, 0]
    assert found.scores.predicted.tolist() == [2, 0, 1, 2]
    assert found.scores.probabilities is not None and found.scores.probabilities.shape == (4, 3)


def test_a_label_outside_the_classes_is_named_on_the_label_line(tmp_path: Path) -> None:
    s = _story(tmp_path, MULTICLASS)
    frame = pd.DataFrame({"label": ["neither", "skip"], "p_support": [0.2, 0.7], "p_challenge": [0.1, 0.2],
                          "p_neither": [0.7, 0.1]})
    with pytest.raises(SourceError, match="'skip'") as caught:
        task_set(s, frame, {}, "r1")
    assert caught.value.location is not None and caught.value.location.line == _line(s, "label_column")


def test_chances_that_do_not_sum_to_one_are_refused(tmp_path: Path) -> None:
    s = _story(tmp_path, MULTICLASS)
    frame = pd.DataFrame({"label": ["neither", "support"], "p_support": [0.2, 0.7], "p_challenge": [0.1, 0.2],
                          "p_neither": [0.7, 0.5]})
    with pytest.raises(SourceError, match="do not add up to 1 on 1 rows"):
        task_set(s, frame, {}, "r1")


def test_a_multiclass_set_with_only_a_predicted_class(tmp_path: Path) -> None:
    evaluation = {**MULTICLASS, "classes": [{"value": v, "means": f"need {v}"} for v in ("a", "b", "c")],
                  "prediction_column": "called"}
    s = _story(tmp_path, evaluation)
    found = task_set(s, pd.DataFrame({"label": ["a", "b", "c"], "called": ["a", "c", "c"]}), {}, "r1")
    assert isinstance(found, MulticlassSet) and found.scores.probabilities is None
    assert found.scores.predicted.tolist() == [0, 2, 2]


def test_a_regression_set_holds_the_actual_and_forecast_amounts(tmp_path: Path) -> None:
    s = _story(tmp_path, REGRESSION)
    found = task_set(s, pd.DataFrame({"actual": [10.0, 20, 30], "predicted": [12.0, 18, 33]}), {}, "r1")
    assert isinstance(found, RegressionSet)
    assert found.scores.errors.tolist() == [2.0, -2.0, 3.0]


def test_text_in_the_forecast_column_is_a_located_error(tmp_path: Path) -> None:
    s = _story(tmp_path, REGRESSION)
    with pytest.raises(SourceError, match="not numbers") as caught:
        task_set(s, pd.DataFrame({"actual": [10.0, 20, 30], "predicted": ["12", "n/a", "3"]}), {}, "r1")
    assert caught.value.location is not None and caught.value.location.line == _line(s, "prediction_column")


def test_a_yes_no_column_told_as_regression_says_what_it_is(tmp_path: Path) -> None:
    s = _story(tmp_path, REGRESSION)
    with pytest.raises(SourceError, match="yes/no outcome"):
        task_set(s, pd.DataFrame({"actual": [0, 1, 1, 0], "predicted": [0.2, 0.9, 0.6, 0.1]}), {}, "r1")


def test_a_regression_target_told_as_multiclass_says_it_looks_like_regression(tmp_path: Path) -> None:
    evaluation = {**MULTICLASS, "classes": [{"value": v, "means": f"is {v}"} for v in ("1", "2", "3")],
                  "prediction_column": "called"}
    s = _story(tmp_path, evaluation)
    values = np.arange(40.0)
    with pytest.raises(SourceError, match="regression target"):
        task_set(s, pd.DataFrame({"label": values, "called": values}), {}, "r1")


def test_a_binary_story_still_gets_its_binary_set(tmp_path: Path) -> None:
    s = _story(tmp_path, {"positive_means": "has it", "negative_means": "does not", "threshold": 0.5})
    found = task_set(s, pd.DataFrame({"label": [1, 0], "score": [0.8, 0.3]}), {}, "r1")
    assert isinstance(found, ScoredSet) and found.labels.tolist() == [True, False]
