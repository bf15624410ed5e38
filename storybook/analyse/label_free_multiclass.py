"""A multiclass model's performance before the labels are in: each production window's expected confusion matrix,
share of right calls and per-class share found, estimated from the model's class chances alone, beside what the
labels show once they arrive.

If the chances are calibrated, a case given 0.7 for class A, 0.2 for B and 0.1 for C is of class A 7 times in 10.
So among a window's cases the model calls j, the expected number truly of class i is the sum of their chance of
class i (:func:`~storybook.metrics.label_free.expected_class_confusion`, summed per cell of the aggregate).

The 95% range of a figure is the 2.5th to 97.5th percentile of the figure over :data:`DRAWS` simulated label sets.
Each cell of the production aggregate (cases of one called class whose chance of it falls in one twentieth of 0 to
1) draws its true classes as Multinomial(cases, the cell's mean chance vector). That is an approximation: drawing
each case from its own chances would give a spread of sum p(1 - p) per class where the cell's mean gives n p (1 -
p), never smaller, so the range errs on the wide side (the cells are narrow in the called class's chance, so by
little). It is the spread of what the labels could show if the chances are calibrated; it does not widen for
calibration error on top, which is why storybook estimates only when the evaluation set's top-label calibration
error (10 equal bands of the called class's chance) is at most :data:`MAX_ECE` on at least :data:`MIN_CASES` cases.

Pure: plain data in, a frozen :class:`MulticlassLabelFreeReport` out. The sentences are
:mod:`storybook.analyse.label_free_multiclass_words`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.label_free import MAX_ECE, MAX_SHIFT, MIN_CASES
from storybook.analyse.trust_checks.evidence import EPS
from storybook.metrics.label_free import DRAWS, band_shares, simulated_figure, stability_index
from storybook.metrics.multiclass import MulticlassScores, top_label_calibration

__all__ = [
    "CHANCE_BANDS",
    "MulticlassCalibration",
    "MulticlassLabelFreeReport",
    "MulticlassWindow",
    "estimate_multiclass_windows",
    "top_label_ece",
]

CHANCE_BANDS = 10  # bands of the called class's chance for the evaluation set's calibration error
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MulticlassCalibration:
    """The evidence the estimate rests on: the evaluation set's top-label calibration error and the rule."""

    ece: float | None
    cases: int
    allowed: float

    @property
    def enough(self) -> bool:
        return self.ece is not None and self.cases >= MIN_CASES and self.ece <= self.allowed + EPS


@dataclass(frozen=True, eq=False)
class MulticlassWindow:
    """One window. ``expected`` is k x k (true class x called class, expected cases); ``right`` the expected share
    of right calls and ``right_interval`` its 95% range; ``found[c]`` the expected share of class c's cases the
    model calls c, with ``found_intervals[c]`` (None where the figure has no value). ``realised`` is the labels'
    k x k matrix once every case's label is in."""

    window: str
    cases: int
    labelled: int
    expected: Floats
    right: float | None
    right_interval: tuple[float, float] | None
    found: tuple[float | None, ...]
    found_intervals: tuple[tuple[float, float] | None, ...]
    realised: npt.NDArray[np.int64] | None
    shift: float

    @property
    def labels_in(self) -> bool:
        return self.realised is not None

    @property
    def comparable(self) -> bool:
        return self.shift <= MAX_SHIFT

    @property
    def realised_right(self) -> float | None:
        if self.realised is None or self.realised.sum() == 0:
            return None
        return float(np.trace(self.realised) / self.realised.sum())

    def realised_found(self, c: int) -> float | None:
        if self.realised is None or self.realised[c].sum() == 0:
            return None
        return float(self.realised[c, c] / self.realised[c].sum())


@dataclass(frozen=True)
class MulticlassLabelFreeReport:
    classes: tuple[str, ...]
    calibration: MulticlassCalibration
    windows: tuple[MulticlassWindow, ...]
    estimated: bool
    draws: int
    seed: int


def top_label_ece(scores: MulticlassScores, bands: int = CHANCE_BANDS) -> float | None:
    """The mean gap, weighted by cases, between the chance the model gives its call and the share of its calls
    that were right, over ``bands`` equal bands of that chance (None without chances or cases)."""
    found = top_label_calibration(scores, bands)
    if found is None or scores.n == 0:
        return None
    total = 0.0
    for band in found:
        if band.n and band.stated is not None and band.observed.value is not None:
            total += band.n * abs(band.stated - band.observed.value)
    return total / scores.n


