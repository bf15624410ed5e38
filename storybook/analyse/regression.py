"""A regression story's performance: how far the forecasts land from what happened, in plain words.

Pure: the checked scored set (:class:`storybook.resolve.scored_regression.RegressionSet`) and the story's words
in, a :class:`RegressionPerformance` out. Every figure comes from :mod:`storybook.metrics.regression` with the
same resampling (1,000 rounds, seed 0) the card's metric lines use, so a figure told here and on the card is the
same figure with the same range. Sentences are built here, with :mod:`storybook.analyse.plain`'s wording of
amounts; templates only lay them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from storybook.analyse.classification import group_rows
from storybook.analyse.plain import (
    Vocabulary,
    WordingRules,
    amount_number,
    amount_phrase,
    format_count,
    lean_phrase,
    merged_groups_sentence,
    regression_sentence,
    share_phrase,
    slice_heading,
)
from storybook.metrics.binary import Estimate
from storybook.metrics.regression import (
    RegressionFigures,
    RegressionScores,
    figures,
    group_averages,
    interval_coverage,
)
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import SliceSpec

__all__ = [
    "MAX_GROUPS",
    "MAX_POINTS",
    "ErrorHistogram",
    "GroupErrors",
    "RegressionPerformance",
    "SliceErrors",
    "analyse_regression",
]

MAX_GROUPS = 20  # groups told one by one per slice; the others are counted together in one row
MAX_POINTS = 1000  # points drawn on the residuals chart; a seeded random sample past that, and the caption says so
MAX_BINS = 40


@dataclass(frozen=True)
class GroupErrors:
    """One group of a slice: its average miss and the lean of its forecasts, with their ranges."""

    value: str
    n: int
    mae: Estimate
    mean_error: Estimate
    small: bool  # fewer rows than the story's min_slice_size
    sentence: str
    too_few: bool = False  # fewer rows than the wording's min_count: no figure is told, in the sentence or table


@dataclass(frozen=True)
class SliceErrors:
    spec: SliceSpec
    groups: tuple[GroupErrors, ...]
    merged: int  # groups counted together in the last row (0: every group has its own row)

    @property
    def heading(self) -> str:
        return slice_heading(self.spec.label)

    @property
    def merged_sentence(self) -> str:
        """What the last row counts ("" when every group has its own row)."""
        if not self.merged:
            return ""
        return merged_groups_sentence(self.spec.label, len(self.groups) - 1, self.merged)


@dataclass(frozen=True)
class ErrorHistogram:
    """How many forecasts missed by how much: ``counts[i]`` errors (predicted - actual) fall in
    [``edges[i]``, ``edges[i + 1]``) (the last bin includes its right edge). From 1,000 forecasts on, the bars
    span the middle 99% of the errors, so that a few huge misses (a unit bug) do not squeeze every bar into one;
    ``beyond`` counts the misses left out, on either side."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    too_high: int  # forecasts above what happened
    too_low: int  # forecasts below it
    exact: int
    beyond: int = 0


@dataclass(frozen=True)
class RegressionPerformance:
    """The performance section of a regression story."""

    figures: RegressionFigures
    sentences: tuple[str, ...]  # the headline: average miss, median miss, lean, R² with its baseline
    baseline_sentence: str  # what R² is measured against, with its figures
    coverage: Estimate | None  # the share of outcomes inside the logged prediction intervals
    coverage_level: float | None  # the intervals' stated level
    coverage_sentence: str | None
    slices: tuple[SliceErrors, ...]
    histogram: ErrorHistogram
    points: tuple[tuple[float, float], ...]  # (forecast, error) for the residuals chart
    points_sampled: bool  # the points are a seeded random sample of MAX_POINTS rows
    n: int
    amount_unit: str
    target_means: str
    resample_note: str | None  # when the averages' ranges come from a random sample of rows
    intro: str = ""  # what is compared with what, and what the ranges mean


