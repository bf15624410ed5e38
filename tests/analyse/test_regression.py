"""A regression story's performance (analyse/regression.py) and the wording of amounts (analyse/plain.py), on
hand-worked sets. Its cost of error is tested in test_regression_cost.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storybook.analyse import plain
from storybook.analyse.regression import MAX_POINTS, analyse_regression
from storybook.metrics.binary import Estimate
from storybook.metrics.regression import RegressionScores
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import SliceSpec

WORDS = plain.Vocabulary(unit="patients", amount_unit="points")
RULES = plain.WordingRules(min_count=3)


def test_amounts_are_worded_by_their_range() -> None:
    assert plain.amount_phrase(Estimate(44.31, 40.2, 48.9, 50), "points") == "between 40.2 and 48.9 points"
    assert plain.amount_phrase(Estimate(44.31, 43.0, 45.0, 50), "points") == "about 44.3 points"  # 2 <= 4.5
    assert plain.amount_phrase(Estimate(44.31, None, None, 50), "points") == "44.3 points"
    assert plain.amount_phrase(Estimate(44.0, 40.0, 48.0, 5), "points") == plain.TOO_FEW  # under min_count 10
    assert plain.lean_phrase(Estimate(4.9, 2.1, 7.7, 50), "points") == "between 2.1 and 7.7 points high"
    assert plain.lean_phrase(Estimate(-4.9, -7.7, -2.1, 50), "points") == "between 2.1 and 7.7 points low"
    assert plain.lean_phrase(Estimate(1.2, -4.2, 2.1, 50), "points") == "between 4.2 points low and 2.1 points high"
    assert [plain.amount_number(x) for x in (44.0, 0.0123, 1234.5, 100.0, -0.0)] == ["44", "0.0123", "1,234",
                                                                                      "100", "0"]


def test_regression_kinds_are_never_told_as_shares() -> None:
    mae = plain.metric_sentence("mae", 44.31, Estimate(44.31, 40.2, 48.9, 111), WORDS)
    assert mae == ("On average, the forecasts miss by between 40.2 and 48.9 points, whichever way (measured on 111 "
                   "patients).")
    assert "in 100" not in mae
    worse = plain.metric_sentence("r2", -0.3, Estimate(-0.3, -0.5, -0.1, 111), WORDS)
    assert worse.startswith("The forecasts do worse than always forecasting the average")
    unclear = plain.metric_sentence("r2", 0.05, Estimate(0.05, -0.1, 0.2, 111), WORDS)
    assert unclear.startswith("The forecasts are not clearly better than always forecasting the average")
    better = plain.metric_sentence("r2", 0.45, Estimate(0.45, 0.33, 0.55, 111), WORDS)
    assert "cut the squared misses by between 33 and 55 in 100 (R² 0.45, 95% range 0.33 to 0.55" in better
    even = plain.metric_sentence("r2", 0.5209, Estimate(0.5209, 0.4028, 0.6127, 133), WORDS)
    assert "(R² 0.52, 95% range 0.40 to 0.61; measured on 133 patients)" in even  # never "0.4 to 0.61"
    assert plain.metric_sentence("mean_error", 3.0, None, WORDS) == "On average the forecasts run 3 points high."


def _set(actual: list[float], predicted: list[float], *, lower: list[float] | None = None,
         upper: list[float] | None = None, level: float | None = None, **columns: list[str]) -> RegressionSet:
    def floats(values: list[float] | None) -> np.ndarray | None:
        return None if values is None else np.asarray(values, dtype=np.float64)

    scores = RegressionScores(np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64),
                              floats(lower), floats(upper))
    return RegressionSet(scores=scores, frame=pd.DataFrame({"actual": actual, "prediction": predicted, **columns}),
                         interval_level=level)


def test_performance_hand_worked() -> None:
    # Errors (forecast - actual): 2, -1, 0, 4, -3, 2 -> 3 too high, 2 too low, 1 exact.
    scored = _set([10, 12, 8, 6, 14, 9], [12, 11, 8, 10, 11, 11], lower=[9, 10, 8, 9, 8, 10],
                  upper=[13, 11, 8, 11, 12, 12], level=0.9, ward=["a", "a", "a", "b", "b", "b"])
    found = analyse_regression(scored, [SliceSpec(column="ward", label="Ward")], WORDS, RULES,
                               target_means="beds needed", min_slice_size=4)
    assert found.histogram.too_high == 3 and found.histogram.too_low == 2 and found.histogram.exact == 1
    assert sum(found.histogram.counts) == 6
    assert found.points == ((12.0, 2.0), (11.0, -1.0), (8.0, 0.0), (10.0, 4.0), (11.0, -3.0), (11.0, 2.0))
    assert not found.points_sampled
    # Inside [lower, upper]: 10 in [9,13], 12 not in [10,11], 8 in [8,8], 6 not in [9,11], 14 not in [8,12],
    # 9 not in [10,12] -> 2 of 6.
    assert found.coverage is not None and (found.coverage.successes, found.coverage.n) == (2, 6)
    assert found.coverage_sentence is not None and "less often than stated, so the ranges are too narrow" in \
        found.coverage_sentence
    # Mean of actual 59/6; the baseline's squared misses are told with the model's.
    assert "always forecasting the average of what happened, 9.83 points" in found.baseline_sentence
    ward_a, ward_b = found.slices[0].groups
    assert (ward_a.value, ward_a.n, ward_b.value, ward_b.n) == ("a", 3, "b", 3)
    assert ward_a.mae.value == pytest.approx(1.0) and ward_b.mae.value == pytest.approx(3.0)  # |2|,|-1|,0; 4,3,2
    assert ward_a.small and ward_b.small  # 3 rows, under min_slice_size 4
    assert ward_b.mean_error.value == pytest.approx(1.0)  # (4 - 3 + 2) / 3
    assert ward_a.sentence.startswith("a (3 patients): the forecasts miss by ")


def test_coverage_as_stated_and_too_wide() -> None:
    actual = list(np.linspace(0, 99, 100))
    predicted = [a + (1 if i % 2 else -1) for i, a in enumerate(actual)]
    wide = analyse_regression(_set(actual, predicted, lower=[p - 5 for p in predicted],
                                   upper=[p + 5 for p in predicted], level=0.5), [], WORDS, RULES,
                              target_means="x", min_slice_size=1)
    assert wide.coverage_sentence is not None and "more often than stated" in wide.coverage_sentence
    held = [p - 5 if i % 2 else p + 1.5 for i, p in enumerate(predicted)]  # half the ranges miss the actual
    half = analyse_regression(_set(actual, predicted, lower=held, upper=[p + 5 for p in predicted], level=0.5),
                              [], WORDS, RULES, target_means="x", min_slice_size=1)
    assert half.coverage is not None and half.coverage.value == 0.5
    assert half.coverage_sentence is not None and half.coverage_sentence.endswith("as often as stated, within chance.")


def test_the_residuals_chart_draws_a_seeded_sample_of_large_sets() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(100, 10, size=MAX_POINTS + 500)
    found = analyse_regression(_set(list(actual), list(actual + rng.normal(0, 3, size=actual.size))), [], WORDS,
                               RULES, target_means="x", min_slice_size=1)
    assert len(found.points) == MAX_POINTS and found.points_sampled


def test_a_few_huge_misses_do_not_squeeze_the_histogram() -> None:
    """A unit bug: five forecasts a million points off among 2,000 ordinary ones. The bars span the middle 99%
    of the errors, and the misses left out are counted."""
    rng = np.random.default_rng(2)
    actual = rng.normal(150, 50, size=2005)
    predicted = actual + np.concatenate((rng.normal(0, 10, size=2000), np.full(5, 1e6)))
    found = analyse_regression(_set(list(actual), list(predicted)), [], WORDS, RULES, target_means="x",
                               min_slice_size=1)
    histogram = found.histogram
    assert len(histogram.counts) <= 40 and histogram.edges[-1] < 100 and histogram.edges[0] > -100
    assert sum(histogram.counts) + histogram.beyond == 2005 and histogram.beyond >= 5
    assert histogram.too_high + histogram.too_low + histogram.exact == 2005


def test_too_few_cases_for_the_coverage_of_the_ranges() -> None:
    scored = _set([10, 12, 8], [12, 11, 8], lower=[9, 10, 8], upper=[13, 11, 8], level=0.9)
    found = analyse_regression(scored, [], WORDS, plain.WordingRules(min_count=10), target_means="x",
                               min_slice_size=1)
    assert found.coverage_sentence == ("Too few cases to say how often the forecasts' ranges hold what happens: only "
                                       "3 patients were in the evaluation, and at least 10 are needed.")


def test_a_regression_figure_measured_elsewhere_or_on_too_few_cases() -> None:
    told = plain.metric_sentence("mae", 12.0, None, WORDS, measured_on="training")
    assert told == ("On the training data (the patients the model learnt from), on average, the forecasts miss by 12 "
                    "points, whichever way. This is not a test on new patients: expect it to do less well on them.")
    few = plain.metric_sentence("mae", 12.0, Estimate(12.0, 8.0, 16.0, 4), WORDS)
    assert few == ("Too few cases to say: only 4 patients were in the evaluation, and at least 10 are needed.")
