"""Performance before the labels are in: each production window's confusion counts, key figure and cost per case
estimated from the model's scores alone, beside the figures the labels show once they arrive.

The estimate (:mod:`storybook.metrics.label_free`, confidence-based performance estimation) is only as good as the
scores' calibration, so storybook estimates only when the evaluation set shows the scores can be taken at face
value (:data:`MAX_ECE`, :data:`MIN_CASES`); otherwise it says why, with the figure, and estimates nothing.

Pure: plain data in (the production windows as a frame, the evaluation set's labels and scores), a frozen
:class:`LabelFreeReport` out. The sentences are :mod:`storybook.analyse.label_free_words`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.costs import CostModel
from storybook.analyse.trust_checks.evidence import EPS
from storybook.analyse.trust_checks.statistics import ReliabilityCurve, reliability_curve
from storybook.metrics.binary import Confusion
from storybook.metrics.kinds import kind_info
from storybook.metrics.label_free import (
    DRAWS,
    ESTIMABLE_KINDS,
    ExpectedConfusion,
    SimulatedCounts,
    WindowBins,
    band_shares,
    expected_confusion,
    flagged_bins,
    simulated_counts,
    simulated_figure,
    stability_index,
)

__all__ = [
    "MAX_ECE",
    "MAX_SHIFT",
    "MIN_CASES",
    "WINDOW_COLUMNS",
    "Calibration",
    "EstimateGuard",
    "GuardOutcome",
    "LabelFreeReport",
    "WindowEstimate",
    "estimate_windows",
]

MAX_ECE = 0.05  # the evaluation set's expected calibration error (10 equal bands) must be at most this ...
MIN_CASES = 100  # ... measured on at least this many evaluation cases
# A window whose scores are spread unlike the evaluation set's (Population Stability Index over 10 bands of score
# above this: a major shift) is not estimated: the calibration was checked where its cases are not.
MAX_SHIFT = 0.25
# The production-windows table as resolve hands it over: one row per (window, label, score bin).
WINDOW_COLUMNS = ("window", "label", "bin_low", "bin_high", "n", "score_sum")

Side = Literal["estimated", "realised"]
Status = Literal["holds", "broken", "may be broken", "not known"]


@dataclass(frozen=True)
class EstimateGuard:
    """A bound on the estimated or the realised figure of every window."""

    on: Side
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class GuardOutcome:
    guard: EstimateGuard
    status: Status


@dataclass(frozen=True)
class WindowEstimate:
    """One window: the estimate from its scores, and (once every case's label is in) what the labels show.

    ``figure`` is the story's key figure from the expected counts, ``interval`` its 95% range over simulated label
    sets; ``cost`` and ``cost_interval`` the cost per ``population`` cases (None without costs)."""

    window: str
    cases: int
    labelled: int
    expected: ExpectedConfusion
    figure: float | None
    interval: tuple[float, float] | None
    cost: float | None
    cost_interval: tuple[float, float] | None
    realised: Confusion | None
    realised_figure: float | None
    realised_cost: float | None
    guards: tuple[GuardOutcome, ...]
    shift: float = 0.0  # Population Stability Index of its scores against the evaluation set's

    @property
    def labels_in(self) -> bool:
        return self.realised is not None

    @property
    def comparable(self) -> bool:
        """Its scores are spread like the evaluation set's, so their checked calibration applies to them."""
        return self.shift <= MAX_SHIFT


@dataclass(frozen=True)
class Calibration:
    """The evidence the estimate rests on: the evaluation set's calibration error and the rule it must meet."""

    ece: float | None
    cases: int
    allowed: float  # the smaller of MAX_ECE and the story's own calibration tolerance

    @property
    def enough(self) -> bool:
        return self.ece is not None and self.cases >= MIN_CASES and self.ece <= self.allowed + EPS


@dataclass(frozen=True)
class LabelFreeReport:
    """Every window's estimate and, once its labels are in, its realised figures. When ``estimated`` is False the
    scores are not calibrated enough (:attr:`Calibration.enough`; :func:`~storybook.analyse.label_free_words.refusal`
    says why in one sentence): the windows then hold no estimate, only what their labels show."""

    metric: str
    threshold: float
    calibration: Calibration
    population: int
    cost_unit: str | None
    windows: tuple[WindowEstimate, ...]
    estimated: bool
    draws: int
    seed: int


def _figure(kind: str, counts: Confusion | ExpectedConfusion) -> float | None:
    """The kind's figure from (expected or whole) confusion counts; None when its denominator is 0."""
    info = kind_info(kind)
    assert info is not None and info.counts is not None
    # ExpectedConfusion has the fields and properties the counts functions read, as floats.
    counted, among = info.counts(cast(Confusion, counts))
    return counted / among if among > 0 else None


def _cost(costs: CostModel, counts: Confusion | ExpectedConfusion, per: int) -> float | None:
    n = counts.tp + counts.fp + counts.tn + counts.fn
    if n <= 0:
        return None
    total = (counts.tp * costs.cost_tp + counts.fp * costs.cost_fp + counts.tn * costs.cost_tn
             + counts.fn * costs.cost_fn)
    return float(total / n * per)


def _figures(kind: str, counts: SimulatedCounts) -> npt.NDArray[np.float64]:
    """The kind's figure in each simulated label set (NaN where its denominator is 0)."""
    info = kind_info(kind)
    assert info is not None and info.counts is not None
    counted, among = info.counts(cast(Confusion, counts))  # the count functions work on arrays alike
    top = np.asarray(counted, dtype=np.float64)
    bottom = np.asarray(among, dtype=np.float64)
    return np.asarray(np.divide(top, bottom, out=np.full(top.shape, np.nan), where=bottom > 0), dtype=np.float64)


def _costs(costs: CostModel, counts: SimulatedCounts, per: int) -> npt.NDArray[np.float64]:
    total = (counts.tp * costs.cost_tp + counts.fp * costs.cost_fp + counts.tn * costs.cost_tn
             + counts.fn * costs.cost_fn).astype(np.float64)
    n = counts.n.astype(np.float64)
    return np.asarray(np.divide(total * per, n, out=np.full(total.shape, np.nan), where=n > 0), dtype=np.float64)


def _bins(rows: pd.DataFrame) -> WindowBins:
    grouped = rows.groupby(["bin_low", "bin_high"], sort=True)[["n", "score_sum"]].sum().reset_index()
    return WindowBins(n=grouped["n"].to_numpy(dtype=np.int64), score_sum=grouped["score_sum"].to_numpy(np.float64),
                      low=grouped["bin_low"].to_numpy(np.float64), high=grouped["bin_high"].to_numpy(np.float64))


def _realised(rows: pd.DataFrame, threshold: float) -> Confusion:
    """Whole confusion counts from the labelled rows (label 1 = positive); bins flagged as in the estimate."""
    positives = _bins(rows[rows["label"] == 1])
    negatives = _bins(rows[rows["label"] == 0])
    pos_flagged = flagged_bins(positives, threshold)
    neg_flagged = flagged_bins(negatives, threshold)
    return Confusion(tp=int(positives.n[pos_flagged].sum()), fn=int(positives.n[~pos_flagged].sum()),
                     fp=int(negatives.n[neg_flagged].sum()), tn=int(negatives.n[~neg_flagged].sum()))


def _judge(guard: EstimateGuard, value: float | None, interval: tuple[float, float] | None) -> Status:
    """A realised figure breaks a bound when it is past it; an estimate when its whole 95% range is past it, and
    "may be broken" when the range reaches past it."""
    if guard.on == "realised":
        if value is None:
            return "not known"
        past = (guard.lower is not None and value < guard.lower - EPS) or \
               (guard.upper is not None and value > guard.upper + EPS)
        return "broken" if past else "holds"
    if interval is None:
        return "not known"
    low, high = interval
    if (guard.lower is not None and high < guard.lower - EPS) or (guard.upper is not None and low > guard.upper + EPS):
        return "broken"
    if (guard.lower is not None and low < guard.lower - EPS) or (guard.upper is not None and high > guard.upper + EPS):
        return "may be broken"
    return "holds"


def estimate_windows(windows: pd.DataFrame, *, threshold: float, metric: str,
                     evaluation_labels: npt.ArrayLike, evaluation_scores: npt.ArrayLike,
                     calibration_tolerance: float = MAX_ECE, costs: CostModel | None = None,
                     cost_unit: str | None = None, population: int = 1000, guards: Sequence[EstimateGuard] = (),
                     draws: int = DRAWS, seed: int = 0, evaluation_weights: npt.ArrayLike | None = None,
                     evaluation_curve: ReliabilityCurve | None = None) -> LabelFreeReport:
    """Estimate ``metric`` (one of :data:`~storybook.metrics.label_free.ESTIMABLE_KINDS`) and the cost per
    ``population`` cases for each window of ``windows`` (columns :data:`WINDOW_COLUMNS`, windows in the order
    they first appear; ``label`` 1, 0 or missing while not in), at ``threshold``.

    A window's realised figures are told only when every one of its cases has its label: a part that came in
    first may not be like the rest. An evaluation set told from an aggregate gives its cells: ``evaluation_scores``
    the bins' lower edges, ``evaluation_weights`` their cases and ``evaluation_curve`` the reliability curve from
    their sums (equal to the row-level one). Raises ``ValueError`` for a metric that is not a ratio of confusion counts
    and :class:`~storybook.metrics.label_free.ThresholdInsideBin` when the bins cannot be split at the threshold.
    """
    if metric not in ESTIMABLE_KINDS:
        raise ValueError(f"{metric!r} is not a figure made of confusion counts; estimable: "
                         f"{', '.join(ESTIMABLE_KINDS)}")
    missing = [c for c in WINDOW_COLUMNS if c not in windows.columns]
    if missing:
        raise ValueError(f"the production windows lack the columns {', '.join(missing)}")
    curve = evaluation_curve or reliability_curve(evaluation_labels, evaluation_scores)
    calibration = Calibration(ece=curve.ece, cases=curve.n, allowed=min(MAX_ECE, calibration_tolerance))
    told = []
    scores = np.asarray(evaluation_scores, dtype=np.float64)
    reference = band_shares(scores, np.ones(scores.size) if evaluation_weights is None else evaluation_weights)
    for index, name in enumerate(pd.unique(windows["window"])):
        rows = windows[windows["window"] == name]
        bins = _bins(rows)
        expected = expected_confusion(bins, threshold)
        shift = stability_index(reference, band_shares(bins.low, bins.n))
        figure = interval = cost = cost_interval = None
        if calibration.enough and shift <= MAX_SHIFT:
            simulated = simulated_counts(bins, threshold, draws=draws, seed=seed + index)
            figure = _figure(metric, expected)
            interval = simulated_figure(_figures(metric, simulated))
            if costs is not None:
                cost = _cost(costs, expected, population)
                cost_interval = simulated_figure(_costs(costs, simulated, population))
        labelled = int(rows.loc[rows["label"].notna(), "n"].sum())
        realised = _realised(rows[rows["label"].notna()], threshold) if labelled == bins.cases > 0 else None
        realised_figure = _figure(metric, realised) if realised is not None else None
        realised_cost = _cost(costs, realised, population) if realised is not None and costs is not None else None
        outcomes = tuple(GuardOutcome(g, _judge(g, realised_figure if g.on == "realised" else figure,
                                                None if g.on == "realised" else interval)) for g in guards)
        told.append(WindowEstimate(
            window=str(name), cases=bins.cases, labelled=labelled, expected=expected, figure=figure,
            interval=interval, cost=cost, cost_interval=cost_interval, realised=realised,
            realised_figure=realised_figure, realised_cost=realised_cost, guards=outcomes, shift=shift))
    return LabelFreeReport(metric=metric, threshold=threshold, calibration=calibration, population=population,
                           cost_unit=cost_unit, windows=tuple(told), estimated=calibration.enough, draws=draws,
                           seed=seed)