def analyse_regression(scored: RegressionSet, slices: list[SliceSpec], words: Vocabulary, rules: WordingRules,
                       *, target_means: str, min_slice_size: int) -> RegressionPerformance:
    scores = scored.scores
    found = figures(scores)  # the same call (and cache) as the card's metric lines
    unit = words.amount_unit
    sentences = tuple(regression_sentence(kind, estimate.value, estimate, words, rules)
                      for kind, estimate in (("mae", found.mae), ("median_absolute_error", found.median_absolute_error),
                                             ("mean_error", found.mean_error), ("r2", found.r2))
                      if estimate.value is not None)
    baseline = found.r2_baseline
    baseline_sentence = (
        f"R² measures the forecasts against a baseline: always forecasting the average of what happened, "
        f"{amount_number(baseline.baseline_forecast)} {unit}. Counting large misses more, that baseline misses "
        f"by {amount_number(math.sqrt(baseline.baseline_mse))} {unit} and the model by "
        f"{amount_number(math.sqrt(baseline.model_mse))} {unit}, on the same {scores.n:,} {words.unit}.")
    coverage = interval_coverage(scores)
    level = scored.interval_level
    return RegressionPerformance(
        figures=found, sentences=sentences, baseline_sentence=baseline_sentence, coverage=coverage,
        coverage_level=level, coverage_sentence=_coverage_sentence(coverage, level, words, rules),
        slices=tuple(_slice(spec, scored.frame[spec.column], scores, words, rules, min_slice_size)
                     for spec in slices),
        histogram=_histogram(scores), points=_points(scores)[0], points_sampled=scores.n > MAX_POINTS,
        n=scores.n, amount_unit=unit, target_means=target_means,
        resample_note=None if found.sampled is None else (
            f"The ranges of the averages come from a random sample of {found.sampled:,} of the {scores.n:,} "
            f"{words.unit}, so they are wider than the whole set's would be."),
        intro=(f"Each forecast of {target_means} is compared with what happened, for {format_count(scores.n)} "
               f"{words.unit}. Each figure comes with the range the evaluation supports (a 95% interval, from "
               f"resampling the {words.unit})."),
    )


def _coverage_sentence(coverage: Estimate | None, level: float | None, words: Vocabulary,
                       rules: WordingRules) -> str | None:
    if coverage is None:
        return None
    if coverage.n < rules.min_count:
        return (f"Too few cases to say how often the forecasts' ranges hold what happens: only {coverage.n:,} "
                f"{words.unit} were in the evaluation, and at least {rules.min_count:,} are needed.")
    told = share_phrase(coverage, rules)
    counted = f"(measured on {coverage.n:,} {words.unit})"
    if level is None:
        return f"What happened fell inside the forecast's logged range for {told} {words.unit} {counted}."
    stated = f"{level * 100:g} in 100"
    lead = (f"The forecasts' ranges are stated to hold what happens {stated} times; they held it for {told} "
            f"{words.unit} {counted}")
    if coverage.low is None or coverage.high is None:
        return f"{lead}."
    if coverage.high < level:
        return (f"{lead}: less often than stated, so the ranges are too narrow: they claim more certainty than "
                "they have.")
    if coverage.low > level:
        return f"{lead}: more often than stated, so the ranges are wider than they need to be."
    return f"{lead}: as often as stated, within chance."


def _slice(spec: SliceSpec, column: pd.Series, scores: RegressionScores, words: Vocabulary, rules: WordingRules,
           min_slice_size: int) -> SliceErrors:
    grouping = group_rows(column, MAX_GROUPS)
    groups = []
    for index, name in enumerate(grouping.names):
        rows = grouping.codes == index
        n = int(np.count_nonzero(rows))
        if n == 0:
            continue
        mae, lean = group_averages(RegressionScores(scores.actual[rows], scores.predicted[rows]))
        unit = words.amount_unit
        if n < rules.min_count:
            sentence = (f"{name}: too few cases to say ({n:,} {words.unit}; at least {rules.min_count:,} are "
                        "needed).")
        else:
            sentence = (f"{name} ({n:,} {words.unit}): the forecasts miss by {amount_phrase(mae, unit, rules)} "
                        f"on average, and run {lean_phrase(lean, unit, rules)}.")
        groups.append(GroupErrors(value=name, n=n, mae=mae, mean_error=lean,
                                  small=n < min_slice_size, sentence=sentence, too_few=n < rules.min_count))
    return SliceErrors(spec=spec, groups=tuple(groups), merged=grouping.merged)


def _histogram(scores: RegressionScores) -> ErrorHistogram:
    errors = scores.errors
    low, high = (np.percentile(errors, [0.5, 99.5]) if errors.size >= 1000
                 else (float(errors.min()), float(errors.max())))
    if low == high:
        low, high = low - 0.5, high + 0.5
    bins = min(MAX_BINS, int(np.ceil(np.log2(errors.size))) + 1)  # Sturges' rule, at most MAX_BINS bars
    counts, edges = np.histogram(errors, bins=bins, range=(float(low), float(high)))
    return ErrorHistogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts),
                          too_high=int(np.count_nonzero(errors > 0)), too_low=int(np.count_nonzero(errors < 0)),
                          exact=int(np.count_nonzero(errors == 0)), beyond=int(errors.size - counts.sum()))


def _points(scores: RegressionScores) -> tuple[tuple[tuple[float, float], ...], bool]:
    rows = np.arange(scores.n)
    if scores.n > MAX_POINTS:
        rows = np.sort(np.random.default_rng(0).choice(scores.n, size=MAX_POINTS, replace=False))
    errors = scores.errors
    return tuple((float(scores.predicted[i]), float(errors[i])) for i in rows), scores.n > MAX_POINTS
