"""The statistics behind the trust checks, with no words: calibration bands, the Population Stability Index,
and one change in a series' level found by a permutation test (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import brier_score
from storybook.analyse.trust_checks.evidence import EPS
from storybook.analyse.trust_checks.words import number
from storybook.resolve.scored import ScoredSet

Floats = npt.NDArray[np.float64]

MISSING = "(missing)"
# Population Stability Index: below 0.1 no real shift, 0.1 to 0.25 a moderate shift, 0.25 and above a major
# one (the rule of thumb from credit scoring, e.g. Siddiqi, "Credit Risk Scorecards", 2006).
MODERATE_SHIFT = 0.1
MAJOR_SHIFT = 0.25
# A bin share of 0 would make the PSI infinite; it is replaced by this floor (a common convention).
_PSI_FLOOR = 1e-4


def finite_floats(values: Sequence[float] | npt.ArrayLike, what: str) -> Floats:
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite numbers (found NaN or infinity)")
    return array


@dataclass(frozen=True)
class CalibrationBin:
    """One band of predicted chance: ``low`` < score ≤ ``high`` (the first band also holds 0)."""

    low: float
    high: float
    n: int
    mean_score: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class ReliabilityCurve:
    """Predicted chance against what happened, per band; ``ece`` is the expected calibration error."""

    bins: tuple[CalibrationBin, ...]
    n: int
    brier: float | None
    ece: float | None


def counted_reliability_curve(labels: npt.ArrayLike, counts: npt.ArrayLike, score_sums: npt.ArrayLike,
                              square_sums: npt.ArrayLike, lowest: npt.ArrayLike, highest: npt.ArrayLike,
                              bins: int = 10) -> ReliabilityCurve | None:
    """:func:`reliability_curve` of a counted set (an aggregate's cells: label, cases, sum of scores and of
    squared scores, lowest and highest score), equal to the row-level curve: each band's mean score from the sums,
    the Brier score from the squared sums. None when a cell's cases fall in two bands (a cell from exactly a
    band's edge to above it: the row-level curve puts its edge cases in the lower band)."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins!r}")
    truth = np.asarray(labels, dtype=bool).ravel()
    n_cell = np.asarray(counts, dtype=np.float64)
    sums, squares = np.asarray(score_sums, dtype=np.float64), np.asarray(square_sums, dtype=np.float64)
    inner = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    ids = np.searchsorted(inner, np.asarray(lowest, dtype=np.float64))
    if not np.array_equal(ids, np.searchsorted(inner, np.asarray(highest, dtype=np.float64))):
        return None
    edges = np.linspace(0.0, 1.0, bins + 1)
    cases = np.bincount(ids, weights=n_cell, minlength=bins)
    band_sums = np.bincount(ids, weights=sums, minlength=bins)
    true_sums = np.bincount(ids, weights=n_cell * truth, minlength=bins)
    n = int(np.asarray(counts, dtype=np.int64).sum())
    rows = []
    ece = 0.0
    for i in range(bins):
        n_i = int(np.rint(cases[i]))
        mean = None if n_i == 0 else float(band_sums[i] / n_i)
        observed = None if n_i == 0 else float(true_sums[i] / n_i)
        if mean is not None and observed is not None:
            ece += n_i / n * abs(observed - mean)
        rows.append(CalibrationBin(float(edges[i]), float(edges[i + 1]), n_i, mean, observed))
    # mean of (score - y)^2 = (sum of score^2 - 2 * sum of the positives' scores + positives) / n
    brier = float(squares.sum() - 2 * sums[truth].sum() + n_cell[truth].sum()) / n if n else None
    return ReliabilityCurve(tuple(rows), n, brier, ece if n else None)


def counted_curve(scored: ScoredSet) -> ReliabilityCurve | None:
    """The reliability curve of a set told from an aggregate, from its cells' sums (None when it is not counted,
    or cannot equal the row-level curve: see :func:`counted_reliability_curve`)."""
    needed = ("score_sum", "score_sq_sum", "score_min", "score_max")
    if scored.weights is None or any(column not in scored.frame.columns for column in needed):
        return None
    sums, squares, lowest, highest = (scored.frame[c].to_numpy() for c in needed)
    return counted_reliability_curve(scored.labels, scored.weights, sums, squares, lowest, highest)


