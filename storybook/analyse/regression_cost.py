"""A regression story's cost of error: forecasts too high and too low cost different amounts, in the
stakeholder's own unit, so storybook finds how much to add to (or take off) every forecast to make the expected
cost lowest, with its range, tells the errors as natural frequencies and shows who carries them per slice.

Pure: the checked scored set and the story's ``cost_of_error:`` in, a :class:`RegressionCost` out. The figures
come from :mod:`storybook.metrics.regression` (the adjustment is the under / (under + over) quantile of actual -
forecast); sentences are built here, templates only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from storybook.analyse.classification import group_rows
from storybook.analyse.plain import (
    Vocabulary,
    WordingRules,
    amount_number,
    amount_phrase,
    in_sentence,
    lean_phrase,
    point_share,
)
from storybook.metrics.binary import Estimate
from storybook.metrics.regression import (
    CostAdjustment,
    ErrorFrequencies,
    RegressionScores,
    cost_adjustment,
    cost_per_forecast,
    default_tolerance,
    error_frequencies,
)
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import CostOfError, SliceSpec

__all__ = ["FREQUENCIES_PER", "GroupCost", "RegressionCost", "SliceCosts", "analyse_regression_cost"]

FREQUENCIES_PER = 100  # natural frequencies are told "out of 100 forecasts"
MAX_GROUPS = 20


@dataclass(frozen=True)
class GroupCost:
    """Who carries the errors: one group's rows, its cost as forecast, and its share of all the cost of
    forecasts too high and too low (None when there is no such cost at all)."""

    value: str
    n: int
    cost_per: float  # average cost of one of its forecasts, as logged
    share_of_rows: float
    share_of_cost: float | None
    share_of_over_cost: float | None
    share_of_under_cost: float | None
    mean_error: float  # above 0: its forecasts run high


@dataclass(frozen=True)
class SliceCosts:
    spec: SliceSpec
    groups: tuple[GroupCost, ...]
    merged: int
    sentence: str


@dataclass(frozen=True)
class RegressionCost:
    spec: CostOfError
    adjustment: CostAdjustment
    tolerance: float | None
    tolerance_stated: bool  # the story stated the tolerance (else: the median miss, rounded)
    frequencies: ErrorFrequencies | None
    slices: tuple[SliceCosts, ...]
    sentences: tuple[str, ...]  # the costs, the adjustment, the cost before and after, the frequencies
    per: int  # costs are told per this many forecasts (the story's population)


def analyse_regression_cost(spec: CostOfError, scored: RegressionSet, slices: list[SliceSpec], words: Vocabulary,
                            rules: WordingRules) -> RegressionCost:
    assert spec.over_forecast is not None and spec.under_forecast is not None  # the schema's shape check
    scores = scored.scores
    found = cost_adjustment(scores, spec.over_forecast, spec.under_forecast, rounds=spec.bootstrap_rounds,
                            seed=spec.seed)
    tolerance = spec.tolerance if spec.tolerance is not None else default_tolerance(scores)
    frequencies = (None if tolerance is None or scores.n < rules.min_count  # too few: say less
                   else error_frequencies(scores, tolerance, FREQUENCIES_PER))
    assert found.adjustment.value is not None
    # Outcomes at or below the adjusted forecast: at least the share the costs ask for (more with ties).
    at_or_below = float(np.mean(-scores.errors <= found.adjustment.value))
    sentences = [*_cost_sentences(spec, found, words, rules, spec.population, at_or_below)]
    if frequencies is not None:
        sentences.append(_frequency_sentence(frequencies, words, stated=spec.tolerance is not None))
    return RegressionCost(
        spec=spec, adjustment=found, tolerance=tolerance, tolerance_stated=spec.tolerance is not None,
        frequencies=frequencies, per=spec.population, sentences=tuple(sentences),
        slices=tuple(_slice(s, scored.frame[s.column], scores, spec, words) for s in slices),
    )


def _plan(adjustment: float, unit: str) -> str:
    if adjustment == 0:
        return "the forecast as it is"
    way = "plus" if adjustment > 0 else "minus"
    return f"the forecast {way} {amount_number(abs(adjustment))} {unit}"


def _scaled(estimate: Estimate, per: int) -> Estimate:
    def times(x: float | None) -> float | None:
        return None if x is None else x * per
    return Estimate(times(estimate.value), times(estimate.low), times(estimate.high), estimate.n)


def _cost_sentences(spec: CostOfError, found: CostAdjustment, words: Vocabulary, rules: WordingRules,
                    per: int, at_or_below: float) -> list[str]:
    unit, cost_unit = words.amount_unit, spec.unit
    sentences = [
        f"Costs as stated by {spec.owner} (in {cost_unit}): a forecast that is too high costs "
        f"{amount_number(found.over)} for each of the {unit} it is over, and one that is too low costs "
        f"{amount_number(found.under)} for each of the {unit} it is under."]
    if found.cases < rules.min_count:
        return [*sentences, f"Too few cases to say what the forecasts cost or how to adjust them: only "
                            f"{found.cases:,} {words.unit} were in the evaluation, and at least "
                            f"{rules.min_count:,} are needed."]
    adjustment = found.adjustment
    assert adjustment.value is not None
    plan = _plan(adjustment.value, unit)
    told_range = lean_phrase(adjustment, unit, rules, high="more", low="less")
    ranged = adjustment.low is not None
    if adjustment.value == 0:
        sentences.append(f"The expected cost is lowest when plans use {plan}: on the evaluation set, no amount "
                         "added or taken off does better" + (
                             f" (the best amount, judged on resamples of the set, is {told_range})."
                             if ranged else "."))
    else:
        sentences.append(
            f"The expected cost is lowest when plans use {plan}: then {point_share(at_or_below)} outcomes in the "
            f"evaluation set fall at or below the plan, where these costs ask for at least "
            f"{point_share(found.share_under)}." + (
                f" The best amount is {told_range} than the forecast (judged on resamples of the evaluation set)."
                if ranged else " (No range: set cost_of_error.bootstrap_rounds above 0 to allow for chance.)"))
    before, after, saving = (_scaled(e, per) for e in (found.cost_before, found.cost_after, found.saving))
    population = f"{per:,} {words.unit}"
    if adjustment.value == 0:
        sentences.append(f"Forecasting for {population} costs {amount_phrase(before, cost_unit, rules)}.")
    else:
        sentences.append(
            f"Forecasting for {population} costs {amount_phrase(before, cost_unit, rules)} with the forecasts as "
            f"they are, and {amount_phrase(after, cost_unit, rules)} with {plan}: {_saving(saving, cost_unit, rules)}.")
    if adjustment.value != 0:
        sentences.append(f"The amount was chosen on the same evaluation set it is measured on, so on new "
                         f"{words.unit} the saving is likely to be somewhat smaller.")
    if found.sampled is not None:
        sentences.append(f"The ranges of these costs come from a random sample of {found.sampled:,} of the "
                         f"{found.cases:,} {words.unit}, so they are wider than the whole set's would be.")
    return sentences


def _saving(saving: Estimate, unit: str, rules: WordingRules) -> str:
    """"a saving of about 40 minutes", or, when the range reaches below 0 (on some resamples the plan costs
    more), "between 10 minutes lost and 90 minutes saved"."""
    if saving.low is not None and saving.low < 0:
        return lean_phrase(saving, unit, rules, high="saved", low="lost")
    return f"a saving of {amount_phrase(saving, unit, rules)}"


def _frequency_sentence(told: ErrorFrequencies, words: Vocabulary, *, stated: bool) -> str:
    unit = words.amount_unit
    within = amount_number(told.tolerance)
    source = "" if stated else " (the median miss, rounded: the story states no tolerance)"
    return (f"Out of {told.per:,} forecasts as made, {told.within:,} are within {within} {unit} of what happened, "
            f"{told.too_high:,} are more than {within} {unit} too high and {told.too_low:,} more than {within} "
            f"{unit} too low{source}.")


def _share(part: float, whole: float) -> float | None:
    return None if whole <= 0 else part / whole


def _slice(spec: SliceSpec, column: pd.Series, scores: RegressionScores, costs: CostOfError,
           words: Vocabulary) -> SliceCosts:
    assert costs.over_forecast is not None and costs.under_forecast is not None
    errors = scores.errors
    over = costs.over_forecast * np.maximum(errors, 0.0)
    under = costs.under_forecast * np.maximum(-errors, 0.0)
    total = cost_per_forecast(errors, 0.0, costs.over_forecast, costs.under_forecast)
    grouping = group_rows(column, MAX_GROUPS)
    groups = []
    for index, name in enumerate(grouping.names):
        rows = grouping.codes == index
        n = int(np.count_nonzero(rows))
        if n == 0:
            continue
        groups.append(GroupCost(
            value=name, n=n, cost_per=float(total[rows].mean()), share_of_rows=n / scores.n,
            share_of_cost=_share(float(total[rows].sum()), float(total.sum())),
            share_of_over_cost=_share(float(over[rows].sum()), float(over.sum())),
            share_of_under_cost=_share(float(under[rows].sum()), float(under.sum())),
            mean_error=float(errors[rows].mean())))
    return SliceCosts(spec=spec, groups=tuple(groups), merged=grouping.merged,
                      sentence=_carried(spec, groups[:-1] if grouping.merged else groups, words))


def _carried(spec: SliceSpec, groups: list[GroupCost], words: Vocabulary) -> str:
    """The group whose share of the cost is furthest above its share of the rows, named with both shares (the
    row counting many small groups together is never named: it is not one group)."""
    told = [g for g in groups if g.share_of_cost is not None]
    if not told:
        return f"By {in_sentence(spec.label)}: the forecasts cost nothing in any group."
    heaviest = max(told, key=lambda g: (g.share_of_cost or 0.0) - g.share_of_rows)
    cost_share = heaviest.share_of_cost or 0.0
    if cost_share <= heaviest.share_of_rows:
        return (f"By {in_sentence(spec.label)}: each group carries a share of the cost no larger than its share of "
                f"{words.unit}.")
    return (f"By {in_sentence(spec.label)}: the group {heaviest.value!r} carries {cost_share * 100:.0f}% of the "
            f"cost of the errors, with {heaviest.share_of_rows * 100:.0f}% of the {words.unit}.")
