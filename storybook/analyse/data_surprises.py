"""Leaks and surprises in the data, found without being asked: what the data says about itself.

Four looks at a scored evaluation set (and, when the story names one, the run's training table):

1. **A possible leak**: an input column that on its own tells the outcome almost perfectly (at least
   :data:`LEAK_AT`, 0.98). Yes/no outcome: a numeric column's ROC AUC either way round (``max(auc, 1 - auc)``), a
   category column's balanced accuracy of "say the commonest outcome of the row's value". Several classes: the
   same balanced accuracy (numbers cut into :data:`BINS` bins of equal size). An amount: the larger of the
   column's rank correlation (absolute) and the share of the amount's variance it explains alone (R², a line for
   numbers, group means for categories).
   Values seen in fewer than :data:`MIN_VALUE_ROWS` rows are pooled into one group, so rare values cannot look
   telling by chance; a column is judged on its non-missing rows, at least :data:`MIN_ROWS` of them.
2. **Columns that tell nothing**: one value only (constant), or missing in at least :data:`MISSING_AT` (95%) of
   the rows.
3. **Groups on one side only**: a value of a category column present in the training table but absent from the
   evaluation set, or the reverse, when its share of the side where it is would give at least
   :data:`MIN_EXPECTED` rows on the other side (so an absence is not mere chance).
4. **Outcomes that contradict each other**: rows identical in every input column but with different outcomes
   (yes/no and several classes; amounts vary for identical inputs by nature, so not for regression).

Left out everywhere: the label, score, prediction and interval columns (the caller's ``skip``), the story's id
column and **id-like** columns: text or whole-number columns whose non-missing values are at least 95% distinct
(a row's name, not a measurement). Pure: no I/O, no randomness.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.metrics.separation import (
    Conflicts,
    column_auc,
    conflicting_rows,
    majority_balanced_accuracy,
    r_squared,
    spearman,
)

__all__ = [
    "BINS",
    "LEAK_AT",
    "MIN_EXPECTED",
    "MIN_ROWS",
    "MIN_VALUE_ROWS",
    "MISSING_AT",
    "DataSurprises",
    "EmptyColumn",
    "GroupGap",
    "Leak",
    "Task",
    "find_surprises",
    "group_gaps",
    "id_like",
]

Task = Literal["binary", "multiclass", "regression"]
LEAK_AT = 0.98
MISSING_AT = 0.95
MIN_VALUE_ROWS = 5
MIN_ROWS = 20
MIN_EXPECTED = 5.0
BINS = 20
ID_LIKE_DISTINCT = 0.95
MAX_CATEGORIES = 50  # a category column for groups on one side only has at most this many values


@dataclass(frozen=True)
class Leak:
    """A column that tells the outcome on its own: ``measure`` is ``auc``, ``balanced_accuracy``,
    ``spearman`` (absolute) or ``r_squared``; ``value`` its figure on ``rows`` non-missing rows."""

    column: str
    measure: Literal["auc", "balanced_accuracy", "spearman", "r_squared"]
    value: float
    rows: int


@dataclass(frozen=True)
class EmptyColumn:
    """A column with one value only (``value``) or mostly missing (``missing`` of ``n`` rows)."""

    column: str
    kind: Literal["constant", "missing"]
    missing: int
    n: int
    value: str | None = None


@dataclass(frozen=True)
class GroupGap:
    """A value of ``column`` with ``count`` rows in ``present_in`` and none on the other side, where its share
    would give ``expected`` rows of the other side's ``other_rows``."""

    column: str
    group: str
    present_in: Literal["training", "evaluation"]
    count: int
    expected: float
    other_rows: int


@dataclass(frozen=True)
class DataSurprises:
    """What :func:`find_surprises` found. ``inputs`` are the columns judged as inputs; ``conflicts`` is None for
    regression; ``gaps`` is None without a training table (``compared``: the category columns both tables
    hold)."""

    rows: int
    inputs: tuple[str, ...]
    leaks: tuple[Leak, ...]
    empty: tuple[EmptyColumn, ...]
    conflicts: Conflicts | None
    gaps: tuple[GroupGap, ...] | None = None
    compared: tuple[str, ...] = ()


def id_like(column: pd.Series) -> bool:
    """Text or whole numbers, at least :data:`MIN_ROWS` non-missing values, 95% or more of them distinct."""
    values = column.dropna()
    if len(values) < MIN_ROWS or pd.api.types.is_bool_dtype(column) or pd.api.types.is_float_dtype(column):
        return False
    return values.nunique() >= ID_LIKE_DISTINCT * len(values)


