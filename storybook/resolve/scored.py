"""The scored evaluation set of a story, built and checked in one place: here for a binary story; the
multiclass and regression sets in their own modules (:mod:`scored_multiclass`, :mod:`scored_regression`), chosen
by the story's task in :func:`task_set`.

Every part of storybook that reads a version's scored set (the model card, the cost of error, trust, the
decision brief, permutation importance) gets it from :func:`scored_set`, which checks its premises once and
refuses, with the story.yaml line to fix, a set that a binary story cannot tell:

- the label and score columns exist;
- the label column holds exactly two values, and ``positive_value`` is one of them (a three-class set, or a
  regression target, is refused: storybook does not tell those stories yet);
- every score is a number between 0 and 1 (a chance), none missing or infinite (predictions from 46 to 294 are
  a regression set, refused);
- the threshold is a number between 0 and 1 (set in the story, or the run's param).

A row is *flagged* when its score is at or above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.errors import SourceError
from storybook.resolve.scored_columns import missing_column
from storybook.resolve.scored_multiclass import MulticlassSet, multiclass_set
from storybook.resolve.scored_regression import RegressionSet, regression_set
from storybook.sources.loader import StorySource

__all__ = [
    "AnyScoredSet",
    "CountedFrom",
    "ScoredSet",
    "checked_columns",
    "ranks_cases",
    "scored_set",
    "task_set",
    "threshold_of",
]

_SHOWN_LABELS = 5


@dataclass(frozen=True)
class CountedFrom:
    """Where a weighted set's counts come from (an aggregate, see :mod:`scored_aggregate`): how many cases were
    counted into how many score bins, whether every distinct score kept its own bin (``exact``), the engine that
    counted them and when, and the finest step a threshold can be set to (the bin width; 0 when exact)."""

    cases: int
    bins: int
    exact: bool
    engine: str
    made_on: str  # a date, e.g. "2026-12-01"; "" when the aggregate does not say
    step: float
    artifact: str
    sample_rows: int = 0  # rows of the row-level sample logged beside it (evaluation.artifact), 0 when none
    replicates: int = 0  # bootstrap replicate columns (0: no intervals from it)
    seed: int = 0  # the seed they were drawn with


@dataclass(frozen=True, eq=False)
class ScoredSet:
    """One version's scored evaluation set: which rows are really positive, their scores, the threshold in use,
    and the whole table (for slices and features).

    A set counted into an aggregate is *weighted*: each row is a cell (a slice value x label x score bin),
    ``weights`` says how many cases it holds, its score is the bin's lower edge (so a threshold at an edge flags
    exactly the cases it would flag row by row), and ``replicates`` (cells x B) holds the Poisson bootstrap's
    replicate counts of each cell: the resampling weights intervals are read from. ``weights`` None: one case
    per row (a row-level set)."""

    labels: npt.NDArray[np.bool_]
    scores: npt.NDArray[np.float64]
    threshold: float
    frame: pd.DataFrame
    threshold_source: str = ""  # where the threshold was read, in plain words (see threshold_of)
    weights: npt.NDArray[np.int64] | None = None
    replicates: npt.NDArray[np.int32] | None = None  # as the aggregate stores them (half the memory of int64)
    counted: CountedFrom | None = None

    @property
    def n(self) -> int:
        """The number of cases (the sum of the weights of a weighted set)."""
        return int(self.labels.size) if self.weights is None else int(self.weights.sum())

    @property
    def weighted(self) -> bool:
        return self.weights is not None


def ranks_cases(scored: ScoredSet) -> bool:
    """Whether the set's scores order its cases as the model did: a row-level set, or an exact aggregate (every
    distinct score its own bin); not when cases were counted together in score bins (their order is lost)."""
    return scored.weights is None or (scored.counted is not None and scored.counted.exact)


def threshold_of(story: StorySource, params: dict[str, str], run_id: str, *, which: str = "") -> tuple[float, str]:
    """The threshold a version flags at, and where it comes from: the story's ``evaluation.threshold``, else
    the run's param ``evaluation.threshold_param`` (a number between 0 and 1, or a located error)."""
    evaluation = story.config.evaluation
    assert evaluation is not None
    if evaluation.threshold is not None:
        return evaluation.threshold, "the story (evaluation.threshold)"
    key = str(evaluation.threshold_param)
    location = story.yaml.location(("evaluation", "threshold_param"))
    of = f" ({which})" if which else ""
    raw = params.get(key)
    if raw is None:
        raise SourceError(f"run {run_id}{of} has no param {key!r} holding the threshold", location=location,
                          hint="log the threshold as a param, or set evaluation.threshold")
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(f"param {key!r} of run {run_id}{of} is {raw!r}, not a number between 0 and 1",
                          location=location, hint="log the threshold as a number, or set evaluation.threshold",
                          ) from None
    if not 0 <= value <= 1:
        raise SourceError(f"param {key!r} of run {run_id}{of} is {value}, not between 0 and 1", location=location,
                          hint="a threshold is a chance between 0 and 1; or set evaluation.threshold")
    return value, f"the run's param {key!r}"


