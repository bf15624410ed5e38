"""Regression metrics on plain arrays: how far forecasts land from what happened, with intervals.

A leaf: no story, no words, no I/O. An *error* is ``predicted - actual``: positive when the forecast was too
high, negative when it was too low.

Intervals are 95% percentile intervals from resampling the rows with replacement (seeded, so the same inputs
and seed give the same interval). The work stays bounded whatever the size of the data:

- **Quantiles** (the median miss, the cost-minimising adjustment) are resampled exactly on every row: the k-th
  smallest of n rows drawn with replacement from the sorted values is the value at position ``ceil(n * U)``,
  where ``U`` is the k-th smallest of n uniform numbers, which follows a Beta(k, n - k + 1) law. So a round
  costs one Beta draw, not n row draws.
- **Averages** (average miss, bias, R², expected costs) are resampled row by row on at most
  ``BOOTSTRAP_SAMPLE`` rows and ``BOOTSTRAP_WORK`` rows drawn over all rounds; past that, on a seeded random
  sample of rows, and the result says so (``sampled``): such intervals are those of the smaller set, so wider,
  never narrower, centred on the figure of every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from storybook.metrics.binary import Estimate, proportion

__all__ = [
    "BOOTSTRAP_SAMPLE",
    "BOOTSTRAP_WORK",
    "GROUP_BOOTSTRAP_WORK",
    "CostAdjustment",
    "ErrorFrequencies",
    "RSquared",
    "RegressionFigures",
    "RegressionScores",
    "best_adjustment",
    "cost_adjustment",
    "cost_per_forecast",
    "default_tolerance",
    "error_frequencies",
    "figures",
    "group_averages",
    "interval_coverage",
    "mean_absolute_error",
    "mean_error",
    "median_absolute_error",
    "r_squared",
    "root_mean_squared_error",
    "share_within",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Bounds on the row-by-row resampling of averages (the same bounds as the binary cost bootstrap).
BOOTSTRAP_SAMPLE = 200_000
BOOTSTRAP_WORK = 100_000_000
_CHUNK = 1_000_000  # rows drawn at once (rounds x rows), to bound memory


@dataclass(frozen=True, eq=False)
class RegressionScores:
    """One version's forecasts on its evaluation set: what happened, what was forecast, and (when logged) the
    prediction interval's lower and upper ends. All arrays have one entry per row, finite numbers only."""

    actual: Floats
    predicted: Floats
    lower: Floats | None = None
    upper: Floats | None = None

    @property
    def n(self) -> int:
        return int(self.actual.size)

    @property
    def errors(self) -> Floats:
        """predicted - actual: positive when the forecast was too high."""
        return self.predicted - self.actual


# --- the figures on the whole set ---------------------------------------------------------------------------

def _nonempty(scores: RegressionScores) -> Floats:
    if scores.n == 0:
        raise ValueError("no rows: an empty evaluation set has no errors to measure")
    return scores.errors


def mean_absolute_error(scores: RegressionScores) -> float:
    """The average size of a miss, whichever way (scikit-learn's ``mean_absolute_error``)."""
    return float(np.mean(np.abs(_nonempty(scores))))


def root_mean_squared_error(scores: RegressionScores) -> float:
    """The square root of the average squared miss (large misses weigh more)."""
    return float(np.sqrt(np.mean(np.square(_nonempty(scores)))))


def median_absolute_error(scores: RegressionScores) -> float:
    """Half of the forecasts miss by at most this much (scikit-learn's ``median_absolute_error``)."""
    return float(np.median(np.abs(_nonempty(scores))))


def mean_error(scores: RegressionScores) -> float:
    """The average of predicted - actual: above 0 when forecasts run high (bias)."""
    return float(np.mean(_nonempty(scores)))


@dataclass(frozen=True)
class RSquared:
    """R² and the baseline it is measured against: always forecasting the average of what happened.

    ``value`` = 1 - ``model_mse`` / ``baseline_mse``: 1 is perfect, 0 is no better than the baseline, below 0
    is worse than it. None when every actual value is the same (the baseline makes no error: nothing to
    explain)."""

    value: float | None
    model_mse: float
    baseline_mse: float
    baseline_forecast: float  # the average of what happened: the baseline's one forecast


def r_squared(scores: RegressionScores) -> RSquared:
    errors = _nonempty(scores)
    mean = float(np.mean(scores.actual))
    model = float(np.mean(np.square(errors)))
    baseline = float(np.mean(np.square(scores.actual - mean)))
    return RSquared(None if baseline == 0 else 1.0 - model / baseline, model, baseline, mean)


def share_within(scores: RegressionScores, tolerance: float) -> Estimate:
    """The share of forecasts that miss by at most ``tolerance``, with its Wilson interval."""
    if not tolerance >= 0:
        raise ValueError(f"a tolerance is 0 or more, not {tolerance!r}")
    errors = _nonempty(scores)
    return proportion(int(np.count_nonzero(np.abs(errors) <= tolerance)), scores.n)


