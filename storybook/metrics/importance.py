"""Permutation drops: how much a model's score falls when one feature's values are shuffled.

:func:`permutation_drops` computes the drops exactly as ``sklearn.inspection.permutation_importance`` does:
the same seed gives the same shuffles (a legacy ``numpy.random.RandomState`` seeded from the story's seed,
one fresh stream per feature, each repeat shuffling the already shuffled column again), so the numbers agree
with scikit-learn's on the same model, data and seed. The model enters only as a predict function.

A leaf: resolve computes the drops (only there is the model loaded); :mod:`storybook.analyse.importance` tells
them. Pure: no I/O, no clock; randomness only from the given seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.metrics.kinds import kind_info, kinds_where

__all__ = [
    "ALL_ROWS",
    "IMPORTANCE_METRICS",
    "PermutationResult",
    "PredictFn",
    "ScoreFn",
    "drops_frame",
    "metric_scorer",
    "permutation_drops",
]

ALL_ROWS = "(all)"
# Metrics a drop can be measured in; each scorer returns "higher is better" numbers, so a drop is a loss.
IMPORTANCE_METRICS = kinds_where(lambda k: k.importance)  # from the table of kinds
PredictFn = Callable[[pd.DataFrame], npt.NDArray[np.float64]]
ScoreFn = Callable[[npt.NDArray[np.bool_], npt.NDArray[np.float64]], float]


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

    ``predict`` gets a frame with the same columns (one of them shuffled) and returns one number per row;
    ``score(labels, predictions)`` is higher for better predictions. Matches
    ``permutation_importance(estimator, features, labels, scoring=..., n_repeats=n_repeats, random_state=seed)``.
    """
    if n_repeats < 1:
        raise ValueError("n_repeats must be at least 1")
    truth = np.asarray(labels, dtype=bool)
    if len(features) != truth.size:
        raise ValueError(f"{len(features)} feature rows but {truth.size} labels")
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
    if info is None or not info.importance:
        raise ValueError(f"cannot measure importance in {kind!r}; use one of {', '.join(IMPORTANCE_METRICS)}")
    sign = -1.0 if info.higher_is_better is False else 1.0

    def score(truth: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]) -> float:
        value = info.measure(truth, scores, threshold).value
        return math.nan if value is None else sign * value

    return score
