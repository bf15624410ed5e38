"""Binary metrics on plain arrays: confusion counts, shares with their Wilson interval, ROC AUC, Brier score.

Which shares a story may report (and how each is counted) is the table of kinds, storybook.metrics.kinds.

A leaf: no story, no words, no I/O. resolve (permutation drops) and analyse both use it.
A row is *flagged* when its score is at or above the threshold (the convention scikit-learn's ``predict``
uses for ``predict_proba >= 0.5`` on binary problems).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Z_95",
    "Confusion",
    "Estimate",
    "auc_estimate",
    "auc_interval",
    "brier_score",
    "confusion_at",
    "proportion",
    "roc_auc",
    "weighted_roc_auc",
    "wilson_interval",
]

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp

    @property
    def flagged(self) -> int:
        return self.tp + self.fp


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval and the count behind it. ``value`` is None when nothing was counted."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    successes: int | None = None

    @property
    def width(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 and n successes the bound is exactly 0 or 1; rounding would leave 0.9999999999999999.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def proportion(successes: int, n: int) -> Estimate:
    if n == 0:
        return Estimate(None, None, None, 0, 0)
    low, high = wilson_interval(successes, n)
    return Estimate(successes / n, low, high, n, successes)


def confusion_at(labels: npt.ArrayLike, scores: npt.ArrayLike, threshold: float,
                 weights: npt.ArrayLike | None = None) -> Confusion:
    """Counts when rows scoring at or above ``threshold`` are flagged. ``labels`` are booleans; ``weights``
    (whole numbers) are how many cases each row stands for (a counted set's cells), None for one each."""
    truth = np.asarray(labels, dtype=bool)
    flagged = np.asarray(scores, dtype=float) >= threshold
    if weights is not None:
        counts = np.asarray(weights, dtype=np.int64)
        tp, fp = int(counts[truth & flagged].sum()), int(counts[~truth & flagged].sum())
        fn, tn = int(counts[truth & ~flagged].sum()), int(counts[~truth & ~flagged].sum())
        return Confusion(tp=tp, fp=fp, tn=tn, fn=fn)
    tp = int(np.count_nonzero(truth & flagged))
    fp = int(np.count_nonzero(~truth & flagged))
    fn = int(np.count_nonzero(truth & ~flagged))
    tn = int(truth.size - tp - fp - fn)
    return Confusion(tp=tp, fp=fp, tn=tn, fn=fn)


def weighted_roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike, weights: npt.ArrayLike,
                     ) -> tuple[float | None, int, int]:
    """Area under the ROC curve of rows that each stand for ``weights`` cases (Mann-Whitney, ties counted as
    half), with the numbers of positive and negative cases; the area is None without both classes."""
    truth = np.asarray(labels, dtype=bool)
    values = np.asarray(scores, dtype=float)
    counts = np.asarray(weights, dtype=np.float64)
    distinct, inverse = np.unique(values, return_inverse=True)
    positives = np.bincount(inverse, weights=counts * truth, minlength=distinct.size)
    negatives = np.bincount(inverse, weights=counts * ~truth, minlength=distinct.size)
    whole = np.asarray(weights, dtype=np.int64)
    n_pos, n_neg = int(whole[truth].sum()), int(whole[~truth].sum())
    if n_pos == 0 or n_neg == 0:
        return None, n_pos, n_neg
    below = np.cumsum(negatives) - negatives  # negatives scoring strictly lower
    area = float(np.sum(positives * (below + negatives / 2))) / (n_pos * n_neg)
    return area, n_pos, n_neg


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted as half); None without both classes."""
    truth = np.asarray(labels, dtype=bool)
    values = np.asarray(scores, dtype=float)
    n_pos = int(truth.sum())
    n_neg = int(truth.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse.reshape(-1)]  # tied scores share their average rank
    ranks[np.isnan(values)] = np.nan
    rank_sum = float(ranks[truth].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def brier_score(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float | None:
    truth = np.asarray(labels, dtype=float)
    if truth.size == 0:
        return None
    return float(np.mean((np.asarray(scores, dtype=float) - truth) ** 2))


def auc_estimate(labels: npt.ArrayLike, scores: npt.ArrayLike) -> Estimate:
    """ROC AUC with the Hanley & McNeil (1982) 95% interval."""
    truth = np.asarray(labels, dtype=bool)
    area = roc_auc(truth, scores)
    n = int(truth.size)
    if area is None:
        return Estimate(None, None, None, n)
    n_pos = int(truth.sum())
    return auc_interval(area, n_pos, n - n_pos)


def auc_interval(area: float, n_pos: int, n_neg: int) -> Estimate:
    q1 = area / (2 - area)
    q2 = 2 * area * area / (1 + area)
    variance = (area * (1 - area) + (n_pos - 1) * (q1 - area * area) + (n_neg - 1) * (q2 - area * area)) / (
        n_pos * n_neg)
    half = Z_95 * math.sqrt(max(variance, 0.0))
    return Estimate(area, max(0.0, area - half), min(1.0, area + half), n_pos + n_neg)