def interval_coverage(scores: RegressionScores) -> Estimate | None:
    """The share of rows whose actual value falls inside the logged prediction interval (ends included), with
    its Wilson interval; None when no interval was logged."""
    if scores.lower is None or scores.upper is None:
        return None
    _nonempty(scores)
    inside = (scores.lower <= scores.actual) & (scores.actual <= scores.upper)
    return proportion(int(np.count_nonzero(inside)), scores.n)


def default_tolerance(scores: RegressionScores) -> float | None:
    """The median miss rounded to two significant digits: "within 10 points" for natural frequencies when the
    story states no tolerance. None when at least half of the forecasts are exact (no tolerance to suggest)."""
    median = median_absolute_error(scores)
    if median <= 0:
        return None
    digits = 1 - math.floor(math.log10(median))
    return float(round(median, digits))


# --- resampling ---------------------------------------------------------------------------------------------

def _percentile(value: float | None, samples: Floats, confidence: float, n: int) -> Estimate:
    tail = (1 - confidence) / 2 * 100
    finite = samples[np.isfinite(samples)]
    if value is None or finite.size == 0:
        return Estimate(value, None, None, n)
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n)


def _order_positions(n: int, k: int, rounds: int, rng: np.random.Generator) -> tuple[Ints, Ints]:
    """Per round, the 0-based sorted positions of the k-th and (k+1)-th smallest of n rows drawn with
    replacement (exact in law; see the module's docstring). With k == n the second is the first."""
    first = rng.beta(k, n - k + 1, size=rounds)
    second = first if k >= n else first + (1.0 - first) * rng.beta(1, n - k, size=rounds)
    return _position(first, n), _position(second, n)


def _position(uniform: Floats, n: int) -> Ints:
    return np.clip(np.ceil(uniform * n).astype(np.int64), 1, n) - 1


