"""A multiclass story's performance before the labels are in: its production windows (``trust.production_scores``,
logged with ``log_production_scores(probabilities=...)``) estimated from the model's chances, with the sentences
the page shows (section "before-labels", the same :class:`EstimatedPerformance` the binary story fills).

Composes :mod:`storybook.analyse.label_free_multiclass` (the figures) and
:mod:`storybook.analyse.label_free_multiclass_words` (the sentences). Pure: it reads only the resolved data and the
story's declarations.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from storybook.analyse.label_free_multiclass import estimate_multiclass_windows
from storybook.analyse.label_free_multiclass_words import (
    multiclass_method,
    multiclass_refusal,
    multiclass_window_sentence,
)
from storybook.analyse.label_free_story import EstimatedPerformance, logged_windows, refused
from storybook.analyse.plain import DEFAULT_RULES, Vocabulary, WordingRules
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.sources.schema import StoryConfig

__all__ = ["analyse_label_free_multiclass"]


def analyse_label_free_multiclass(config: StoryConfig, resolved: ResolvedStory, task_set: MulticlassSet,
                                  words: Vocabulary, rules: WordingRules = DEFAULT_RULES,
                                  ) -> EstimatedPerformance | None:
    """The estimate for a multiclass story with ``trust.production_scores`` (None without it): its figures in
    ``multiclass``; ``report`` (a yes/no story's, which the estimate guardrails read) stays None."""
    logged = logged_windows(config, resolved)
    if logged is None:
        return None
    source, windows = logged
    refuse = partial(refused, source)
    if windows is None or windows.empty:
        return refuse("no production windows have been logged yet")
    trust = config.trust
    assert trust is not None  # logged_windows found its production_scores
    scores = task_set.scores
    if scores.probabilities is None:
        return refuse("the evaluation set holds the model's calls without its chances, so whether the chances can "
                      "be taken at face value cannot be judged (give every class its probability_column)")
    classes = tuple(scores.classes)
    report = estimate_multiclass_windows(pd.DataFrame(windows), classes=classes, evaluation=scores,
                                         calibration_tolerance=trust.model.calibration_tolerance)
    means = tuple(c.means for c in task_set.classes)
    told = tuple(multiclass_window_sentence(w, report, words.unit, means, rules) for w in report.windows
                 if report.estimated or w.labels_in)
    if not report.estimated:
        return EstimatedPerformance(report=None, refused=multiclass_refusal(report.calibration, words.unit),
                                    method=None, windows=told, guards=(), source=source, multiclass=report)
    return EstimatedPerformance(report=None, refused=None, method=multiclass_method(report, words.unit),
                                windows=told, guards=(), source=source, multiclass=report)
