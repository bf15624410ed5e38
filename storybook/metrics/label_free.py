"""Confusion counts expected from calibrated scores, before the labels are in (confidence-based performance
estimation, as NannyML's CBPE does it).

If a model's scores are calibrated, a case scored 0.8 turns out positive 8 times in 10. So among the cases of a
production window, the expected number of true positives at a threshold is the sum of the scores of the flagged
cases, the expected false negatives the sum of the scores of the others::

    E[TP] = sum of s over flagged cases        E[FP] = flagged cases - E[TP]
    E[FN] = sum of s over the other cases      E[TN] = other cases - E[FN]

The interval of a figure (recall, a cost per case, ...) is the 2.5th to 97.5th percentile of the figure over
simulated label sets: each bin's positives drawn as Binomial(cases in the bin, mean score of the bin), with a
fixed seed. That is the spread of what the labels could show if the scores are calibrated; it does not widen for
calibration error on top (the analysis refuses when the scores are not calibrated enough, see
:mod:`storybook.analyse.label_free`). Drawing per bin with the bin's mean score instead of per case with its own
score gives a variance of n p (1 - p) instead of sum s (1 - s): never smaller, so the interval errs on the wide
side (with 1,000 bins the two agree to a fraction of a case).

Scores arrive in bins (the production-windows aggregate): bin j covers [low_j, high_j); a bin of one distinct score
has low = high. A row is flagged when its score is at or above the threshold (as in :mod:`.binary`), so a bin is
flagged when low >= threshold and left alone when high <= threshold (low < threshold); a bin holding cases whose
range straddles the threshold cannot be split: :class:`ThresholdInsideBin`.

A leaf: no story, no words, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.metrics.kinds import kinds_where

__all__ = [
    "DRAWS",
    "ESTIMABLE_KINDS",
    "ExpectedConfusion",
    "SimulatedCounts",
    "ThresholdInsideBin",
    "WindowBins",
    "band_shares",
    "expected_class_confusion",
    "expected_confusion",
    "flagged_bins",
    "simulated_counts",
    "simulated_figure",
    "stability_index",
]

DRAWS = 2000  # simulated label sets per window
# The binary shares made of confusion counts, so expected counts give them (recall, precision, ...; not F1).
ESTIMABLE_KINDS: tuple[str, ...] = kinds_where(lambda k: k.task == "binary" and k.counts is not None
                                              and k.words.sentence is not None)
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class ThresholdInsideBin(ValueError):
    """The threshold falls strictly inside a bin that holds cases: which of them are flagged is unknown."""

    def __init__(self, threshold: float, low: float, high: float, n: int) -> None:
        super().__init__(f"the threshold {threshold:g} falls inside the score bin [{low:g}, {high:g}), which holds "
                         f"{n:,} cases: storybook cannot tell which of them are flagged")
        self.threshold, self.low, self.high, self.n = threshold, low, high, n


@dataclass(frozen=True, eq=False)
class WindowBins:
    """One window's scores in bins: cases, sum of scores and the bin's edges, one entry per bin."""

    n: Ints
    score_sum: Floats
    low: Floats
    high: Floats

    def __post_init__(self) -> None:
        sizes = {self.n.shape, self.score_sum.shape, self.low.shape, self.high.shape}
        if len(sizes) != 1 or self.n.ndim != 1:
            raise ValueError("a window's bins need n, score_sum, low and high of one length")
        if np.any(self.n < 0) or np.any(self.score_sum < -1e-9) or np.any(self.score_sum > self.n + 1e-9):
            raise ValueError("each bin needs 0 <= score_sum <= n (scores are chances between 0 and 1)")

    @property
    def cases(self) -> int:
        return int(self.n.sum())


def flagged_bins(bins: WindowBins, threshold: float) -> npt.NDArray[np.bool_]:
    """Which bins are flagged at ``threshold``; raises :class:`ThresholdInsideBin` for a bin it would split."""
    flagged = bins.low >= threshold
    straddles = ~flagged & (bins.high > threshold) & (bins.n > 0)
    if np.any(straddles):
        j = int(np.flatnonzero(straddles)[0])
        raise ThresholdInsideBin(threshold, float(bins.low[j]), float(bins.high[j]), int(bins.n[j]))
    return np.asarray(flagged, dtype=np.bool_)


@dataclass(frozen=True)
class ExpectedConfusion:
    """Expected confusion counts (not whole numbers) at a threshold, from calibrated scores; the same fields and
    properties as :class:`~storybook.metrics.binary.Confusion`, so the kinds' count functions read it too."""

    tp: float
    fp: float
    tn: float
    fn: float

    @property
    def n(self) -> float:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def positives(self) -> float:
        return self.tp + self.fn

    @property
    def negatives(self) -> float:
        return self.tn + self.fp

    @property
    def flagged(self) -> float:
        return self.tp + self.fp


