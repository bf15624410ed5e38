"""Trust in a multiclass or regression model (analyse/trust_checks/task_model.py), judged on hand-worked figures:
the held-out figure against the story's bound on the right end of its range, the comparison with another version
in the right direction, top-label calibration and the coverage of prediction intervals."""

from __future__ import annotations

import numpy as np
import pytest

from storybook.analyse.classification import Estimate
from storybook.analyse.trust_checks.task_model import (
    check_interval_coverage,
    check_task_held_out,
    check_task_previous_version,
    check_top_label_calibration,
)
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionScores


def _held_out(estimate: Estimate, *, minimum: float | None = None, maximum: float | None = None,
              kind: str = "mae") -> bool | None:
    evidence = check_task_held_out(estimate, kind, "average miss", minimum=minimum, maximum=maximum,
                                   unit="points", counted="patients", source="run r")
    assert evidence.check == "model.held_out" and evidence.figures["n"] == estimate.n
    return evidence.passed


@pytest.mark.parametrize(("estimate", "passed"), [
    (Estimate(40.0, 36.0, 44.0, 100), True),     # even the high end, 44, is within 45
    (Estimate(43.0, 39.0, 47.0, 100), False),    # the figure is within, the high end is not: not yet shown
    (Estimate(50.0, 46.0, 54.0, 100), False),    # the figure itself is over
    (Estimate(40.0, None, None, 100), None),     # no range: cannot be judged
    (Estimate(None, None, None, 0), None),       # nothing held out
])
def test_a_lower_is_better_figure_passes_when_the_high_end_of_its_range_is_within_the_maximum(
        estimate: Estimate, passed: bool | None) -> None:
    assert _held_out(estimate, maximum=45.0) is passed


def test_a_higher_is_better_figure_passes_when_the_low_end_reaches_the_minimum() -> None:
    assert _held_out(Estimate(0.85, 0.81, 0.89, 200), minimum=0.8, kind="multiclass_accuracy") is True
    assert _held_out(Estimate(0.85, 0.78, 0.92, 200), minimum=0.8, kind="multiclass_accuracy") is False


def test_a_held_out_check_without_a_bound_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="needs a minimum or a maximum"):
        _held_out(Estimate(40.0, 36.0, 44.0, 100))


@pytest.mark.parametrize(("gap", "verdict", "passed"), [
    (Estimate(-4.0, -6.0, -2.0, 100), "better", True),               # misses 4 points less: better
    (Estimate(4.0, 2.0, 6.0, 100), "worse", False),
    (Estimate(1.0, -1.0, 3.0, 100), "no clear difference", True),   # only clearly worse fails
])
def test_for_a_lower_is_better_figure_a_smaller_one_is_better(gap: Estimate, verdict: str, passed: bool) -> None:
    evidence = check_task_previous_version(Estimate(40.0, 37.0, 43.0, 100), Estimate(44.0, 41.0, 47.0, 100), gap,
                                           kind="mae", phrase="average miss", unit="points", paired=True,
                                           this="version 3", other="version 2", source="runs")
    assert (evidence.figures["verdict"], evidence.passed) == (verdict, passed)


def test_a_gap_that_rounds_to_nothing_is_told_as_no_difference() -> None:
    """R² 0.387 against 0.390: the gap, told to two decimals, is nothing; the page said "a difference of no
    different" (and a range end at 0 "anywhere from no different to ...")."""
    evidence = check_task_previous_version(Estimate(0.387, 0.255, 0.493, 133), Estimate(0.390, 0.286, 0.476, 133),
                                           Estimate(-0.003, -0.06, 0.001, 133), kind="r2", phrase="R²", unit=None,
                                           paired=True, this="version 3", other="version 1", source="runs")
    assert ": no difference; allowing for chance, anywhere from 0.06 worse to no difference (both versions " in (
        evidence.sentence)
    assert "no different" not in evidence.sentence and "a difference of no" not in evidence.sentence


def test_a_comparison_without_a_range_cannot_be_judged() -> None:
    evidence = check_task_previous_version(Estimate(40.0, None, None, 100), Estimate(44.0, None, None, 100),
                                           Estimate(-4.0, None, None, 100), kind="mae", phrase="average miss",
                                           unit="points", paired=False, this="v3", other="v2", source="runs")
    assert evidence.passed is None and evidence.figures["verdict"] is None


def _calls(top_chance: float, right: int) -> MulticlassScores:
    """Four calls of class 0, each with chance ``top_chance``; the first ``right`` of them right."""
    rest = (1 - top_chance) / 2
    chances = np.tile([top_chance, rest, rest], (4, 1))
    truth = np.array([0] * right + [1] * (4 - right))
    return MulticlassScores(("a", "b", "c"), truth, np.zeros(4, dtype=np.int64), chances)


def test_top_label_calibration_compares_the_chance_given_with_how_often_the_call_was_right() -> None:
    # Chance 0.75, right 3 of 4: calibrated (error 0). Chance 0.95, right 2 of 4: 45 points off.
    assert check_top_label_calibration(_calls(0.75, 3), tolerance=0.05, unit="students", source="s").passed is True
    off = check_top_label_calibration(_calls(0.95, 2), tolerance=0.05, unit="students", source="s")
    assert off.passed is False and off.figures["ece"] == pytest.approx(0.45)
    only_calls = MulticlassScores(("a", "b", "c"), np.array([0, 1]), np.array([0, 0]))
    assert check_top_label_calibration(only_calls, tolerance=0.05, unit="students", source="s").passed is None


def test_prediction_intervals_are_judged_on_how_often_they_held_the_outcome() -> None:
    # Intervals [9, 11] around 10: the outcomes 10, 10.5, 9 are inside, 12 is not -> 3 of 4 = 0.75.
    scores = RegressionScores(np.array([10.0, 10.5, 9.0, 12.0]), np.full(4, 10.0), np.full(4, 9.0),
                              np.full(4, 11.0))
    near = check_interval_coverage(scores, level=0.8, tolerance=0.1, unit="patients", source="s")
    assert near is not None and near.passed is True and near.figures["coverage"] == pytest.approx(0.75)
    far = check_interval_coverage(scores, level=0.95, tolerance=0.1, unit="patients", source="s")
    assert far is not None and far.passed is False and far.figures["gap"] == pytest.approx(0.2)
    assert check_interval_coverage(RegressionScores(np.array([1.0]), np.array([1.0])), level=0.9, tolerance=0.1,
                                   unit="patients", source="s") is None