def _cell_frame(rows: pd.DataFrame, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Floats]:
    """Per (called class, chance bin) over all labels: the called class index, the cases, the summed chances."""
    sums = [f"prob_sum_{i}" for i in range(k)]
    grouped = rows.groupby(["predicted", "prob_bin"], sort=True)[["n", *sums]].sum().reset_index()
    return (grouped["predicted"].to_numpy(dtype=np.int64), grouped["n"].to_numpy(dtype=np.int64),
            grouped[sums].to_numpy(dtype=np.float64))


def _simulate(called: npt.NDArray[np.int64], n: npt.NDArray[np.int64], sums: Floats, k: int, draws: int,
              seed: int) -> npt.NDArray[np.int64]:
    """draws x k x k confusion matrices (true x called) of label sets drawn per cell from its mean chances."""
    rng = np.random.Generator(np.random.PCG64(seed))
    matrices = np.zeros((draws, k, k), dtype=np.int64)
    for j, cases, chance in zip(called, n, sums, strict=True):
        if cases <= 0:
            continue
        mean = np.clip(chance / cases, 0.0, None)
        mean = mean / mean.sum()
        matrices[:, :, j] += rng.multinomial(int(cases), mean, size=draws)
    return matrices


def estimate_multiclass_windows(windows: pd.DataFrame, *, classes: Sequence[str], evaluation: MulticlassScores,
                                calibration_tolerance: float = MAX_ECE, draws: int = DRAWS,
                                seed: int = 0) -> MulticlassLabelFreeReport:
    """Estimate each window of ``windows`` (columns window, label, predicted, prob_bin, n, prob_sum_0 ...
    prob_sum_{k-1}; ``label`` and ``predicted`` as class indexes into ``classes``, label missing while not in;
    windows in the order they first appear). ``evaluation`` is the evaluation set with its chances."""
    k = len(classes)
    ece = top_label_ece(evaluation)
    calibration = MulticlassCalibration(ece=ece, cases=evaluation.n, allowed=min(MAX_ECE, calibration_tolerance))
    reference: Floats | None = None
    if evaluation.probabilities is not None and evaluation.n:
        top = evaluation.probabilities[np.arange(evaluation.n), evaluation.predicted]
        reference = band_shares(np.minimum(np.floor(top * 20), 19) / 20, np.ones(evaluation.n))
    told = []
    for index, name in enumerate(pd.unique(windows["window"])):
        rows = windows[windows["window"] == name]
        called, n, sums = _cell_frame(rows, k)
        cases = int(n.sum())
        expected = np.zeros((k, k), dtype=np.float64)
        for j in range(k):
            expected[:, j] = sums[called == j].sum(axis=0)
        by_bin = rows.groupby("prob_bin")["n"].sum()
        shares = band_shares(by_bin.index.to_numpy(dtype=np.float64) / 20, by_bin.to_numpy(dtype=np.float64))
        shift = stability_index(reference, shares) if reference is not None else 0.0
        right = right_interval = None
        found: list[float | None] = [None] * k
        found_intervals: list[tuple[float, float] | None] = [None] * k
        if calibration.enough and shift <= MAX_SHIFT and cases > 0:
            right = float(np.trace(expected) / cases)
            simulated = _simulate(called, n, sums, k, draws, seed + index)
            right_interval = simulated_figure(np.trace(simulated, axis1=1, axis2=2) / cases)
            for c in range(k):
                among = expected[c].sum()
                found[c] = float(expected[c, c] / among) if among > 0 else None
                whole = simulated[:, c, :].sum(axis=1).astype(np.float64)
                hits = simulated[:, c, c].astype(np.float64)
                share = np.divide(hits, whole, out=np.full(whole.shape, np.nan), where=whole > 0)
                found_intervals[c] = simulated_figure(share) if found[c] is not None else None
        labelled_rows = rows[rows["label"].notna()]
        labelled = int(labelled_rows["n"].sum())
        realised = None
        if labelled == cases > 0:
            realised = np.zeros((k, k), dtype=np.int64)
            np.add.at(realised, (labelled_rows["label"].to_numpy(dtype=np.int64),
                                 labelled_rows["predicted"].to_numpy(dtype=np.int64)),
                      labelled_rows["n"].to_numpy(dtype=np.int64))
        told.append(MulticlassWindow(window=str(name), cases=cases, labelled=labelled, expected=expected,
                                     right=right, right_interval=right_interval, found=tuple(found),
                                     found_intervals=tuple(found_intervals), realised=realised, shift=shift))
    return MulticlassLabelFreeReport(classes=tuple(classes), calibration=calibration, windows=tuple(told),
                                     estimated=calibration.enough, draws=draws, seed=seed)