def expected_confusion(bins: WindowBins, threshold: float) -> ExpectedConfusion:
    """E[TP], E[FP], E[TN], E[FN] at ``threshold`` (see the module docstring)."""
    flagged = flagged_bins(bins, threshold)
    tp = float(bins.score_sum[flagged].sum())
    fn = float(bins.score_sum[~flagged].sum())
    return ExpectedConfusion(tp=tp, fp=float(bins.n[flagged].sum()) - tp, tn=float(bins.n[~flagged].sum()) - fn,
                             fn=fn)


@dataclass(frozen=True, eq=False)
class SimulatedCounts:
    """Confusion counts of the simulated label sets, one entry per draw; the same fields and properties as
    :class:`~storybook.metrics.binary.Confusion` (as arrays), so the kinds' count functions read it too."""

    tp: Ints
    fp: Ints
    tn: Ints
    fn: Ints

    @property
    def n(self) -> Ints:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def positives(self) -> Ints:
        return self.tp + self.fn

    @property
    def negatives(self) -> Ints:
        return self.tn + self.fp

    @property
    def flagged(self) -> Ints:
        return self.tp + self.fp


def simulated_counts(bins: WindowBins, threshold: float, *, draws: int = DRAWS, seed: int = 0) -> SimulatedCounts:
    """Confusion counts of label sets drawn from the scores: per bin, positives ~ Binomial(n, mean score)."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws!r}")
    flagged = flagged_bins(bins, threshold)
    held = bins.n > 0
    n = bins.n[held]
    p = np.clip(bins.score_sum[held] / n, 0.0, 1.0)
    rng = np.random.Generator(np.random.PCG64(seed))
    positives = rng.binomial(n, p, size=(draws, n.size)).astype(np.int64)
    mine = flagged[held]
    tp = positives[:, mine].sum(axis=1)
    fn = positives[:, ~mine].sum(axis=1)
    flagged_n = int(n[mine].sum())
    other_n = int(n[~mine].sum())
    return SimulatedCounts(tp=tp, fp=flagged_n - tp, tn=other_n - fn, fn=fn)


def simulated_figure(values: npt.ArrayLike, level: float = 0.95) -> tuple[float, float] | None:
    """The central ``level`` range of a figure's values over the simulated label sets (NaN where the figure has
    no value in a draw, e.g. a recall of a draw with no positive case); None when more than half are NaN."""
    figures = np.asarray(values, dtype=np.float64).ravel()
    known = figures[~np.isnan(figures)]
    if known.size * 2 < figures.size or known.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(known, [tail, 100 - tail])
    return float(low), float(high)


def expected_class_confusion(probabilities: npt.ArrayLike, called: npt.ArrayLike) -> Floats:
    """A multiclass model's expected confusion counts from its class probabilities (rows add up to 1): entry
    [i, j] is the expected number of cases of true class i that the model calls j, the sum of the chance of class
    i over the cases it calls j (k x k, classes in the probabilities' column order)."""
    chances = np.asarray(probabilities, dtype=np.float64)
    calls = np.asarray(called, dtype=np.int64)
    if chances.ndim != 2 or calls.shape != (chances.shape[0],):
        raise ValueError("probabilities must be n x k and called one class index per row")
    k = chances.shape[1]
    if calls.size and (calls.min() < 0 or calls.max() >= k):
        raise ValueError(f"called classes must be indexes 0 to {k - 1}")
    one_hot = np.zeros((calls.size, k), dtype=np.float64)
    one_hot[np.arange(calls.size), calls] = 1.0
    return np.asarray(chances.T @ one_hot, dtype=np.float64)


def band_shares(low: npt.ArrayLike, n: npt.ArrayLike, bands: int = 10) -> Floats:
    """Shares of cases in ``bands`` equal bands of score over [0, 1], from bins given by their lower edge (bins
    no wider than a band and aligned with its edges, or one distinct score each) and their case counts."""
    edges = np.asarray(low, dtype=np.float64)
    counts = np.asarray(n, dtype=np.float64)
    which = np.minimum(np.floor(edges * bands + 1e-9), bands - 1).astype(np.int64)
    totals = np.bincount(which, weights=counts, minlength=bands)
    total = totals.sum()
    return np.asarray(totals / total if total > 0 else totals, dtype=np.float64)


def stability_index(expected: npt.ArrayLike, actual: npt.ArrayLike, floor: float = 1e-4) -> float:
    """Population Stability Index between two sets of shares: sum of (actual - expected) x ln(actual / expected),
    a share of 0 raised to ``floor`` (below 0.1: no real shift; 0.1 to 0.25: moderate; above 0.25: major)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    return float(np.sum((a - e) * np.log(a / e)))
