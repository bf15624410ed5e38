"""Confusion counts, rates with Wilson intervals, ROC AUC with its Hanley-McNeil interval, and slices.

A row is *flagged* when its score is at or above the threshold (the convention scikit-learn's ``predict``
uses for ``predict_proba >= 0.5`` on binary problems).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

# The binary metrics themselves live in the leaf storybook.metrics.binary (resolve uses them too); they are
# re-exported here for the analysis modules.
from storybook.metrics.binary import (
    Confusion,
    Estimate,
    auc_estimate,
    auc_interval,
    brier_score,
    confusion_at,
    proportion,
    roc_auc,
    weighted_roc_auc,
    wilson_interval,
)
from storybook.metrics.kinds import kinds_where, rate

__all__ = [
    "MAX_GROUPS",
    "MISSING_GROUP",
    "OTHER_GROUPS",
    "PROPORTION_KINDS",
    "Confusion",
    "Estimate",
    "Grouping",
    "SliceRow",
    "SliceTable",
    "auc_estimate",
    "auc_interval",
    "brier_score",
    "confusion_at",
    "disaggregate",
    "group_order",
    "group_rows",
    "other_groups_label",
    "proportion",
    "rate",
    "roc_auc",
    "slice_table",
    "weighted_roc_auc",
    "wilson_interval",
]

# Rates that are a share of some group of rows, so a Wilson interval applies (from the table of kinds).
PROPORTION_KINDS = kinds_where(lambda k: k.proportion)


@dataclass(frozen=True)
class SliceRow:
    """One group of a slice column (e.g. size_band = small)."""

    value: str
    n: int
    positives: int
    confusion: Confusion
    rates: dict[str, Estimate]
    auc: Estimate


@dataclass(frozen=True)
class SliceTable:
    """One slice column's groups, sorted by name. When a column has more than ``MAX_GROUPS`` groups, the
    largest ``MAX_GROUPS`` are shown and the rest are counted together in a last row (``merged`` groups)."""

    column: str
    rows: tuple[SliceRow, ...]
    merged: int = 0


MAX_GROUPS = 50
MISSING_GROUP = "(missing)"


OTHER_GROUPS = re.compile(r"\(the other [\d,]+ smaller groups\)")


def other_groups_label(merged: int) -> str:
    """The name of the row that counts together the groups past the largest ``MAX_GROUPS``."""
    return f"(the other {merged:,} smaller groups)"


@dataclass(frozen=True)
class Grouping:
    """Each row's group as a code into ``names``; when ``merged`` > 0 the last name is the merged row."""

    names: tuple[str, ...]
    codes: npt.NDArray[np.intp]
    merged: int


_FIRST_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_BELOW = re.compile(r"^\s*(?:under|below|less than|fewer than|younger than|up to|<)", re.IGNORECASE)
_ABOVE = re.compile(r"\b(?:or|and) (?:more|older|over|above|higher)\b|\+\s*$|^\s*(?:over|above|more than|older than|>)",
                    re.IGNORECASE)


def group_order(names: Iterable[str]) -> list[str]:
    """The groups of a slice in the order a reader expects: when every group names a number (ranges such as
    "under 25", "25 to 29.9", "30 or more", or "Year 9", "Year 10"), by its first number, "under"/"below" a
    number before the groups that start at it and "or more"/"or older" after, "(missing)" last; otherwise by
    name. Nothing is guessed from words alone: "small", "medium", "large" stay in the order of their names."""
    named = set(names)
    told = sorted(named - {MISSING_GROUP})
    numbers = {name: _FIRST_NUMBER.search(name) for name in told}
    if len(told) < 2 or any(found is None for found in numbers.values()):
        return sorted(named)

    def key(name: str) -> tuple[float, int, str]:
        found = numbers[name]
        assert found is not None
        side = -1 if _BELOW.search(name) else 1 if _ABOVE.search(name) else 0
        return float(found.group(0).replace(",", "")), side, name

    return sorted(told, key=key) + ([MISSING_GROUP] if MISSING_GROUP in named else [])


