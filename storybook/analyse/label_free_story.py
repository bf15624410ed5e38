"""A story's performance before the labels are in: its production windows (``trust.production_scores``) estimated
at the story's threshold, with the sentences the page shows (section "before-labels").

Composes :mod:`storybook.analyse.label_free` (the figures) and :mod:`storybook.analyse.label_free_words` (the
sentences) for one story. Pure: it reads only the resolved data and the story's declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd

from storybook.analyse.costs import CostModel
from storybook.analyse.label_free import EstimateGuard, LabelFreeReport, estimate_windows
from storybook.analyse.label_free_multiclass import MulticlassLabelFreeReport
from storybook.analyse.label_free_words import (
    cost_sentence,
    guard_sentence,
    method_sentence,
    refusal,
    window_sentence,
)
from storybook.analyse.plain import DEFAULT_RULES, Vocabulary, WordingRules, full_stop, join_sentences
from storybook.analyse.trust_checks.statistics import counted_curve
from storybook.metrics.label_free import ThresholdInsideBin
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.scored import ScoredSet
from storybook.sources.schema import StoryConfig

__all__ = ["EstimatedPerformance", "analyse_label_free"]

LEAD = "storybook does not estimate how the model does before the labels are in: "


@dataclass(frozen=True)
class EstimatedPerformance:
    """The section's figures (``report``; None when storybook did not estimate) and its sentences: why not
    (``refused``), what the estimates rest on (``method``), one paragraph per window, one per guardrail."""

    report: LabelFreeReport | None
    refused: str | None
    method: str | None
    windows: tuple[str, ...]
    guards: tuple[str, ...]
    source: str
    multiclass: MulticlassLabelFreeReport | None = None  # a multiclass story's figures (report stays None)


def analyse_label_free(config: StoryConfig, resolved: ResolvedStory, scored: ScoredSet | None,
                       threshold: float | None, words: Vocabulary,
                       rules: WordingRules = DEFAULT_RULES) -> EstimatedPerformance | None:
    """The estimate for a binary story with ``trust.production_scores`` (None without it); ``scored`` is the
    story's checked evaluation set, whose calibration decides whether the scores may be read as chances."""
    logged = logged_windows(config, resolved)
    if logged is None:
        return None
    source, windows = logged
    refuse = partial(refused, source)
    if windows is None or windows.empty:
        return refuse("no production windows have been logged yet")
    trust = config.trust
    assert trust is not None  # logged_windows found its production_scores
    if scored is None:
        return refuse("it judges whether the scores can be taken at face value on the evaluation set, and this "
                      "story has no scored evaluation set")
    counted = None
    if scored.weights is not None:  # told from an aggregate: calibration from its cells' sums
        counted = counted_curve(scored)
        if counted is None:
            return refuse("it judges whether the scores can be taken at face value on the evaluation set, and this "
                          "aggregate's score bins straddle the bands that judgement uses")
    if threshold is None:
        return refuse("the story has no threshold, so which cases are flagged is not known")
    spec = trust.estimate
    metric = spec.metric if spec is not None and spec.metric is not None else trust.model.metric
    guards = tuple(EstimateGuard(on=g.figure, lower=g.lower, upper=g.upper) for g in (spec.guardrails if spec else ()))
    cost = config.cost_of_error
    costs = (CostModel(cost_fp=cost.cost_fp, cost_fn=cost.cost_fn, cost_tp=cost.true_positive,
                       cost_tn=cost.true_negative) if cost is not None and cost.shape == "binary" else None)
    try:
        report = estimate_windows(pd.DataFrame(windows), threshold=threshold, metric=metric,
                                  evaluation_labels=scored.labels, evaluation_scores=scored.scores,
                                  calibration_tolerance=trust.model.calibration_tolerance, costs=costs,
                                  cost_unit=cost.unit if costs is not None and cost is not None else None,
                                  population=cost.population if cost is not None else 1000, guards=guards,
                                  evaluation_weights=scored.weights, evaluation_curve=counted)
    except ThresholdInsideBin as exc:
        return refuse(f"{exc}; log the production scores in bins with an edge at the threshold (1,000 equal bins "
                      "have one at every multiple of 0.001)")
    if not report.estimated:  # what the labels showed, where they are in, is still told and judged
        labelled = tuple(window_sentence(w, report, words, rules) for w in report.windows if w.labels_in)
        on_labels = tuple(guard_sentence(g, report, words) for g in guards if g.on == "realised")
        return EstimatedPerformance(report=report, refused=refusal(report.calibration), method=None,
                                    windows=labelled, guards=on_labels if labelled else (), source=source)
    told = []
    for window in report.windows:
        told.append(join_sentences(window_sentence(window, report, words, rules),
                                   cost_sentence(window, report, words) or ""))
    return EstimatedPerformance(report=report, refused=None, method=method_sentence(report, words),
                                windows=tuple(told), guards=tuple(guard_sentence(g, report, words) for g in guards),
                                source=source)


def logged_windows(config: StoryConfig, resolved: ResolvedStory) -> tuple[str, pd.DataFrame | None] | None:
    """Where the story's production windows come from, in words, and their table (None while not logged); None
    for a story without ``trust.production_scores``."""
    trust = config.trust
    if trust is None or trust.production_scores is None:
        return None
    artifact = trust.production_scores
    return f"production windows {artifact} of run {resolved.run.run_id}", resolved.tables.get(artifact)


def refused(source: str, reason: str) -> EstimatedPerformance:
    """No estimate, and why (``reason`` completes the lead sentence)."""
    return EstimatedPerformance(report=None, refused=full_stop(LEAD + reason), method=None, windows=(), guards=(),
                                source=source)