def find_surprises(frame: pd.DataFrame, target: npt.ArrayLike, *, task: Task, skip: Collection[str] = (),
                   training: pd.DataFrame | None = None) -> DataSurprises:
    """Leaks, columns that tell nothing, groups on one side only (with ``training``) and contradicting outcomes.

    ``target`` is one entry per row of ``frame``: True/False for a yes/no story, class codes for several
    classes, amounts for regression. ``skip`` names the columns that are not inputs (label, score, id ...).
    """
    outcome = np.asarray(target)
    if outcome.size != len(frame):
        raise ValueError(f"{outcome.size} outcomes for {len(frame)} rows")
    skipped = set(skip)
    candidates = [str(c) for c in frame.columns if str(c) not in skipped]
    empty = tuple(e for e in (_empty(frame[c], c) for c in candidates) if e is not None)
    told_empty = {e.column for e in empty}
    inputs = tuple(c for c in candidates if c not in told_empty and not id_like(frame[c]))
    leaks = tuple(leak for leak in (_leak(frame[c], c, outcome, task) for c in inputs) if leak is not None)
    conflicts = None
    if task != "regression":
        # Every input but the columns that tell nothing; a constant column changes no comparison anyway.
        conflicts = conflicting_rows(frame, list(inputs), outcome)
    gaps, compared = (None, ()) if training is None else group_gaps(training, frame, inputs)
    return DataSurprises(rows=len(frame), inputs=inputs, leaks=leaks, empty=empty, conflicts=conflicts,
                         gaps=gaps, compared=compared)


def _empty(column: pd.Series, name: str) -> EmptyColumn | None:
    n = len(column)
    if n == 0:
        return None
    missing = int(column.isna().sum())
    if missing >= MISSING_AT * n:
        return EmptyColumn(name, "missing", missing, n)
    values = column.dropna()
    first = values.iloc[0]
    if _is_number(values):
        numbers = values.to_numpy(dtype=float)
        one = bool(numbers.min() == numbers.max())
    else:
        one = bool((values == first).all())
    return EmptyColumn(name, "constant", missing, n, value=str(first)[:60]) if one else None


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _codes(values: pd.Series) -> npt.NDArray[np.intp]:
    """Integer codes of a column's values, those seen in fewer than MIN_VALUE_ROWS rows pooled as one code."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    sizes = np.bincount(codes, minlength=len(uniques))
    rare = sizes < MIN_VALUE_ROWS
    remap = np.cumsum(~rare) - 1
    pooled = int((~rare).sum())
    return np.where(rare[codes], pooled, remap[codes]).astype(np.intp)


def _leak(column: pd.Series, name: str, outcome: npt.NDArray[np.generic], task: Task) -> Leak | None:
    present = column.notna().to_numpy()
    values = column[present]
    y = outcome[present]
    rows = int(present.sum())
    if rows < MIN_ROWS:
        return None
    number = _is_number(values)
    measure: Literal["auc", "balanced_accuracy", "spearman", "r_squared"]
    if task == "regression":
        amounts = y.astype(float)
        if number:
            rank = spearman(values.to_numpy(dtype=float), amounts)
            line = r_squared(values.to_numpy(dtype=float), amounts)
            value, measure = (abs(rank or 0.0), "spearman")
            if (line or 0.0) > value:
                value, measure = line or 0.0, "r_squared"
        else:
            value, measure = r_squared(_codes(values), amounts, categorical=True) or 0.0, "r_squared"
    elif task == "binary" and number:
        value, measure = column_auc(y.astype(bool), values.to_numpy(dtype=float)) or 0.0, "auc"
    else:
        if number and values.nunique() > BINS:
            values = pd.qcut(values.rank(method="first"), BINS, labels=False)
        classes, _ = pd.factorize(pd.Series(y))
        value, measure = majority_balanced_accuracy(_codes(values), classes) or 0.0, "balanced_accuracy"
    return Leak(name, measure, float(value), rows) if value >= LEAK_AT else None


def group_gaps(training: pd.DataFrame, evaluation: pd.DataFrame, inputs: Collection[str],
               ) -> tuple[tuple[GroupGap, ...], tuple[str, ...]]:
    """Values of category columns (text, yes/no or whole numbers with at most MAX_CATEGORIES values, not
    id-like) found on one side only, in column then count order; and the columns compared."""
    found: list[GroupGap] = []
    compared: list[str] = []
    n_train, n_eval = len(training), len(evaluation)
    for name in inputs:
        if name not in training.columns or pd.api.types.is_float_dtype(evaluation[name]) \
                or pd.api.types.is_float_dtype(training[name]) or id_like(training[name]):
            continue
        train_counts = training[name].dropna().astype(str).value_counts()
        eval_counts = evaluation[name].dropna().astype(str).value_counts()
        if len(train_counts.index.union(eval_counts.index)) > MAX_CATEGORIES:
            continue
        compared.append(name)
        gaps = [GroupGap(name, str(group), "training", int(count), count / n_train * n_eval, n_eval)
                for group, count in train_counts.items() if group not in eval_counts.index]
        gaps += [GroupGap(name, str(group), "evaluation", int(count), count / n_eval * n_train, n_train)
                 for group, count in eval_counts.items() if group not in train_counts.index]
        found += sorted((g for g in gaps if g.expected >= MIN_EXPECTED), key=lambda g: (-g.count, g.group))
    return tuple(found), tuple(compared)