def _resampled_means(columns: list[Floats], rounds: int, seed: int) -> tuple[Floats, int | None]:
    """Per round (rows of the result), the averages of ``columns`` (one array per column, one entry per row)
    over one resample of the rows; and the size of the random sample resampled when there are too many rows to
    resample whole (else None).

    A sample's resampled averages are moved by the gap between the whole set's averages and the sample's, so
    that its intervals (the width of the smaller set) are centred where the figures of every row are: a figure
    never falls outside its own interval because the sample happened to differ from the whole."""
    n = columns[0].size
    rows = min(BOOTSTRAP_SAMPLE, max(BOOTSTRAP_WORK // rounds, 1))
    sampled = None
    pick = None
    if n > rows:  # picked before the columns are stacked: a large set is never copied whole
        pick = np.sort(np.random.default_rng([seed, 1]).choice(n, size=rows, replace=False))
        n, sampled = rows, rows
    table = np.column_stack([column if pick is None else column[pick] for column in columns])
    shift = np.zeros(len(columns))
    if pick is not None:
        shift = np.array([float(column.mean()) for column in columns]) - table.mean(axis=0)
    rng = np.random.default_rng([seed, 2])
    means = np.empty((rounds, len(columns)))
    chunk = max(1, _CHUNK // n)
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        # Row positions drawn for `size` rounds at once, offset per round so that one bincount counts how
        # often each row was drawn in each round; the averages are then one matrix product for every column.
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        means[start:start + size] = counts @ table / n
    return means + shift, sampled


def _check_resampling(rounds: int, confidence: float) -> None:
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")


@dataclass(frozen=True)
class RegressionFigures:
    """The headline figures on the whole set, each with its percentile interval (see the module docstring).

    ``r2`` is None-valued when every actual value is the same; ``r2_baseline`` says what R² is measured against.
    ``sampled``: the size of the random sample the averages' intervals come from, or None (every row)."""

    mae: Estimate
    rmse: Estimate
    median_absolute_error: Estimate
    mean_error: Estimate
    r2: Estimate
    r2_baseline: RSquared
    rounds: int
    seed: int
    confidence: float
    sampled: int | None


@lru_cache(maxsize=2)  # the scores are compared by identity: each metric kind of one set reuses one resampling
def figures(scores: RegressionScores, *, rounds: int = 1000, seed: int = 0,
            confidence: float = 0.95) -> RegressionFigures:
    """MAE, RMSE, median absolute error, mean error and R² with their intervals."""
    _check_resampling(rounds, confidence)
    errors = _nonempty(scores)
    n = scores.n
    actual = scores.actual
    columns = [np.abs(errors), np.square(errors), errors, actual, np.square(actual)]
    means, sampled = _resampled_means(columns, rounds, seed)
    mae, mse, bias, mean_actual, mean_square = means.T
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = mean_square - np.square(mean_actual)  # the baseline's mean squared error on the resample
        r2_rounds = np.where(spread > 0, 1.0 - mse / spread, np.nan)
    baseline = r_squared(scores)

    ordered = np.sort(np.abs(errors))
    rng = np.random.default_rng([seed, 3])
    low, high = _order_positions(n, (n + 1) // 2, rounds, rng)
    # np.median: the middle value, or the average of the two middle values when n is even.
    medians = ordered[low] if n % 2 else (ordered[low] + ordered[high]) / 2
    return RegressionFigures(
        mae=_percentile(mean_absolute_error(scores), mae, confidence, n),
        rmse=_percentile(root_mean_squared_error(scores), np.sqrt(mse), confidence, n),
        median_absolute_error=_percentile(median_absolute_error(scores), medians, confidence, n),
        mean_error=_percentile(mean_error(scores), bias, confidence, n),
        r2=_percentile(baseline.value, r2_rounds, confidence, n),
        r2_baseline=baseline, rounds=rounds, seed=seed, confidence=confidence, sampled=sampled,
    )


GROUP_BOOTSTRAP_WORK = 2_000_000  # rows drawn over all rounds for one group's averages; past that, a normal range


def group_averages(scores: RegressionScores, *, rounds: int = 1000, seed: int = 0,
                   confidence: float = 0.95) -> tuple[Estimate, Estimate]:
    """A group's average miss (MAE) and average lean (mean error) with their intervals, cheaply enough for
    many groups: resampled row by row (percentile intervals) while ``n * rounds`` is at most
    ``GROUP_BOOTSTRAP_WORK``; for a larger group, the normal range mean ± z * sd / sqrt(n), which the
    bootstrap of an average matches closely at that size."""
    _check_resampling(rounds, confidence)
    errors = _nonempty(scores)
    n = scores.n
    misses = np.abs(errors)
    if n * rounds <= GROUP_BOOTSTRAP_WORK:
        means, _ = _resampled_means([misses, errors], rounds, seed)
        return (_percentile(float(misses.mean()), means[:, 0], confidence, n),
                _percentile(float(errors.mean()), means[:, 1], confidence, n))
    z = float(NormalDist().inv_cdf(0.5 + confidence / 2))

    def normal(values: Floats) -> Estimate:
        mean, half = float(values.mean()), z * float(values.std(ddof=1)) / math.sqrt(n)
        return Estimate(mean, mean - half, mean + half, n)

    return normal(misses), normal(errors)


# --- the cost of error --------------------------------------------------------------------------------------

def _share_under(over: float, under: float) -> Fraction:
    """under / (under + over), exactly: the share of outcomes a cost-minimising forecast leaves at or below."""
    if not (over >= 0 and under >= 0 and math.isfinite(over) and math.isfinite(under)):
        raise ValueError(f"costs are finite numbers of 0 or more, not over={over!r}, under={under!r}")
    if over == 0 and under == 0:
        raise ValueError("both costs are 0: no forecast costs anything, so there is nothing to minimise")
    return Fraction(under) / (Fraction(under) + Fraction(over))


def cost_per_forecast(errors: npt.ArrayLike, adjustment: float, over: float, under: float) -> Floats:
    """The cost of each forecast moved by ``adjustment``: ``over`` per unit too high, ``under`` per unit too
    low (``errors`` are predicted - actual)."""
    moved = np.asarray(errors, dtype=np.float64) + adjustment
    return over * np.maximum(moved, 0.0) + under * np.maximum(-moved, 0.0)


def _rank(n: int, share: Fraction) -> int:
    """k = ceil(n * share), at least 1: the rank (from 1) of the cost-minimising order statistic."""
    return max(1, math.ceil(n * share))


def _closest_to_zero(low: float, high: float) -> float:
    return min(max(0.0, low), high)


def _best(ordered: Floats, k: int, tied: bool) -> float:
    """The adjustment from the sorted misses-to-add (actual - predicted): the k-th smallest; when n * share
    is whole, every value up to the (k+1)-th costs the same, and the one closest to 0 (the least change) is
    chosen."""
    low = float(ordered[k - 1])
    high = float(ordered[k]) if tied and k < ordered.size else low
    return _closest_to_zero(low, high)


def best_adjustment(scores: RegressionScores, over: float, under: float) -> float:
    """The amount to add to every forecast that minimises the average cost when each unit too high costs
    ``over`` and each unit too low costs ``under``: the ``under / (under + over)`` quantile of actual -
    predicted (among equally cheap amounts, the one closest to 0)."""
    share = _share_under(over, under)
    ordered = np.sort(-_nonempty(scores))
    n = scores.n
    k = _rank(n, share)
    return _best(ordered, k, n * share == k)


@dataclass(frozen=True)
class CostAdjustment:
    """What to add to each forecast so that the expected cost is lowest, and the cost before and after.

    ``adjustment``: add this to every forecast (negative: take it off); its interval is resampled exactly on
    every row. ``cost_before`` / ``cost_after``: the average cost per forecast as logged and with the
    adjustment; ``saving``: before - after on the same resamples (paired). These three are averages: their
    intervals come from ``sampled`` rows when that is not None. ``share_under``: the share of outcomes the
    adjusted forecast leaves at or below it, under / (under + over)."""

    over: float
    under: float
    share_under: float
    adjustment: Estimate
    cost_before: Estimate
    cost_after: Estimate
    saving: Estimate
    rounds: int
    seed: int
    confidence: float
    cases: int
    sampled: int | None


def cost_adjustment(scores: RegressionScores, over: float, under: float, *, rounds: int = 1000, seed: int = 0,
                    confidence: float = 0.95) -> CostAdjustment:
    """The cost-minimising adjustment with its interval, and the expected cost per forecast before and after.

    In each resample the adjustment is chosen again (the interval shows how much the choice itself moves);
    the costs before and after are of the whole set's adjustment, so the saving is that of the rule a reader
    would adopt. With ``rounds=0`` nothing is resampled and no figure has an interval."""
    _check_resampling(max(rounds, 1), confidence)
    if rounds < 0:
        raise ValueError(f"rounds must be 0 or more, not {rounds!r}")
    share = _share_under(over, under)
    errors = _nonempty(scores)
    n = scores.n
    ordered = np.sort(-errors)
    k = _rank(n, share)
    tied = n * share == k
    best = _best(ordered, k, tied)

    before = cost_per_forecast(errors, 0.0, over, under)
    after = cost_per_forecast(errors, best, over, under)
    mean_before, mean_before_minus_after = float(np.mean(before)), float(np.mean(before - after))
    if rounds == 0:
        def bare(value: float) -> Estimate:
            return Estimate(value, None, None, n)
        return CostAdjustment(over=over, under=under, share_under=float(share), adjustment=bare(best),
                              cost_before=bare(mean_before), cost_after=bare(float(np.mean(after))),
                              saving=bare(mean_before_minus_after), rounds=0, seed=seed, confidence=confidence,
                              cases=n, sampled=None)

    first, second = _order_positions(n, k, rounds, np.random.default_rng([seed, 3]))
    chosen = np.clip(0.0, ordered[first], ordered[second] if tied else ordered[first])
    means, sampled = _resampled_means([before, before - after], rounds, seed)
    return CostAdjustment(
        over=over, under=under, share_under=float(share),
        adjustment=_percentile(best, chosen, confidence, n),
        cost_before=_percentile(mean_before, means[:, 0], confidence, n),
        cost_after=_percentile(float(np.mean(after)), means[:, 0] - means[:, 1], confidence, n),
        saving=_percentile(mean_before_minus_after, means[:, 1], confidence, n),
        rounds=rounds, seed=seed, confidence=confidence, cases=n, sampled=sampled,
    )


# --- natural frequencies ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorFrequencies:
    """Forecasts told as "out of ``per``": within the tolerance, too high by more, too low by more.

    The three scaled counts add up to exactly ``per`` (largest remainder; a tie goes to the larger count, then
    in the order within, too high, too low; a count that scales exactly, or is 0, is never moved). The
    ``counted_`` fields are the rows behind them, out of ``out_of``."""

    tolerance: float
    per: int
    out_of: int
    within: int
    too_high: int
    too_low: int
    counted_within: int
    counted_too_high: int
    counted_too_low: int


def _scale(counts: tuple[int, ...], total: int, per: int) -> tuple[int, ...]:
    wholes = [count * per // total for count in counts]
    remainders = [count * per % total for count in counts]
    short = per - sum(wholes)
    order = sorted(range(len(counts)), key=lambda i: (-remainders[i], -counts[i], i))
    for i in order[:short]:
        wholes[i] += 1
    return tuple(wholes)


def error_frequencies(scores: RegressionScores, tolerance: float, per: int = 100) -> ErrorFrequencies:
    """Out of ``per`` forecasts: how many miss by at most ``tolerance``, how many are too high by more, how
    many too low by more."""
    if not tolerance >= 0 or not math.isfinite(tolerance):
        raise ValueError(f"a tolerance is a finite number of 0 or more, not {tolerance!r}")
    if per < 1:
        raise ValueError(f"per is at least 1, not {per!r}")
    errors = _nonempty(scores)
    high = int(np.count_nonzero(errors > tolerance))
    low = int(np.count_nonzero(errors < -tolerance))
    counts = (scores.n - high - low, high, low)
    within, too_high, too_low = _scale(counts, scores.n, per)
    return ErrorFrequencies(tolerance, per, scores.n, within, too_high, too_low, *counts)
