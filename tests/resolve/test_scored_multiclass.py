"""The multiclass scored set (resolve/scored_multiclass.py): the called class, the story's class order, labels
and chances checked on their lines, and a regression target told as multiclass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storybook.errors import SourceError
from storybook.resolve.scored import task_set
from storybook.resolve.scored_multiclass import MulticlassSet
from tests.resolve.task_stories import MULTICLASS, task_story, yaml_line


def test_a_multiclass_set_calls_the_most_likely_class_and_keeps_the_story_order(tmp_path: Path) -> None:
    s = task_story(tmp_path, MULTICLASS)
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
    s = task_story(tmp_path, MULTICLASS)
    frame = pd.DataFrame({"label": ["neither", "skip"], "p_support": [0.2, 0.7], "p_challenge": [0.1, 0.2],
                          "p_neither": [0.7, 0.1]})
    with pytest.raises(SourceError, match="'skip'") as caught:
        task_set(s, frame, {}, "r1")
    assert caught.value.location is not None and caught.value.location.line == yaml_line(s, "label_column")


def test_chances_that_do_not_sum_to_one_are_refused(tmp_path: Path) -> None:
    s = task_story(tmp_path, MULTICLASS)
    frame = pd.DataFrame({"label": ["neither", "support"], "p_support": [0.2, 0.7], "p_challenge": [0.1, 0.2],
                          "p_neither": [0.7, 0.5]})
    with pytest.raises(SourceError, match="do not add up to 1 on 1 rows"):
        task_set(s, frame, {}, "r1")


def test_a_multiclass_set_with_only_a_predicted_class(tmp_path: Path) -> None:
    evaluation = {**MULTICLASS, "classes": [{"value": v, "means": f"need {v}"} for v in ("a", "b", "c")],
                  "prediction_column": "called"}
    s = task_story(tmp_path, evaluation)
    found = task_set(s, pd.DataFrame({"label": ["a", "b", "c"], "called": ["a", "c", "c"]}), {}, "r1")
    assert isinstance(found, MulticlassSet) and found.scores.probabilities is None
    assert found.scores.predicted.tolist() == [0, 2, 2]


def test_a_regression_target_told_as_multiclass_says_it_looks_like_regression(tmp_path: Path) -> None:
    evaluation = {**MULTICLASS, "classes": [{"value": v, "means": f"is {v}"} for v in ("1", "2", "3")],
                  "prediction_column": "called"}
    s = task_story(tmp_path, evaluation)
    values = np.arange(40.0)
    with pytest.raises(SourceError, match="regression target"):
        task_set(s, pd.DataFrame({"label": values, "called": values}), {}, "r1")
