"""Figures of a multiclass or regression version for trust and decision grounds (analyse/task_versions.py), on
hand-worked sets checked against scikit-learn: which figures are shares and which way is better, each figure from
the table of kinds, a figure told in its own unit, and the difference between two versions, paired when both
scored the same cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error

from storybook.analyse.task_versions import (
    TaskVersion,
    figure_of,
    higher_is_better,
    is_share,
    task_gap,
    told_difference,
    told_value,
)
from storybook.metrics.regression import RegressionScores
from storybook.resolve.scored_regression import RegressionSet

ACTUAL = [10.0, 12.0, 8.0, 6.0, 14.0, 9.0]


def _version(name: str, predicted: list[float], ids: list[str] | None = None) -> TaskVersion:
    scores = RegressionScores(np.asarray(ACTUAL), np.asarray(predicted, dtype=np.float64))
    frame = pd.DataFrame({"actual": ACTUAL, "prediction": predicted})
    return TaskVersion(name, RegressionSet(scores=scores, frame=frame, interval_level=None), f"run of {name}",
                       None if ids is None else np.asarray(ids))


def test_shares_and_directions_come_from_the_table_of_kinds() -> None:
    assert is_share("multiclass_accuracy") and is_share("recall") and not is_share("mae") and not is_share("r2")
    assert higher_is_better("mae") is False and higher_is_better("balanced_accuracy") is True
    assert higher_is_better("not_a_kind") is None


def test_a_figure_is_computed_as_scikit_learn_computes_it() -> None:
    predicted = [12.0, 11.0, 8.0, 10.0, 11.0, 11.0]
    found = figure_of("mae", _version("v2", predicted).set)
    # |errors| 2, 1, 0, 4, 3, 2 -> 12 / 6 = 2
    assert found.value == pytest.approx(mean_absolute_error(ACTUAL, predicted)) == pytest.approx(2.0)
    assert found.n == 6
    with pytest.raises(ValueError, match="cannot compute a figure of kind 'recall'"):
        figure_of("recall", _version("v2", predicted).set)


@pytest.mark.parametrize(("kind", "value", "unit", "told"), [
    ("multiclass_accuracy", 0.81, None, "81 in 100"),
    ("mae", 12.345, "points", "12.3 points"),
    ("mae", 1.0, "points", "1 point"),
    ("mae", 1234.5, "hours of care", "1,234 hours of care"),   # whole from 100 on; a phrase keeps its plural
    ("r2", 0.4123, None, "0.41"),
    ("mae", None, "points", "not known"),
])
def test_a_figure_is_told_in_its_own_unit(kind: str, value: float | None, unit: str | None, told: str) -> None:
    assert told_value(kind, value, unit) == told


def test_a_difference_says_which_way_and_none_is_no_different() -> None:
    assert told_difference("mae", 2.5, "points") == "2.5 points better"
    assert told_difference("multiclass_accuracy", -0.03, None) == "3 points out of 100 worse"
    assert told_difference("multiclass_accuracy", 0.001, None) == "no different"


def test_two_versions_that_scored_the_same_cases_are_compared_pair_by_pair() -> None:
    ids = ["a", "b", "c", "d", "e", "f"]
    first = _version("v3", [10.0, 12.0, 8.0, 6.0, 14.0, 10.0], ids)   # mae 1/6
    second = _version("v2", [12.0, 11.0, 8.0, 10.0, 11.0, 11.0], ids)  # mae 2
    gap, paired = task_gap("mae", first, second, rounds=500)
    assert paired and gap.value == pytest.approx(1 / 6 - 2.0) and gap.n == 6
    assert gap.low is not None and gap.high is not None and gap.low <= gap.value <= gap.high < 0
    unpaired, paired = task_gap("mae", first, _version("v2", [12.0, 11.0, 8.0, 10.0, 11.0, 11.0],
                                                        ["u", "v", "w", "x", "y", "z"]))
    assert not paired and unpaired.value == pytest.approx(1 / 6 - 2.0)