def group_rows(column: pd.Series, limit: int = MAX_GROUPS, *, categories: bool = False,
               weights: npt.NDArray[np.int64] | None = None) -> Grouping:
    """Rows grouped by the text of their value (missing values form "(missing)"), in O(rows + groups).

    The groups are in :func:`group_order` (ranges by their numbers, else by name). With ``categories``, a
    categorical column lists every category, so a category with no rows is a group of size 0. With more than
    ``limit`` groups, the ``limit`` largest are kept (ties in that order) and the others are counted together
    in one last row named by :func:`other_groups_label`.
    """
    raw_codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = [str(value) for value in pd.Series(uniques, dtype=object).astype("string")]
    if categories and isinstance(column.dtype, pd.CategoricalDtype):
        texts += [str(category) for category in column.dtype.categories]
    if bool((raw_codes < 0).any()):
        texts.append(MISSING_GROUP)
    names = group_order(set(texts))
    position = {name: i for i, name in enumerate(names)}
    lookup = np.asarray([position[t] for t in texts[:len(uniques)]] + [position.get(MISSING_GROUP, 0)],
                        dtype=np.intp)
    codes = lookup[np.asarray(raw_codes, dtype=np.intp)]  # -1 (missing) picks the last entry of lookup
    if len(names) <= limit:
        return Grouping(names=tuple(names), codes=codes, merged=0)
    sizes = np.bincount(codes, weights=weights, minlength=len(names))  # cases, when rows stand for several
    # Largest first; among equal sizes the earlier group (in group_order, so the lower index) first.
    ranked = np.lexsort((np.arange(len(names)), -sizes))
    keep = np.sort(ranked[:limit])
    merged = len(names) - limit
    remap = np.full(len(names), limit, dtype=np.intp)
    remap[keep] = np.arange(limit)
    return Grouping(names=(*(names[i] for i in keep), other_groups_label(merged)), codes=remap[codes],
                    merged=merged)


