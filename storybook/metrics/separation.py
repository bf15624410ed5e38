"""How well one column on its own tells the outcome, and rows whose inputs agree but whose outcomes do not.

Generic statistics for the data checks of :mod:`storybook.analyse.data_surprises`; no story, no words.

- :func:`column_auc`: a numeric column's ROC AUC against a yes/no outcome, either way round
  (``max(auc, 1 - auc)``: a column that is high for the "no" cases separates them just as well);
- :func:`majority_balanced_accuracy`: the rule "say the commonest outcome of the row's value" scored as balanced
  accuracy (the average, over the outcomes, of the share of rows of that outcome it gets right), so a column
  cannot look good merely because one outcome is common;
- :func:`spearman` and :func:`r_squared`: a column against an amount (rank correlation; the share of the
  amount's variance the column explains alone: a straight line for numbers, the group means for categories);
- :func:`conflicting_rows`: rows sharing every input value with a row of another outcome, found through one
  64-bit hash per row (``pandas.util.hash_pandas_object``), so a million rows take about a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.util import hash_pandas_object

__all__ = [
    "Conflicts",
    "average_ranks",
    "column_auc",
    "conflicting_rows",
    "majority_balanced_accuracy",
    "r_squared",
    "spearman",
]


def _tie_groups(x: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp],
                                                    npt.NDArray[np.intp]]:
    """The sort order of ``x``, and where each run of equal values starts and ends in it."""
    order = np.argsort(x)
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts, np.r_[starts[1:], x.size]


def average_ranks(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Ranks from 1, ties given the average of their ranks (as ``pandas.Series.rank()``), by one sort."""
    x = np.asarray(values, dtype=float)
    order, starts, ends = _tie_groups(x)
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + 1 + ends) / 2, ends - starts)
    return ranks


def column_auc(labels: npt.ArrayLike, values: npt.ArrayLike) -> float | None:
    """``max(auc, 1 - auc)`` of ``values`` as a score for ``labels`` (Mann-Whitney, ties count half); None
    without both outcomes. The same figure as :func:`storybook.metrics.binary.roc_auc`, by one numpy sort: the
    positives' rank sum is each run of equal values' average rank times the positives in it."""
    truth = np.asarray(labels, dtype=bool)
    n_pos = int(truth.sum())
    n_neg = int(truth.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    order, starts, ends = _tie_groups(np.asarray(values, dtype=float))
    positives = np.add.reduceat(truth[order].astype(np.int64), starts)
    rank_sum = float(np.dot((starts + 1 + ends) / 2, positives))
    area = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return max(area, 1.0 - area)


def majority_balanced_accuracy(groups: npt.ArrayLike, outcomes: npt.ArrayLike) -> float | None:
    """Balanced accuracy of "each group's commonest outcome" (ties: the outcome with the smaller code).

    ``groups`` and ``outcomes`` are non-negative integer codes, one per row. None with fewer than two outcomes.
    """
    g = np.asarray(groups, dtype=np.intp)
    y = np.asarray(outcomes, dtype=np.intp)
    if g.size != y.size:
        raise ValueError(f"{g.size} groups for {y.size} outcomes")
    if g.size == 0:
        return None
    k = int(y.max()) + 1
    present = np.bincount(y, minlength=k)
    if np.count_nonzero(present) < 2:
        return None
    cells = np.bincount(g * k + y, minlength=(int(g.max()) + 1) * k).reshape(-1, k)
    said = np.argmax(cells, axis=1)  # argmax keeps the first of equal counts
    right = np.bincount(y[said[g] == y], minlength=k)
    observed = present > 0
    return float(np.mean(right[observed] / present[observed]))


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when either side is constant."""
    return _pearson(average_ranks(x), average_ranks(y))


def r_squared(x: npt.ArrayLike, y: npt.ArrayLike, *, categorical: bool = False) -> float | None:
    """The share of ``y``'s variance explained by ``x`` alone: a least-squares line (numbers; the squared
    Pearson correlation) or each category's mean of ``y`` (``categorical``; x holds integer codes). None when
    ``y`` (or a numeric ``x``) is constant."""
    target = np.asarray(y, dtype=float)
    if not categorical:
        r = _pearson(np.asarray(x, dtype=float), target)
        return None if r is None else r * r
    codes = np.asarray(x, dtype=np.intp)
    total = float(np.sum((target - target.mean()) ** 2))
    if target.size == 0 or total == 0:
        return None
    sizes = np.bincount(codes)
    means = np.bincount(codes, weights=target) / np.maximum(sizes, 1)
    residual = float(np.sum((target - means[codes]) ** 2))
    return max(0.0, 1.0 - residual / total)


def _pearson(a: npt.NDArray[np.floating[Any]], b: npt.NDArray[np.floating[Any]]) -> float | None:
    if a.size < 2:
        return None
    da, db = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt(np.sum(da * da) * np.sum(db * db)))
    if denominator == 0:
        return None
    return float(np.clip(np.sum(da * db) / denominator, -1.0, 1.0))


@dataclass(frozen=True)
class Conflicts:
    """Rows whose inputs match another row's exactly but whose outcome differs.

    ``rows``: rows in such a set of identical inputs (every row of it counts, whatever its outcome);
    ``groups``: how many distinct input combinations have more than one outcome; ``n``: rows compared.
    """

    rows: int
    groups: int
    n: int


def conflicting_rows(frame: pd.DataFrame, columns: Sequence[str], outcomes: npt.ArrayLike) -> Conflicts:
    """Rows with identical values in every one of ``columns`` (missing values match each other) but different
    ``outcomes``. Rows are compared by one 64-bit hash of their values; two different rows share a hash with
    negligible chance (about n^2 / 2^65)."""
    codes, _ = pd.factorize(pd.Series(np.asarray(outcomes)), use_na_sentinel=False)
    if codes.size != len(frame):
        raise ValueError(f"{codes.size} outcomes for {len(frame)} rows")
    if not columns or len(frame) == 0:
        return Conflicts(0, 0, len(frame))
    hashes = hash_pandas_object(frame[list(columns)], index=False).to_numpy(dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    h, y = hashes[order], codes[order]
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    sizes = np.diff(np.r_[starts, h.size])
    mixed = np.minimum.reduceat(y, starts) != np.maximum.reduceat(y, starts)
    return Conflicts(rows=int(sizes[mixed].sum()), groups=int(mixed.sum()), n=len(frame))
