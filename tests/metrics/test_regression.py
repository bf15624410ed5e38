"""Regression metrics: each figure against scikit-learn or a hand-worked set, the cost-minimising adjustment
against brute force over a grid, the exact quantile resampling against a row-by-row bootstrap, and the kinds'
rows of the table against the same figures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, median_absolute_error, r2_score

from storybook.metrics import kinds, regression
from storybook.metrics.binary import wilson_interval
from storybook.metrics.regression import RegressionScores

# Hand-worked: errors (predicted - actual) are 2, -1, 0, 4, -3.
ACTUAL = np.array([10.0, 12.0, 8.0, 6.0, 14.0])
PREDICTED = np.array([12.0, 11.0, 8.0, 10.0, 11.0])
HAND = RegressionScores(ACTUAL, PREDICTED)


def scores_of(n: int, seed: int, *, skew: bool = False) -> RegressionScores:
    rng = np.random.default_rng(seed)
    actual = rng.gamma(2.0, 50.0, size=n) if skew else rng.normal(150.0, 60.0, size=n)
    predicted = actual * 0.8 + 30 + rng.normal(0, 25.0, size=n)
    return RegressionScores(actual, predicted)


def test_hand_worked_figures() -> None:
    assert regression.mean_absolute_error(HAND) == pytest.approx(10 / 5)  # |2|+|-1|+0+|4|+|-3| = 10
    assert regression.root_mean_squared_error(HAND) == pytest.approx(np.sqrt(30 / 5))  # 4+1+0+16+9 = 30
    assert regression.median_absolute_error(HAND) == 2.0  # sorted |e|: 0 1 2 3 4
    assert regression.mean_error(HAND) == pytest.approx(2 / 5)  # 2-1+0+4-3 = 2: forecasts run 0.4 high
    # Mean actual 10; baseline squared misses 0+4+4+16+16 = 40 -> 8 per row; R² = 1 - 6/8 = 0.25.
    r2 = regression.r_squared(HAND)
    assert (r2.baseline_forecast, r2.baseline_mse, r2.model_mse) == (10.0, 8.0, 6.0)
    assert r2.value == pytest.approx(0.25)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_figures_agree_with_scikit_learn(seed: int) -> None:
    scores = scores_of(301 + seed, seed, skew=seed == 2)
    y, p = scores.actual, scores.predicted
    found = regression.figures(scores, rounds=200, seed=seed)
    assert found.mae.value == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert found.rmse.value == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)
    assert found.median_absolute_error.value == pytest.approx(median_absolute_error(y, p), rel=1e-12)
    assert found.mean_error.value == pytest.approx(float(np.mean(p - y)), rel=1e-12)
    assert found.r2.value == pytest.approx(r2_score(y, p), rel=1e-12)
    for estimate in (found.mae, found.rmse, found.median_absolute_error, found.mean_error, found.r2):
        assert estimate.low is not None and estimate.high is not None and estimate.value is not None
        assert estimate.low < estimate.value < estimate.high and estimate.n == scores.n
    assert found.sampled is None


def test_median_of_an_even_set_is_the_average_of_the_middle_two() -> None:
    scores = RegressionScores(np.zeros(4), np.array([1.0, -2.0, 3.0, 10.0]))
    assert regression.median_absolute_error(scores) == 2.5 == median_absolute_error(scores.actual,
                                                                                     scores.predicted)
    found = regression.figures(scores, rounds=500, seed=0)
    assert found.median_absolute_error.low is not None and found.median_absolute_error.high is not None
    # Every resampled median is a middle value (or the average of two) of |e| in {1, 2, 3, 10}.
    assert 1.0 <= found.median_absolute_error.low <= found.median_absolute_error.high <= 10.0


def test_intervals_are_seeded() -> None:
    scores = scores_of(200, 4)
    assert regression.figures(scores, rounds=100, seed=5) == regression.figures(scores, rounds=100, seed=5)
    assert regression.figures(scores, rounds=100, seed=5).mae != regression.figures(scores, rounds=100, seed=6).mae


def test_exact_quantile_resampling_matches_a_row_bootstrap() -> None:
    """The Beta draw of an order statistic's position is the row bootstrap in law: the percentiles of the
    resampled median miss and of the 0.8 quantile behind the adjustment land on the same sorted value (or
    its neighbour) as those of 20,000 row-by-row resamples."""
    scores = scores_of(151, 8, skew=True)
    n = scores.n
    draws = np.random.default_rng(11).integers(0, n, size=(20_000, n))

    def same_place(found: float | None, expected: float, values: np.ndarray) -> bool:
        ordered = np.sort(values)
        return found is not None and abs(int(np.searchsorted(ordered, found)) -
                                         int(np.searchsorted(ordered, expected))) <= 1

    misses = np.abs(scores.errors)
    median = regression.figures(scores, rounds=20_000, seed=1).median_absolute_error
    low, high = np.percentile(np.median(misses[draws], axis=1), [2.5, 97.5])
    assert same_place(median.low, low, misses) and same_place(median.high, high, misses)

    # The adjustment when too low costs 4 per unit and too high 1: the 0.8 quantile of actual - predicted,
    # k = ceil(151 * 0.8) = 121 (never exactly whole here, and every residual is far from 0).
    residuals = -scores.errors
    adjusted = regression.cost_adjustment(scores, over=1.0, under=4.0, rounds=20_000, seed=2).adjustment
    low, high = np.percentile(np.sort(residuals[draws], axis=1)[:, 120], [2.5, 97.5])
    assert low > 0
    assert same_place(adjusted.low, low, residuals) and same_place(adjusted.high, high, residuals)


def test_share_within_and_interval_coverage_are_wilson_shares() -> None:
    within = regression.share_within(HAND, 2.0)  # |e| <= 2: 2, -1, 0 -> 3 of 5
    assert (within.value, within.successes, within.n) == (0.6, 3, 5)
    assert (within.low, within.high) == pytest.approx(wilson_interval(3, 5))
    assert regression.interval_coverage(HAND) is None
    lower = PREDICTED - np.array([3.0, 0.5, 0.0, 1.0, 3.0])
    upper = PREDICTED + np.array([1.0, 0.5, 0.0, 4.0, 1.0])
    # actual inside [lower, upper]? 10 in [9,13] yes; 12 in [10.5,11.5] no; 8 in [8,8] yes (ends count);
    # 6 in [9,14] no; 14 in [8,12] no -> 2 of 5.
    coverage = regression.interval_coverage(RegressionScores(ACTUAL, PREDICTED, lower, upper))
    assert coverage is not None and (coverage.value, coverage.successes, coverage.n) == (0.4, 2, 5)
    assert (coverage.low, coverage.high) == pytest.approx(wilson_interval(2, 5))


def _brute_force(scores: RegressionScores, over: float, under: float) -> tuple[float, float, float]:
    """The lowest average cost over a fine grid holding every candidate, and the smallest and largest
    adjustments on the grid that reach it."""
    residuals = -scores.errors
    grid = np.unique(np.concatenate((residuals, np.linspace(residuals.min() - 1, residuals.max() + 1, 4001),
                                     [0.0])))
    costs = np.array([regression.cost_per_forecast(scores.errors, a, over, under).mean() for a in grid])
    best = costs.min()
    cheapest = grid[np.isclose(costs, best, rtol=1e-12, atol=1e-12)]
    return float(best), float(cheapest.min()), float(cheapest.max())


@pytest.mark.parametrize(("n", "over", "under", "seed"), [
    (7, 40.0, 200.0, 1), (10, 1.0, 1.0, 2), (12, 3.0, 1.0, 3), (5, 0.0, 2.0, 4), (9, 2.0, 0.0, 5),
    (20, 1.0, 4.0, 6), (8, 1.0, 3.0, 7),
])
def test_cost_minimising_adjustment_by_brute_force(n: int, over: float, under: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    actual = rng.integers(0, 30, size=n).astype(float)
    predicted = actual + rng.integers(-8, 9, size=n).astype(float)
    scores = RegressionScores(actual, predicted)
    best = regression.best_adjustment(scores, over, under)
    lowest, first, last = _brute_force(scores, over, under)
    assert regression.cost_per_forecast(scores.errors, best, over, under).mean() == pytest.approx(lowest,
                                                                                                   abs=1e-12)
    # Among equally cheap adjustments, the one closest to 0 (the least change).
    assert best == min(max(0.0, first), last)


def test_cost_adjustment_hand_worked() -> None:
    # Residuals actual - predicted: -2, 1, 0, -4, 3. Too low costs 4 per unit, too high 1: share 4/5 = 0.8,
    # k = ceil(5 * 0.8) = 4, exactly whole, so any amount from the 4th (1) to the 5th (3) smallest residual
    # costs the same; the closest to 0 is 1: "plan for the forecast plus 1".
    found = regression.cost_adjustment(HAND, over=1.0, under=4.0, rounds=300, seed=0)
    assert found.adjustment.value == 1.0 and found.share_under == 0.8
    # Before: too high by 2, 4 (cost 1 each unit) = 6; too low by 1, 3 (cost 4) = 16; 22 / 5 = 4.4 a forecast.
    assert found.cost_before.value == pytest.approx(4.4)
    # After +1: errors 3, 0, 1, 5, -2 -> 3 + 0 + 1 + 5 + 2*4 = 17 -> 3.4 a forecast; saving 1.0.
    assert found.cost_after.value == pytest.approx(3.4)
    assert found.saving.value == pytest.approx(1.0)
    assert found.cases == 5 and found.sampled is None and found.rounds == 300
    for estimate in (found.adjustment, found.cost_before, found.cost_after, found.saving):
        assert estimate.low is not None and estimate.high is not None and estimate.value is not None
        assert estimate.low <= estimate.value <= estimate.high
    low, high = found.adjustment.low, found.adjustment.high
    assert low is not None and high is not None and low >= -4.0 and high <= 3.0  # a residual (or 0)


def test_costs_are_checked() -> None:
    with pytest.raises(ValueError, match="both costs are 0"):
        regression.best_adjustment(HAND, 0.0, 0.0)
    with pytest.raises(ValueError, match="finite numbers of 0 or more"):
        regression.cost_adjustment(HAND, -1.0, 2.0)
    with pytest.raises(ValueError, match="no rows"):
        regression.figures(RegressionScores(np.array([]), np.array([])))


def test_large_sets_resample_averages_on_a_stated_sample() -> None:
    scores = scores_of(300_000, 9)
    found = regression.cost_adjustment(scores, over=1.0, under=2.0, rounds=1000, seed=0)
    assert found.sampled == regression.BOOTSTRAP_WORK // 1000 and found.cases == 300_000
    # The figures come from every row; the sample only widens the averages' intervals.
    assert found.cost_before.value == pytest.approx(
        regression.cost_per_forecast(scores.errors, 0.0, 1.0, 2.0).mean())
    assert found.adjustment.value == pytest.approx(float(np.quantile(-scores.errors, 2 / 3, method="inverted_cdf")))
    # The sample's intervals are centred on the figures of every row, so each figure sits inside its own.
    figures = regression.figures(scores, rounds=1000, seed=0)
    assert figures.sampled == found.sampled
    for estimate in (found.cost_before, found.cost_after, found.saving, figures.mae, figures.rmse,
                     figures.mean_error, figures.r2):
        assert estimate.low is not None and estimate.high is not None and estimate.value is not None
        middle = (estimate.low + estimate.high) / 2
        assert abs(middle - estimate.value) < 0.2 * (estimate.high - estimate.low)


def test_error_frequencies_hand_worked() -> None:
    found = regression.error_frequencies(HAND, 2.0, per=100)  # within 2: 3; too high by more: 4; too low: -3
    assert (found.counted_within, found.counted_too_high, found.counted_too_low) == (3, 1, 1)
    assert (found.within, found.too_high, found.too_low, found.out_of) == (60, 20, 20, 5)
    # Thirds of 100: 33.3 each; the one left over goes to the first (a tie in size and remainder).
    thirds = RegressionScores(np.zeros(3), np.array([0.0, 5.0, -5.0]))
    told = regression.error_frequencies(thirds, 1.0, per=100)
    assert (told.within, told.too_high, told.too_low) == (34, 33, 33)
    # A count of 0 is never rounded up, and the three always add up to per.
    rng = np.random.default_rng(3)
    for _ in range(200):
        errors = rng.integers(-5, 6, size=int(rng.integers(1, 40))).astype(float)
        told = regression.error_frequencies(RegressionScores(np.zeros(errors.size), errors), 2.0, per=1000)
        assert told.within + told.too_high + told.too_low == 1000
        for scaled, counted in ((told.within, told.counted_within), (told.too_high, told.counted_too_high),
                                (told.too_low, told.counted_too_low)):
            assert abs(scaled - counted * 1000 / errors.size) < 1 and (counted > 0 or scaled == 0)


def test_default_tolerance_is_the_median_miss_rounded() -> None:
    assert regression.default_tolerance(HAND) == 2.0
    assert regression.default_tolerance(RegressionScores(np.zeros(3), np.array([43.71, 40.0, 50.0]))) == 44.0
    assert regression.default_tolerance(RegressionScores(np.zeros(3), np.array([0.0, 0.0, 1.0]))) is None


def test_the_kinds_rows_measure_these_figures() -> None:
    scores = scores_of(250, 12)
    y, p = scores.actual, scores.predicted
    expected = {"mae": mean_absolute_error(y, p), "rmse": np.sqrt(mean_squared_error(y, p)),
                "median_absolute_error": median_absolute_error(y, p), "mean_error": float(np.mean(p - y)),
                "r2": r2_score(y, p)}
    assert kinds.kinds_of("regression") == (*expected, "interval_coverage", "other")
    for name, value in expected.items():
        info = kinds.kind_info(name)
        assert info is not None and info.task == "regression" and info.interval == "bootstrap"
        estimate = info.measure_set(scores)
        assert estimate.value == pytest.approx(value, rel=1e-12) and estimate.low is not None
        assert not kinds.kind_allowed(name, "binary") and name not in kinds.INTERVAL_KINDS
    coverage = kinds.kind_info("interval_coverage")
    assert coverage is not None and not coverage.proportion  # not one of the binary shares of a confusion table
    assert coverage.measure_set(scores).value is None  # no interval logged: nothing to tell
    covered = RegressionScores(y, p, p - 50, p + 50)
    assert coverage.measure_set(covered).value == pytest.approx(float(np.mean(np.abs(p - y) <= 50)))


def test_no_rounds_no_ranges() -> None:
    found = regression.cost_adjustment(HAND, over=1.0, under=4.0, rounds=0)
    assert found.adjustment.value == 1.0 and found.cost_before.value == pytest.approx(4.4)
    for estimate in (found.adjustment, found.cost_before, found.cost_after, found.saving):
        assert estimate.low is None and estimate.high is None
    with pytest.raises(ValueError, match="0 or more"):
        regression.cost_adjustment(HAND, over=1.0, under=4.0, rounds=-1)


def test_group_averages_resample_small_groups_and_use_the_normal_range_for_large_ones() -> None:
    small = scores_of(500, 21)  # 500 x 1,000 rounds: within GROUP_BOOTSTRAP_WORK, resampled
    mae, lean = regression.group_averages(small)
    whole = regression.figures(small)
    assert mae.value == pytest.approx(mean_absolute_error(small.actual, small.predicted))
    assert lean.value == pytest.approx(float(np.mean(small.errors)))
    assert (mae.low, mae.high) == pytest.approx((whole.mae.low, whole.mae.high), rel=1e-12)  # same resampling
    large = scores_of(5000, 22)  # past the bound: mean +- 1.96 sd / sqrt(n)
    mae, lean = regression.group_averages(large)
    misses = np.abs(large.errors)
    half = 1.959963984540054 * float(np.std(misses, ddof=1)) / np.sqrt(5000)
    assert mae.low == pytest.approx(float(misses.mean()) - half) and mae.high == pytest.approx(misses.mean() + half)
    # ... which a row bootstrap of the same group agrees with.
    draws = np.random.default_rng(5).integers(0, 5000, size=(2000, 5000))
    low, high = np.percentile(misses[draws].mean(axis=1), [2.5, 97.5])
    assert mae.low == pytest.approx(low, rel=2e-3) and mae.high == pytest.approx(high, rel=2e-3)
    assert lean.low is not None and lean.high is not None and lean.low < float(np.mean(large.errors)) < lean.high