def _ranks_within(values: npt.NDArray[np.float64], codes: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Each row's rank among the rows of its group (1 = lowest score; ties share their average rank)."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    order = np.lexsort((values, codes))
    by_group, by_value = codes[order], values[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = by_group[1:] != by_group[:-1]
    new_run = new_group.copy()  # a run: equal scores within one group
    new_run[1:] |= by_value[1:] != by_value[:-1]
    run_starts = np.flatnonzero(new_run)
    run_of = np.cumsum(new_run) - 1
    run_ends = np.append(run_starts[1:], n)
    group_start = np.flatnonzero(new_group)[np.cumsum(new_group) - 1]
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = (run_starts[run_of] + run_ends[run_of] - 1) / 2 - group_start + 1
    return ranks


def _group_aucs(truth: npt.NDArray[np.bool_], values: npt.NDArray[np.float64], codes: npt.NDArray[np.intp],
                groups: int) -> list[Estimate]:
    """Each group's ROC AUC with its Hanley-McNeil interval, from ranks within groups (one vectorised pass)."""
    n = np.bincount(codes, minlength=groups)
    n_pos = np.bincount(codes[truth], minlength=groups)
    ranks = _ranks_within(values, codes)
    rank_sums = np.bincount(codes[truth], weights=ranks[truth], minlength=groups)
    found = []
    for g in range(groups):
        pos, neg = int(n_pos[g]), int(n[g] - n_pos[g])
        if pos == 0 or neg == 0:
            found.append(Estimate(None, None, None, int(n[g])))
            continue
        area = (float(rank_sums[g]) - pos * (pos + 1) / 2) / (pos * neg)
        found.append(auc_interval(area, pos, neg))
    return found


def _slice_row(value: str, labels: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64],
               threshold: float) -> SliceRow:
    confusion = confusion_at(labels, scores, threshold)
    return SliceRow(
        value=value, n=confusion.n, positives=confusion.positives, confusion=confusion,
        rates={kind: rate(kind, confusion) for kind in PROPORTION_KINDS},
        auc=auc_estimate(labels, scores),
    )


def _weighted_group_aucs(truth: npt.NDArray[np.bool_], values: npt.NDArray[np.float64],
                         codes: npt.NDArray[np.intp], groups: int, weights: npt.NDArray[np.int64],
                         ranked: bool) -> list[Estimate]:
    """Each group's ROC AUC of a counted set (``ranked``: its scores keep every case's order, e.g. an exact
    aggregate); None for each group when they do not (cases counted together in a bin cannot be ranked)."""
    found = []
    for g in range(groups):
        rows = codes == g
        n = int(weights[rows].sum())
        area, pos, neg = weighted_roc_auc(truth[rows], values[rows], weights[rows]) if ranked else (None, 0, 0)
        found.append(Estimate(None, None, None, n) if area is None else auc_interval(area, pos, neg))
    return found


def slice_table(truth: npt.NDArray[np.bool_], values: npt.NDArray[np.float64], column: pd.Series,
                threshold: float, name: str, weights: npt.NDArray[np.int64] | None = None,
                ranked: bool = True) -> SliceTable:
    """One column's table in O(rows log rows), whatever the number of groups (see :func:`group_rows`).
    ``weights``: how many cases each row stands for (a counted set's cells); ``ranked``: see
    :func:`disaggregate`."""
    grouping = group_rows(column, weights=weights)
    count = len(grouping.names)
    flagged = values >= threshold

    def per_group(rows: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        counted = None if weights is None else weights[rows]
        return np.bincount(grouping.codes[rows], weights=counted, minlength=count).astype(np.int64)

    sizes = per_group(np.ones(truth.size, dtype=bool))
    tps, fps, fns = per_group(truth & flagged), per_group(~truth & flagged), per_group(truth & ~flagged)
    aucs = (_group_aucs(truth, values, grouping.codes, count) if weights is None
            else _weighted_group_aucs(truth, values, grouping.codes, count, weights, ranked))
    rows = []
    for g, name_of_group in enumerate(grouping.names):
        confusion = Confusion(tp=int(tps[g]), fp=int(fps[g]), tn=int(sizes[g] - tps[g] - fps[g] - fns[g]),
                              fn=int(fns[g]))
        rows.append(SliceRow(value=name_of_group, n=confusion.n, positives=confusion.positives,
                             confusion=confusion, rates={kind: rate(kind, confusion) for kind in PROPORTION_KINDS},
                             auc=aucs[g]))
    return SliceTable(column=name, rows=tuple(rows), merged=grouping.merged)


def disaggregate(labels: npt.ArrayLike, scores: npt.ArrayLike, groups: pd.DataFrame, threshold: float, *,
                 weights: npt.ArrayLike | None = None, ranked: bool = True) -> tuple[SliceRow, list[SliceTable]]:
    """The overall row, and one table per column of ``groups`` (rows in the same order as labels).

    Each table's work is O(rows log rows) whatever the number of groups; a column with more than
    ``MAX_GROUPS`` groups shows the largest and counts the rest together (:func:`group_rows`). ``weights``: how
    many cases each row stands for (a counted set's cells; None: one each). ``ranked`` False: the scores do not
    order the cases within a row (cases counted together in a score bin), so no ROC AUC is given.
    """
    truth = np.asarray(labels, dtype=bool)
    values = np.asarray(scores, dtype=float)
    counts = None if weights is None else np.asarray(weights, dtype=np.int64)
    if counts is None:
        overall = _slice_row("all", truth, values, threshold)
    else:
        confusion = confusion_at(truth, values, threshold, counts)
        area, pos, neg = weighted_roc_auc(truth, values, counts) if ranked else (None, 0, 0)
        overall = SliceRow(value="all", n=confusion.n, positives=confusion.positives, confusion=confusion,
                           rates={kind: rate(kind, confusion) for kind in PROPORTION_KINDS},
                           auc=Estimate(None, None, None, confusion.n) if area is None
                           else auc_interval(area, pos, neg))
    tables = [slice_table(truth, values, groups[column].reset_index(drop=True), threshold, str(column),
                          counts, ranked) for column in groups.columns]
    return overall, tables