def reliability_curve(labels: npt.ArrayLike, scores: npt.ArrayLike, bins: int = 10) -> ReliabilityCurve:
    """Equal-width bands of predicted chance over [0, 1], as scikit-learn's ``calibration_curve`` with
    ``strategy="uniform"`` (a score on an inner edge belongs to the lower band). Empty bands keep n = 0.

    Expected calibration error = sum over bands of (cases in band / all cases) x |observed rate - mean score|.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins!r}")
    truth = np.asarray(labels, dtype=bool).ravel()
    values = finite_floats(scores, "scores")
    if truth.size != values.size:
        raise ValueError(f"labels and scores differ in length ({truth.size} and {values.size})")
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("scores must be predicted chances between 0 and 1")
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], values)
    counts = np.bincount(ids, minlength=bins)
    score_sums = np.bincount(ids, weights=values, minlength=bins)
    true_sums = np.bincount(ids, weights=truth.astype(np.float64), minlength=bins)
    rows = []
    ece = 0.0
    for i in range(bins):
        n_i = int(counts[i])
        mean = None if n_i == 0 else float(score_sums[i] / n_i)
        observed = None if n_i == 0 else float(true_sums[i] / n_i)
        if mean is not None and observed is not None:
            ece += n_i / values.size * abs(observed - mean)
        rows.append(CalibrationBin(float(edges[i]), float(edges[i + 1]), n_i, mean, observed))
    n = int(values.size)
    return ReliabilityCurve(tuple(rows), n, brier_score(truth, values), ece if n else None)


@dataclass(frozen=True)
class FeatureShift:
    """Population Stability Index of one feature, with the bins it was computed over.

    ``expected`` and ``actual`` are the shares of training rows and production rows per bin (before the
    zero floor). ``labels`` name the bins: "≤ 5.5", "> 5.5", a category, "(other)" or "(missing)".
    """

    feature: str
    psi: float
    labels: tuple[str, ...]
    expected: tuple[float, ...]
    actual: tuple[float, ...]

    @property
    def size(self) -> Literal["none", "moderate", "major"]:
        if self.psi >= MAJOR_SHIFT:
            return "major"
        return "moderate" if self.psi >= MODERATE_SHIFT else "none"


def psi(training: pd.Series, production: pd.Series, bins: int = 10) -> FeatureShift:
    """Population Stability Index = sum over bins of (actual - expected) x ln(actual / expected).

    Numbers: bin edges are the training quantiles at 1/bins, 2/bins, ... (linear interpolation, repeated
    edges merged, edges at the training maximum dropped); bins are closed on the right, (a, b], with the
    first and last open-ended. Other types: one bin per training category, plus "(other)" for values never
    seen in training. Missing values get a bin of their own when either side has any. A share of 0 is
    raised to 0.0001 so the logarithm is finite. Below 0.1: no real shift; 0.1-0.25: moderate; ≥ 0.25: major.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins!r}")
    if len(training) == 0 or len(production) == 0:
        raise ValueError("PSI needs rows on both sides")
    feature = "feature" if training.name is None else str(training.name)
    train_ok, prod_ok = training.dropna(), production.dropna()
    labels: list[str]
    if pd.api.types.is_numeric_dtype(training) and pd.api.types.is_numeric_dtype(production):
        t = train_ok.to_numpy(dtype=np.float64)
        p = prod_ok.to_numpy(dtype=np.float64)
        if t.size:
            inner = np.unique(np.quantile(t, np.arange(1, bins) / bins))
            inner = inner[inner < t.max()]
        else:
            inner = np.zeros(0)
        t_ids, p_ids = np.searchsorted(inner, t, side="left"), np.searchsorted(inner, p, side="left")
        k = inner.size + 1
        t_counts = np.bincount(t_ids, minlength=k).astype(np.float64)
        p_counts = np.bincount(p_ids, minlength=k).astype(np.float64)
        labels = [f"≤ {number(float(e))}" for e in inner]
        labels += [f"> {number(float(inner[-1]))}"] if inner.size else ["all"]
    else:
        t_keys = train_ok.astype(str).to_numpy(dtype=object)
        p_keys = prod_ok.astype(str).to_numpy(dtype=object)
        categories = sorted({str(v) for v in t_keys})
        labels = [*categories, "(other)"]
        t_counts = np.array([np.sum(t_keys == c) for c in categories] + [0], dtype=np.float64)
        p_counts = np.array([np.sum(p_keys == c) for c in categories] + [np.sum(~np.isin(p_keys, categories))],
                            dtype=np.float64)
    t_missing, p_missing = len(training) - len(train_ok), len(production) - len(prod_ok)
    if t_missing or p_missing:
        labels.append(MISSING)
        t_counts, p_counts = np.append(t_counts, t_missing), np.append(p_counts, p_missing)
    expected, actual = t_counts / len(training), p_counts / len(production)
    e, a = np.maximum(expected, _PSI_FLOOR), np.maximum(actual, _PSI_FLOOR)
    value = float(np.sum((a - e) * np.log(a / e)))
    return FeatureShift(feature, value, tuple(labels), tuple(float(x) for x in expected),
                        tuple(float(x) for x in actual))


