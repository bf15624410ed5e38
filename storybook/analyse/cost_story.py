"""The cost-of-error story: what mistakes cost at the threshold in use, and at the one that costs least.

Composes the pure functions of :mod:`storybook.analyse.costs` into one result a template can tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import Confusion
from storybook.analyse.costs import (
    BootstrapResult,
    Comparison,
    CostModel,
    NaturalFrequencies,
    SliceCost,
    best_threshold,
    bootstrap,
    by_slice,
    compare,
    expected_cost,
    natural_frequencies,
    sweep,
    threshold_text,
)
from storybook.analyse.plain import stated_threshold_text
from storybook.resolve.scored import ScoredSet
from storybook.sources.schema import CostOfError, SliceSpec

__all__ = ["CostCurve", "CostSlices", "CostStory", "Counted", "analyse_cost_at_counts", "analyse_cost_story",
           "counted_costs"]

MAX_CURVE_POINTS = 201


@dataclass(frozen=True)
class CostCurve:
    thresholds: tuple[float, ...]
    costs: tuple[float, ...]


@dataclass(frozen=True)
class CostSlices:
    spec: SliceSpec
    rows: tuple[SliceCost, ...]


@dataclass(frozen=True)
class CostStory:
    """The cost-of-error narrative. Without scores (only confusion counts), nothing past "current" is known.

    ``comparison.best`` is the threshold to recommend: the cheapest that keeps within ``spec.capacity``
    when a capacity is stated. ``unconstrained`` is the cheapest with no limit, kept only when the capacity
    binds (told as what the limit costs, never as a choice). ``uncertainty`` resamples under the same
    capacity. Every table of one story shares its ``positives`` (see :func:`natural_frequencies`).
    The ``*_text`` fields are the thresholds as printed: each flags exactly the cases its figures count.
    """

    spec: CostOfError
    costs: CostModel
    per: int
    current_threshold: float
    current_threshold_text: str
    current_cost_per: float
    current_counts: Confusion
    current: NaturalFrequencies
    comparison: Comparison | None
    best: NaturalFrequencies | None
    best_threshold_text: str | None
    unconstrained: NaturalFrequencies | None
    uncertainty: BootstrapResult | None
    threshold_range_text: tuple[str, str] | None
    curve: CostCurve | None
    slices: tuple[CostSlices, ...]
    positives: int
    n: int
    few_cases: bool


@dataclass(frozen=True, eq=False)
class Counted:
    """A counted set's extras for the cost story: cases per row, the replicate counts (rows x B) intervals are
    read from (None: no intervals), the seed they were drawn with, and the highest score of any case."""

    weights: npt.NDArray[np.int64]
    replicates: npt.NDArray[np.int32] | None
    seed: int
    top: float


def counted_costs(scored: ScoredSet) -> Counted | None:
    """A weighted scored set's extras for :func:`analyse_cost_story` (None for a row-level set)."""
    if scored.weights is None:
        return None
    top = float(scored.frame["score_max"].max()) if "score_max" in scored.frame.columns else None
    return Counted(weights=scored.weights, replicates=scored.replicates,
                   seed=scored.counted.seed if scored.counted is not None else 0,
                   top=top if top is not None else float(scored.scores.max()))


def _costs(spec: CostOfError) -> CostModel:
    return CostModel(cost_fp=spec.cost_fp, cost_fn=spec.cost_fn, cost_tp=spec.true_positive,
                     cost_tn=spec.true_negative)


def analyse_cost_at_counts(spec: CostOfError, confusion: Confusion, threshold: float,
                           min_slice_size: int) -> CostStory:
    """The story at the one threshold the run logged counts for; finding a better one needs scores."""
    costs = _costs(spec)
    per = spec.population
    total = (confusion.tp * costs.cost_tp + confusion.fp * costs.cost_fp + confusion.tn * costs.cost_tn
             + confusion.fn * costs.cost_fn)
    return CostStory(
        spec=spec, costs=costs, per=per, current_threshold=threshold,
        current_threshold_text=stated_threshold_text(threshold),
        current_cost_per=total / confusion.n * per if confusion.n else 0.0, current_counts=confusion,
        current=natural_frequencies(confusion, per, capacity=spec.capacity), comparison=None, best=None,
        best_threshold_text=None, unconstrained=None, uncertainty=None, threshold_range_text=None, curve=None,
        slices=(), positives=confusion.positives, n=confusion.n, few_cases=confusion.positives < min_slice_size,
    )


def analyse_cost_story(spec: CostOfError, labels: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64],
                       current_threshold: float, groups: pd.DataFrame, slices: list[SliceSpec],
                       min_slice_size: int, *, counted: Counted | None = None) -> CostStory:
    """Everything the cost-of-error narrative tells, from the scored evaluation set and the stated costs.
    ``counted``: a counted set's cases per row, replicates and highest score (see :class:`Counted`)."""
    costs = _costs(spec)
    per = spec.population
    weights = counted.weights if counted is not None else None
    top = counted.top if counted is not None else None
    result = sweep(labels, scores, weights, top=top)
    capacity = spec.capacity / per if spec.capacity is not None else None
    comparison = compare(result, costs, current_threshold, capacity=capacity, per=per)
    unconstrained = None
    if comparison.best.capacity_binding:
        cheapest = best_threshold(result, costs, None, per=per)
        unconstrained = natural_frequencies(cheapest.confusion, per, capacity=spec.capacity)
    uncertainty = None
    threshold_range = None
    if counted is not None and counted.replicates is not None and result.n > 0:
        uncertainty = bootstrap(labels, scores, costs, seed=counted.seed, capacity=capacity,
                                at_threshold=current_threshold, per=per, weights=counted.weights,
                                replicates=counted.replicates, top=top)
    elif counted is None and spec.bootstrap_rounds > 0 and result.n > 0:
        uncertainty = bootstrap(labels, scores, costs, rounds=spec.bootstrap_rounds, seed=spec.seed,
                                capacity=capacity, at_threshold=current_threshold, per=per)
    if uncertainty is not None:
        low, high = uncertainty.threshold.low, uncertainty.threshold.high
        assert low is not None and high is not None
        threshold_range = (threshold_text(result, result.index_for(low)),
                           threshold_text(result, result.index_for(high)))
    totals = expected_cost(result, costs, per)
    step = max(1, len(totals) // MAX_CURVE_POINTS)
    keep = sorted({*range(0, len(totals), step), comparison.best.index, len(totals) - 1})
    curve = CostCurve(
        thresholds=tuple(float(min(1.0, result.thresholds[i])) for i in keep),
        costs=tuple(float(totals[i]) for i in keep),
    )
    cost_slices = tuple(
        CostSlices(spec=slice_spec, rows=by_slice(labels, scores, groups[slice_spec.column], costs,
                                                  current_threshold, min_size=min_slice_size, per=per,
                                                  weights=weights))
        for slice_spec in slices
    )
    return CostStory(
        spec=spec, costs=costs, per=per, comparison=comparison,
        current_threshold=current_threshold, current_threshold_text=stated_threshold_text(current_threshold),
        current_cost_per=comparison.current_cost_per, current_counts=comparison.current,
        current=natural_frequencies(comparison.current, per, capacity=spec.capacity),
        best=natural_frequencies(comparison.best.confusion, per, capacity=spec.capacity),
        best_threshold_text=threshold_text(result, comparison.best.index), unconstrained=unconstrained,
        uncertainty=uncertainty, threshold_range_text=threshold_range, curve=curve, slices=cost_slices,
        positives=result.positives, n=result.n, few_cases=result.positives < min_slice_size,
    )
