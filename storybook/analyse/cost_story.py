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
    ThresholdChoice,
    best_threshold,
    bootstrap,
    by_slice,
    compare,
    expected_cost,
    natural_frequencies,
    sweep,
)
from storybook.sources.schema import CostOfError, SliceSpec

__all__ = ["CostCurve", "CostSlices", "CostStory", "analyse_cost_at_counts", "analyse_cost_story"]

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
    """The cost-of-error narrative. Without scores (only confusion counts), nothing past "current" is known."""

    spec: CostOfError
    costs: CostModel
    per: int
    current_threshold: float
    current_cost_per: float
    current: NaturalFrequencies
    comparison: Comparison | None
    best: NaturalFrequencies | None
    capped: ThresholdChoice | None
    capped_frequencies: NaturalFrequencies | None
    uncertainty: BootstrapResult | None
    curve: CostCurve | None
    slices: tuple[CostSlices, ...]
    positives: int
    n: int
    few_cases: bool


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
        current_cost_per=total / confusion.n * per if confusion.n else 0.0,
        current=natural_frequencies(confusion, per), comparison=None, best=None, capped=None,
        capped_frequencies=None, uncertainty=None, curve=None, slices=(), positives=confusion.positives,
        n=confusion.n, few_cases=confusion.positives < min_slice_size,
    )


def analyse_cost_story(spec: CostOfError, labels: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64],
                       current_threshold: float, groups: pd.DataFrame, slices: list[SliceSpec],
                       min_slice_size: int) -> CostStory:
    """Everything the cost-of-error narrative tells, from the scored evaluation set and the stated costs."""
    costs = _costs(spec)
    per = spec.population
    result = sweep(labels, scores)
    comparison = compare(result, costs, current_threshold, per=per)
    capacity = spec.capacity / per if spec.capacity is not None else None
    capped = best_threshold(result, costs, capacity, per=per) if capacity is not None else None
    uncertainty = None
    if spec.bootstrap_rounds > 0 and result.n > 0:
        uncertainty = bootstrap(labels, scores, costs, rounds=spec.bootstrap_rounds, seed=spec.seed,
                                at_threshold=current_threshold, per=per)
    totals = expected_cost(result, costs, per)
    step = max(1, len(totals) // MAX_CURVE_POINTS)
    keep = sorted({*range(0, len(totals), step), comparison.best.index, len(totals) - 1})
    curve = CostCurve(
        thresholds=tuple(float(min(1.0, result.thresholds[i])) for i in keep),
        costs=tuple(float(totals[i]) for i in keep),
    )
    cost_slices = tuple(
        CostSlices(spec=slice_spec, rows=by_slice(labels, scores, groups[slice_spec.column], costs,
                                                  current_threshold, min_size=min_slice_size, per=per))
        for slice_spec in slices
    )
    return CostStory(
        spec=spec, costs=costs, per=per, comparison=comparison,
        current_threshold=current_threshold, current_cost_per=comparison.current_cost_per,
        current=natural_frequencies(comparison.current, per),
        best=natural_frequencies(comparison.best.confusion, per),
        capped=capped,
        capped_frequencies=natural_frequencies(capped.confusion, per) if capped is not None else None,
        uncertainty=uncertainty, curve=curve, slices=cost_slices,
        positives=result.positives, n=result.n, few_cases=result.positives < min_slice_size,
    )
