"""Permutation drops: how much a model's score falls when one feature's values are shuffled.

:func:`permutation_drops` computes the drops exactly as ``sklearn.inspection.permutation_importance`` does:
the same seed gives the same shuffles (a legacy ``numpy.random.RandomState`` seeded from the story's seed,
one fresh stream per feature, each repeat shuffling the already shuffled column again), so the numbers agree
with scikit-learn's on the same model, data and seed. The model enters only as a predict function.

Each task scores in its own figures (:func:`task_scorer`): a binary story in its shares, ROC AUC or Brier score
at its threshold; a regression story in the rise of its average miss (MAE) or RMSE; a multiclass story in the
drop of its accuracy or the rise of its log loss. A figure where lower is better is negated (as scikit-learn's
``neg_mean_absolute_error``), so a loss always shows as a positive drop.

A leaf: resolve computes the drops (only there is the model loaded); :mod:`storybook.analyse.importance` tells
them. Pure: no I/O, no clock; randomness only from the given seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.metrics import multiclass, regression
from storybook.metrics.kinds import Task, kind_info, kinds_where
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionScores

__all__ = [
    "ALL_ROWS",
    "IMPORTANCE_METRICS",
    "PermutationResult",
    "PredictFn",
    "ScoreFn",
    "drops_frame",
    "importance_metrics",
    "metric_scorer",
    "permutation_drops",
    "task_scorer",
]

ALL_ROWS = "(all)"
# Metrics a drop can be measured in; each scorer returns "higher is better" numbers, so a drop is a loss.
IMPORTANCE_METRICS = kinds_where(lambda k: k.importance)  # from the table of kinds
# A model's output for a frame: one number per row (a binary score, a regression forecast, a multiclass call as a
# class index), or one row of class chances per row (multiclass, in the story's class order).
PredictFn = Callable[[pd.DataFrame], npt.NDArray[Any]]
ScoreFn = Callable[[npt.NDArray[Any], npt.NDArray[Any]], float]  # (truth, predictions) -> higher is better


# --- computing the drops -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermutationResult:
    """The score on the untouched rows and, per feature, the drop after each of ``repeats`` shuffles."""

    features: tuple[str, ...]
    baseline: float
    drops: npt.NDArray[np.float64]  # shape (features, repeats)

    @property
    def repeats(self) -> int:
        return int(self.drops.shape[1]) if self.drops.ndim == 2 else 0


def permutation_drops(predict: PredictFn, features: pd.DataFrame, labels: npt.ArrayLike, score: ScoreFn, *,
                      n_repeats: int = 5, seed: int = 0) -> PermutationResult:
    """Drops in ``score`` when each column of ``features`` is shuffled, as scikit-learn computes them.

    ``predict`` gets a frame with the same columns (one of them shuffled) and returns the model's output for
    each row; ``score(labels, predictions)`` is higher for better predictions. Matches
    ``permutation_importance(estimator, features, labels, scoring=..., n_repeats=n_repeats, random_state=seed)``.
    """
    if n_repeats < 1:
        raise ValueError("n_repeats must be at least 1")
    truth = np.asarray(labels)
    if len(features) != len(truth):
        raise ValueError(f"{len(features)} feature rows but {len(truth)} labels")
    baseline = float(score(truth, np.asarray(predict(features))))
    # scikit-learn draws one seed from the given one, then gives every feature a fresh stream from it.
    feature_seed = int(np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1))
    drops = np.empty((features.shape[1], n_repeats), dtype=np.float64)
    for column_index, column in enumerate(features.columns):
        stream = np.random.RandomState(feature_seed)
        shuffled = features.copy()
        order = np.arange(len(shuffled))
        for repeat in range(n_repeats):
            stream.shuffle(order)  # in place: each repeat shuffles the previous order again
            values = shuffled.iloc[order, column_index]
            values.index = shuffled.index
            shuffled[column] = values
            drops[column_index, repeat] = baseline - float(score(truth, np.asarray(predict(shuffled))))
    return PermutationResult(features=tuple(str(c) for c in features.columns), baseline=baseline, drops=drops)


def drops_frame(result: PermutationResult, *, slice_column: str = ALL_ROWS, group: str = ALL_ROWS) -> pd.DataFrame:
    """The long table storybook pins: one row per feature and repeat (slice, group, feature, repeat, drop)."""
    rows = [(slice_column, group, feature, repeat, float(result.drops[i, repeat]))
            for i, feature in enumerate(result.features) for repeat in range(result.repeats)]
    return pd.DataFrame(rows, columns=["slice", "group", "feature", "repeat", "drop"])


def metric_scorer(kind: str, threshold: float) -> ScoreFn:
    """A "higher is better" score of one kind, on booleans and scores (flagged at or above ``threshold``).

    The figure is the table of kinds' (storybook.metrics.kinds); a kind where lower is better (the Brier
    score) is negated, as scikit-learn's ``neg_brier_score``, so that a loss shows as a positive drop.
    """
    info = kind_info(kind)
    if info is None or not info.importance or info.task != "binary":
        raise ValueError(f"cannot measure importance in {kind!r}; use one of "
                         f"{', '.join(importance_metrics('binary'))}")
    sign = -1.0 if info.higher_is_better is False else 1.0

    def score(truth: npt.NDArray[Any], scores: npt.NDArray[Any]) -> float:
        value = info.measure(np.asarray(truth, dtype=bool), scores, threshold).value
        return math.nan if value is None else sign * value

    return score


# The figure alone (no interval: it is scored once per shuffle) of each regression or multiclass kind that
# permutation importance may measure (the kinds with ``importance`` in the table).
_REGRESSION_FIGURES: dict[str, Callable[[RegressionScores], float]] = {
    "mae": regression.mean_absolute_error, "rmse": regression.root_mean_squared_error}
_MULTICLASS_FIGURES: dict[str, Callable[[MulticlassScores], float | None]] = {
    "multiclass_accuracy": lambda s: multiclass.accuracy(s).value, "log_loss": lambda s: multiclass.log_loss(s).value}


def task_scorer(kind: str, task: Task, *, threshold: float | None = None,
                classes: Sequence[str] = ()) -> ScoreFn:
    """A "higher is better" score of one kind for a story of ``task``.

    binary: on booleans and scores flagged at ``threshold`` (:func:`metric_scorer`); regression: on actual
    amounts and forecasts; multiclass: on true class indices into ``classes`` and either each row's chances of
    the classes (a row per case, the calls then being the most likely class) or the called class indices.
    """
    info = kind_info(kind)
    if info is None or not info.importance or info.task != task:
        raise ValueError(f"a {task} story cannot measure importance in {kind!r}; use one of "
                         f"{', '.join(importance_metrics(task))}")
    if task == "binary":
        assert threshold is not None, "a binary score needs the story's threshold"
        return metric_scorer(kind, threshold)
    sign = -1.0 if info.higher_is_better is False else 1.0
    if task == "regression":
        figure = _REGRESSION_FIGURES[kind]

        def regression_score(truth: npt.NDArray[Any], predictions: npt.NDArray[Any]) -> float:
            forecasts = np.asarray(predictions, dtype=np.float64)
            return sign * figure(RegressionScores(actual=np.asarray(truth, dtype=np.float64), predicted=forecasts))

        return regression_score
    named = tuple(classes)
    chosen = _MULTICLASS_FIGURES[kind]

    def multiclass_score(truth: npt.NDArray[Any], predictions: npt.NDArray[Any]) -> float:
        given = np.asarray(predictions)
        indices = np.asarray(truth, dtype=np.intp)
        if given.ndim == 2:
            scores = MulticlassScores.from_probabilities(named, indices, given)
        else:
            scores = MulticlassScores(named, indices, given.astype(np.intp))
        value = chosen(scores)
        return math.nan if value is None else sign * value

    return multiclass_score


def importance_metrics(task: Task) -> tuple[str, ...]:
    """The kinds a story of ``task`` may measure importance in, in the table's order."""
    return kinds_where(lambda k: k.importance and k.task == task)


for _name in kinds_where(lambda k: k.importance and k.task == "regression"):  # pragma: no cover - a mistake
    if _name not in _REGRESSION_FIGURES:
        raise ImportError(f"importance kind {_name!r} has no figure in storybook.metrics.importance")
for _name in kinds_where(lambda k: k.importance and k.task == "multiclass"):  # pragma: no cover - a mistake
    if _name not in _MULTICLASS_FIGURES:
        raise ImportError(f"importance kind {_name!r} has no figure in storybook.metrics.importance")
