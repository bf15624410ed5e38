"""A story's scan for weak groups: which columns, cells and figures its task compares (the scan itself is
:mod:`storybook.analyse.weak_groups`).

- binary, without costs: the share of positives missed and the share of negatives flagged (false alarms), at the
  story's threshold;
- binary, with ``cost_of_error``: the cost per case of the calls at the story's threshold (each kind of call at
  its stated cost);
- regression: the average miss (mean absolute error);
- multiclass: the share of wrong calls.

Never scanned: the story's slices (it looks at those already), the label, score, forecast, interval, probability
and id columns, and the columns the story lists under ``scan.skip_columns``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storybook.analyse.model_card import wording_rules
from storybook.analyse.weak_groups import Figure, Finding, ScanResult, ScanSettings, scan
from storybook.errors import SourceError
from storybook.resolve.scored import AnyScoredSet, ScoredSet
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.loader import StorySource
from storybook.sources.schema.scan import ScanSpec

__all__ = ["WeakGroups", "analyse_weak_groups", "group_key", "scanned_columns"]


@dataclass(frozen=True)
class WeakGroups:
    """The scan of one story: its result, the figures compared, and the authors' reasons for the groups they
    acknowledged (by :func:`group_key`). ``not_run`` says why the scan could not run (the result is then None)."""

    result: ScanResult | None
    figures: tuple[str, ...]
    acknowledged: dict[str, str]
    not_run: str = ""
    cost_unit: str = ""  # the cost_of_error unit, when the figure is the cost per case

    def reason(self, finding: Finding) -> str | None:
        """Why the authors leave ``finding``'s group aside, or None when they did not acknowledge it."""
        return self.acknowledged.get(group_key(finding.name))

    @property
    def unacknowledged(self) -> tuple[Finding, ...]:
        """The groups shown that the story's authors have not acknowledged."""
        if self.result is None:
            return ()
        return tuple(f for f in self.result.shown if self.reason(f) is None)


def group_key(name: str) -> str:
    """A group's name as compared with story.yaml's ``acknowledged``: case and spacing ignored."""
    return " ".join(name.split()).casefold()


def scanned_columns(story: StorySource, columns: list[str]) -> list[str]:
    """The columns of the evaluation set the scan reads (in the set's order); a located error when
    ``scan.skip_columns`` names a column the set does not have."""
    config = story.config
    evaluation, spec = config.evaluation, config.scan or ScanSpec()
    assert evaluation is not None
    for index, name in enumerate(spec.skip_columns):
        if name not in columns:
            raise SourceError(f"scan.skip_columns names {name!r}, which is not a column of the evaluation set",
                              location=story.yaml.location(("scan", "skip_columns", index)),
                              hint=f"columns: {', '.join(columns[:20])}")
    never = {s.column for s in config.slices} | set(spec.skip_columns)
    never |= {evaluation.label_column, evaluation.score_column, evaluation.actual_column}
    if config.task == "regression":
        never.add(evaluation.forecast_column)  # the forecast: prediction_column, or its default
    never |= {c for c in (evaluation.id_column, evaluation.prediction_column, evaluation.lower_column,
                          evaluation.upper_column) if c is not None}
    never |= {str(c.probability_column) for c in evaluation.classes or () if c.probability_column is not None}
    return [c for c in columns if c not in never]


def analyse_weak_groups(story: StorySource, task_set: AnyScoredSet | None) -> WeakGroups | None:
    """The story's scan: every story with a row-level scored set is scanned unasked (``scan:`` in story.yaml
    tunes it, ``scan: {enabled: false}`` turns it off); None when there is nothing to scan and the story did not
    ask, or the authors turned it off."""
    spec = story.config.scan
    if spec is None:
        evaluation = story.config.evaluation
        rows = isinstance(task_set, RegressionSet | MulticlassSet) or (
            isinstance(task_set, ScoredSet) and not task_set.weighted)
        if evaluation is None or evaluation.artifact is None or not rows:
            return None
        spec = ScanSpec()
    if not spec.enabled:
        return None
    acknowledged = {group_key(a.group): a.reason for a in spec.acknowledged}
    if task_set is None:
        return WeakGroups(None, (), acknowledged, not_run="the story has no scored evaluation set to scan")
    if isinstance(task_set, ScoredSet) and task_set.weighted:
        return WeakGroups(None, (), acknowledged, not_run="the evaluation set is counted into an aggregate, and the "
                          "scan needs one row per case")
    # A share counted among fewer cases than the page's wording rules allow is told as "too few cases to say",
    # so no group is tried on fewer.
    least = max(spec.min_denominator, wording_rules(story.project).min_count)
    settings = ScanSettings(min_group_size=spec.min_group_size, min_denominator=least,
                            false_discovery_rate=spec.false_discovery_rate, max_values=spec.max_values,
                            max_pair_columns=spec.max_pair_columns, show=spec.show)
    frame = task_set.frame
    columns = frame[scanned_columns(story, [str(c) for c in frame.columns])]
    costs = story.config.cost_of_error
    if isinstance(task_set, ScoredSet):
        cells = task_set.labels.astype(np.int64) * 2 + (task_set.scores >= task_set.threshold)
        if costs is not None and costs.shape == "binary":
            # cells: 0 rightly left alone, 1 false alarm, 2 miss, 3 rightly flagged
            figure = Figure("cost", "mean", cell_values=(costs.true_negative, costs.cost_fp, costs.cost_fn,
                                                         costs.true_positive))
            result = scan(columns, cells, 4, (figure,), settings=settings)
            return WeakGroups(result, ("cost",), acknowledged, cost_unit=costs.unit)
        figures = (Figure("misses", "share", among=(2, 3), event=(2,)),
                   Figure("false_alarms", "share", among=(0, 1), event=(1,)))
        return WeakGroups(scan(columns, cells, 4, figures, settings=settings), ("misses", "false_alarms"),
                          acknowledged)
    if isinstance(task_set, RegressionSet):
        misses = np.abs(task_set.scores.actual - task_set.scores.predicted)
        result = scan(columns, np.zeros(len(frame), dtype=np.int64), 1, (Figure("average_miss", "mean"),),
                      values=misses, settings=settings)
        return WeakGroups(result, ("average_miss",), acknowledged)
    assert isinstance(task_set, MulticlassSet)
    wrong = (task_set.scores.truth != task_set.scores.predicted).astype(np.int64)
    result = scan(columns, wrong, 2, (Figure("wrong_calls", "share", among=(0, 1), event=(1,)),),
                  settings=settings)
    return WeakGroups(result, ("wrong_calls",), acknowledged)