@dataclass(frozen=True)
class ChangePoint:
    """Where a series changed level, if it did. ``index`` is the position (in time order) of the first reading
    after the change; ``judged`` is False when the series was too short (fewer than 2 x ``min_segment``)."""

    n: int
    judged: bool
    changed: bool
    index: int | None
    before_mean: float | None
    after_mean: float | None
    p_value: float | None
    min_segment: int


def _split_strength(values: Floats, min_segment: int) -> Floats:
    """Between-segment sum of squares k(n-k)/n x (mean before - mean after)^2 for each split k."""
    n = values.size
    cumulative = np.cumsum(values)
    k = np.arange(min_segment, n - min_segment + 1)
    before = cumulative[k - 1] / k
    after = (cumulative[-1] - cumulative[k - 1]) / (n - k)
    return np.asarray(k * (n - k) / n * (before - after) ** 2, dtype=np.float64)


def detect_change(values: npt.ArrayLike, *, min_segment: int = 5, alpha: float = 0.01, rounds: int = 999,
                  seed: int = 0) -> ChangePoint:
    """One change in level, found by the best single split and tested by permutation.

    1. Every split leaving at least ``min_segment`` readings on each side is scored by how much of the
       series' variation the two segment means explain (the maximum-likelihood split for a shift in mean
       with a common variance); the strongest split wins (the earliest on ties).
    2. The series is shuffled ``rounds`` times (``numpy.random.default_rng(seed)``) and the best split of each
       shuffle is scored the same way. p = (1 + shuffles at least as strong) / (1 + rounds): how often a
       series with no change, only the same values in random order, shows a split this strong.
    3. A change is reported when p ≤ ``alpha``.

    The shuffle assumes readings vary independently around their level; strongly autocorrelated series
    (slow drifts) will show changes more often. Run on every build, a check at alpha = 0.01 still raises an
    occasional false alarm on a long history.
    """
    if min_segment < 1:
        raise ValueError(f"min_segment must be at least 1, not {min_segment!r}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds!r}")
    series = finite_floats(values, "series values")
    n = int(series.size)
    if n < 2 * min_segment:
        return ChangePoint(n, False, False, None, None, None, None, min_segment)
    strength = _split_strength(series, min_segment)
    best = int(np.argmax(strength))
    observed = float(strength[best])
    index = best + min_segment
    if observed <= EPS * max(1.0, float(np.sum((series - series.mean()) ** 2))):
        return ChangePoint(n, True, False, None, float(series.mean()), float(series.mean()), 1.0, min_segment)
    rng = np.random.default_rng(seed)
    at_least = sum(float(_split_strength(rng.permutation(series), min_segment).max()) >= observed * (1 - 1e-9)
                   for _ in range(rounds))
    p_value = (1 + at_least) / (1 + rounds)
    changed = p_value <= alpha
    return ChangePoint(n, True, changed, index if changed else None, float(series[:index].mean()),
                       float(series[index:].mean()), p_value, min_segment)


# A longer series is tested for a change as this many averages of consecutive readings, so that the
# permutation test's work (rounds x readings) stays bounded.
MAX_CHANGE_READINGS = 10_000


def change_in(values: Floats, *, min_segment: int, alpha: float, rounds: int, seed: int,
               ) -> tuple[ChangePoint, bool]:
    """:func:`detect_change` on the readings, or on MAX_CHANGE_READINGS averages of consecutive readings when
    there are more (a change in level is a change in the averages); the index and the means are then mapped
    back to the readings (the first reading of the average after the change; means over the readings)."""
    n = int(values.size)
    if n <= MAX_CHANGE_READINGS or not np.isfinite(values).all():
        return detect_change(values, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed), False
    starts = (np.arange(MAX_CHANGE_READINGS) * n) // MAX_CHANGE_READINGS
    means = np.add.reduceat(values, starts) / np.diff(np.append(starts, n))
    found = detect_change(means, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed)
    if not found.judged:
        return found, True
    if found.index is None:  # no change: the means of the averages either side of their strongest split
        return ChangePoint(n, True, found.changed, None, found.before_mean, found.after_mean, found.p_value,
                           min_segment), True
    index = int(starts[found.index])
    return ChangePoint(n, True, found.changed, index, float(values[:index].mean()), float(values[index:].mean()),
                       found.p_value, min_segment), True


def find_change(values: npt.ArrayLike, *, min_segment: int = 5, alpha: float = 0.01, rounds: int = 999,
                seed: int = 0) -> ChangePoint:
    """:func:`detect_change` with its work bounded: past MAX_CHANGE_READINGS readings it tests averages of
    consecutive readings (the index is then the first reading of the average after the change)."""
    readings = np.asarray(values, dtype=np.float64).ravel()
    return change_in(readings, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed)[0]