def scored_set(story: StorySource, frame: pd.DataFrame, params: dict[str, str], run_id: str, *,
               which: str = "") -> ScoredSet:
    """The checked scored set of one version (``which`` names it in messages, e.g. "version 1, the compared
    version"); a located :class:`SourceError` when a premise of a binary story does not hold."""
    labels, scores = checked_columns(story, frame, which=which)
    threshold, source = threshold_of(story, params, run_id, which=which)
    return ScoredSet(labels=labels, scores=scores, threshold=threshold, frame=frame, threshold_source=source)


def checked_columns(story: StorySource, frame: pd.DataFrame, *, which: str = "",
                    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Which rows are positive, and their scores, once every premise but the threshold holds (for a version
    whose threshold is read elsewhere, e.g. the model's history)."""
    evaluation = story.config.evaluation
    assert evaluation is not None
    subject = f"the evaluation set {evaluation.artifact!r}" + (f" of {which}" if which else "")
    for key, column in (("label_column", evaluation.label_column), ("score_column", evaluation.score_column)):
        if column not in frame.columns:
            raise missing_column(story, frame, (key,), column, subject)
    if len(frame) == 0:
        raise SourceError(f"{subject} has no rows", location=story.yaml.location(("evaluation", "artifact")),
                          hint="log the scored evaluation set with one row per case")
    labels = frame[evaluation.label_column].astype("string")
    scores = _scores(story, frame[evaluation.score_column], labels, subject)
    _check_labels(story, labels, subject)
    return (labels == evaluation.positive_value).to_numpy(dtype=bool), scores


def _scores(story: StorySource, column: pd.Series, labels: pd.Series, subject: str) -> npt.NDArray[np.float64]:
    evaluation = story.config.evaluation
    assert evaluation is not None
    name = evaluation.score_column
    location = story.yaml.location(("evaluation", "score_column"))
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        example = str(column[bad].iloc[0])[:40]
        raise SourceError(f"column {name!r} of {subject} holds values that are not numbers (e.g. {example!r})",
                          location=location, hint="the score column must hold the model's chance for each row")
    scores = values.to_numpy(dtype=np.float64)
    missing = int(np.isnan(scores).sum())
    if missing:
        raise SourceError(f"column {name!r} of {subject} has {missing:,} empty scores", location=location,
                          hint="score every row of the evaluation set")
    if not np.isfinite(scores).all():
        raise SourceError(f"column {name!r} of {subject} holds infinite scores", location=location,
                          hint="the score column must hold chances between 0 and 1")
    low, high = float(scores.min()), float(scores.max())
    if low < 0 or high > 1:
        distinct = labels.dropna().nunique()
        looks = ("; this looks like a regression set (predicted amounts, and "
                 f"{distinct:,} different values in column {evaluation.label_column!r}), which storybook does not "
                 "tell yet" if distinct > 2 else "")
        raise SourceError(f"column {name!r} of {subject} holds values from {low:g} to {high:g}, not chances "
                          f"between 0 and 1{looks}", location=location,
                          hint="log each row's chance of the positive class (e.g. predict_proba's column for it)")
    return scores


def _check_labels(story: StorySource, labels: pd.Series, subject: str) -> None:
    evaluation = story.config.evaluation
    assert evaluation is not None
    name = evaluation.label_column
    location = story.yaml.location(("evaluation", "label_column"))
    missing = int(labels.isna().sum())
    if missing:
        raise SourceError(f"column {name!r} of {subject} has {missing:,} rows without a label", location=location,
                          hint="every row of the evaluation set needs its true label")
    values = sorted(str(v) for v in labels.unique())
    shown = ", ".join(repr(v) for v in values[:_SHOWN_LABELS]) + (" ..." if len(values) > _SHOWN_LABELS else "")
    if len(values) > 2:
        raise SourceError(
            f"column {name!r} of {subject} holds {len(values):,} different labels ({shown}), not two; a story "
            "tells a yes/no outcome, and storybook does not tell multiclass or regression stories yet",
            location=location, hint="point label_column at a yes/no column, or log a one-vs-rest set "
            "(the class the story is about against all others)")
    if len(values) < 2:
        raise SourceError(f"column {name!r} of {subject} holds one label only ({shown}); the evaluation needs "
                          "cases of both outcomes", location=location,
                          hint="evaluate on a set with both positive and negative cases")
    if evaluation.positive_value not in values:
        raise SourceError(f"positive_value {evaluation.positive_value!r} is not one of the labels in column "
                          f"{name!r} of {subject} ({shown})",
                          location=story.yaml.location(("evaluation", "positive_value")),
                          hint="set positive_value to the label the story is about, spelt as in the column")


AnyScoredSet = ScoredSet | MulticlassSet | RegressionSet  # one per task


def task_set(story: StorySource, frame: pd.DataFrame, params: dict[str, str], run_id: str, *,
             which: str = "") -> AnyScoredSet:
    """The checked scored set of one version, for the story's task (evaluation.task)."""
    task = story.config.task
    if task == "multiclass":
        return multiclass_set(story, frame, which=which)
    if task == "regression":
        return regression_set(story, frame, which=which)
    return scored_set(story, frame, params, run_id, which=which)
