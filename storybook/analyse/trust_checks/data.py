"""Trust in the **data**: balance of outcomes and outcome rate per group, missing values, rows shared between
training and evaluation sets, groups too small to judge, shift between training data and production inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.util import hash_pandas_object

from storybook.analyse.classification import (
    Estimate,
    group_rows,
    proportion,
)
from storybook.analyse.plain import Vocabulary, capitalise
from storybook.analyse.trust_checks.evidence import EPS, Evidence, FigureValue
from storybook.analyse.trust_checks.statistics import MODERATE_SHIFT, psi
from storybook.analyse.trust_checks.words import (
    all_groups,
    column_name,
    count_of,
    every,
    group_noun,
    has,
    listed,
    listing,
    one_in,
    pct,
)


def check_class_balance(labels: npt.ArrayLike, *, min_share: float = 0.1, source: str,
                        words: Vocabulary | None = None, weights: npt.ArrayLike | None = None) -> Evidence:
    """Balance of outcomes: passes when the rarer outcome is at least ``min_share`` of all rows. ``weights``: how
    many cases each row stands for (a counted set's cells)."""
    words = words or Vocabulary()
    truth = np.asarray(labels, dtype=bool).ravel()
    n, positives = int(truth.size), int(truth.sum())
    if weights is not None:
        cases = np.asarray(weights, dtype=np.int64).ravel()
        n, positives = int(cases.sum()), int(cases[truth].sum())
    figures: dict[str, FigureValue] = {"n": n, "positives": positives, "min_share": min_share}
    if n == 0:
        return Evidence("data", "data.class_balance", f"There are no {words.unit} to count.", None, figures,
                        source)
    minority = min(positives, n - positives)
    figures["minority_share"] = minority / n
    sentence = (f"{capitalise(one_in(positives, n))} of {words.unit} {words.positive} ({positives:,} of {n:,}); the "
                f"rarer outcome makes up {one_in(minority, n)}, and the story asks for at least {pct(min_share)}.")
    return Evidence("data", "data.class_balance", sentence, minority / n >= min_share - EPS, figures, source)


def check_class_shares(counts: Sequence[tuple[str, int]], *, unit: str, source: str,
                       min_share: float | None = None) -> Evidence:
    """Balance of a multiclass story's classes: passes when the rarest class (``counts``: each class's words,
    "need extra support", and its rows) is at least ``min_share`` of all rows; by default 10%, or half an even
    share when there are more than five classes."""
    n = sum(count for _, count in counts)
    share = min_share if min_share is not None else min(0.1, 1 / (2 * max(len(counts), 1)))
    figures: dict[str, FigureValue] = {"n": n, "classes": len(counts), "min_share": share}
    if n == 0:
        return Evidence("data", "data.class_balance", f"There are no {unit} to count.", None, figures, source)
    rarest = min(count for _, count in counts)
    figures["minority_share"] = rarest / n
    told = listing([f"{count:,} {means} ({one_in(count, n)})" for means, count in counts])
    sentence = (f"Of the {n:,} {unit}, {told}; the rarest class makes up {one_in(rarest, n)}, and the story asks "
                f"for at least {pct(share)}.")
    return Evidence("data", "data.class_balance", sentence, rarest / n >= share - EPS, figures, source)


@dataclass(frozen=True)
class LabelRate:
    """One group's outcome rate: ``positives`` of ``n`` rows, with its Wilson interval."""

    group: str
    n: int
    positives: int
    rate: Estimate


def label_rates(labels: npt.ArrayLike, groups: pd.Series,
                weights: npt.ArrayLike | None = None) -> tuple[LabelRate, ...]:
    """Outcome rate per group (groups sorted by name; missing values as "(missing)"); ``weights``: how many cases
    each row stands for (a counted set's cells)."""
    truth = np.asarray(labels, dtype=bool).ravel()
    names, codes = all_groups(groups, truth.size)
    cases = None if weights is None else np.asarray(weights, dtype=np.int64).ravel()
    sizes = np.bincount(codes, weights=cases, minlength=len(names)).astype(np.int64)
    positives = np.bincount(codes[truth], weights=None if cases is None else cases[truth],
                            minlength=len(names)).astype(np.int64)
    return tuple(LabelRate(name, int(sizes[i]), int(positives[i]), proportion(int(positives[i]), int(sizes[i])))
                 for i, name in enumerate(names))


def check_label_rates(labels: npt.ArrayLike, groups: pd.Series, *, min_size: int = 30, min_per_class: int = 5,
                      source: str, words: Vocabulary | None = None, weights: npt.ArrayLike | None = None) -> Evidence:
    """Outcome rate per group: passes when every group of at least ``min_size`` rows holds at least
    ``min_per_class`` rows of each outcome (enough to measure the model on that group). ``weights``: see
    :func:`label_rates`."""
    words = words or Vocabulary()
    rows = label_rates(labels, groups, weights)
    name = column_name(groups)
    judged = [r for r in rows if r.n >= min_size]
    small = [r for r in rows if r.n < min_size]
    too_small = (f" Too small to judge (fewer than {min_size} rows): "
                 f"{listed([f'{r.group} ({r.n:,})' for r in small])}.") if small else ""
    figures: dict[str, FigureValue] = {"groups": len(judged), "too_small": len(small), "min_size": min_size,
                                       "min_per_class": min_per_class}
    if not judged:
        return Evidence("data", "data.label_rates", f"No {group_noun(groups)} has at least {min_size} rows.{too_small}",
                        None, figures, source)
    shares = listed([f"{r.group} {one_in(r.positives, r.n)} ({r.positives:,} of {r.n:,})" for r in judged])
    thin = [r for r in judged if min(r.positives, r.n - r.positives) < min_per_class]
    lacking = (f" Fewer than {min_per_class} of one outcome, too few to measure the model on: "
               f"{listed([r.group for r in thin])}.") if thin else ""
    sentence = f"Share of {words.unit} who {words.positive}, by {name}: {shares}.{lacking}{too_small}"
    return Evidence("data", "data.label_rates", sentence, not thin, figures, source)


@dataclass(frozen=True)
class MissingCount:
    """Missing values of one column, overall (``group`` None) or within one group."""

    column: str
    group: str | None
    missing: int
    n: int

    @property
    def share(self) -> float:
        return self.missing / self.n if self.n else 0.0


def missing_values(frame: pd.DataFrame, groups: pd.Series | None = None) -> tuple[MissingCount, ...]:
    """Missing values per column (in column order), then per group and column (groups sorted by name)."""
    missing = frame.isna()
    rows = [MissingCount(str(c), None, int(missing[c].sum()), len(frame)) for c in frame.columns]
    if groups is not None:
        if len(groups) != len(frame):
            raise ValueError(f"groups has {len(groups)} rows but there are {len(frame)} labels")
        # The largest groups one by one and the rest together (group_rows), counted in one pass over the rows.
        grouping = group_rows(groups.reset_index(drop=True))
        sizes = np.bincount(grouping.codes, minlength=len(grouping.names))
        per_group = missing.reset_index(drop=True).groupby(grouping.codes).sum()
        for i, key in enumerate(grouping.names):
            found = per_group.index == i
            counts = per_group.to_numpy()[found][0] if found.any() else np.zeros(len(frame.columns))
            rows.extend(MissingCount(str(c), key, int(counts[j]), int(sizes[i])) for j, c in enumerate(frame.columns))
    return tuple(rows)


def check_missing(frame: pd.DataFrame, groups: pd.Series | None = None, *, tolerance: float = 0.05,
                  min_size: int = 30, source: str) -> Evidence:
    """Missing values: passes when no column has more than ``tolerance`` missing, overall or within any group
    of at least ``min_size`` rows."""
    counts = missing_values(frame, groups)
    overall = [c for c in counts if c.group is None]
    by_group = [c for c in counts if c.group is not None and c.n >= min_size]
    figures: dict[str, FigureValue] = {"rows": len(frame), "columns": len(overall), "tolerance": tolerance}
    if len(frame) == 0 or not overall:
        return Evidence("data", "data.missing", "There are no rows to check for missing values.", None, figures,
                        source)
    gaps = sorted((c for c in overall if c.missing), key=lambda c: (-c.missing, c.column))
    worst = max(by_group, key=lambda c: (c.share, c.missing), default=None)
    highest = max([c.share for c in overall] + [c.share for c in by_group])
    figures["highest_share"] = highest
    if not gaps:
        return Evidence("data", "data.missing",
                        f"No values are missing in {count_of(len(overall), 'column')} ({len(frame):,} rows).", True,
                        figures, source)
    listed = listing([f"{c.column} {one_in(c.missing, c.n)} ({c.missing:,} of {c.n:,})" for c in gaps])
    sentence = f"{len(gaps)} of {count_of(len(overall), 'column')} {has(len(gaps))} missing values: {listed}."
    if worst is not None and worst.missing and groups is not None:
        sentence += (f" Most missing within one group: {worst.column} where {column_name(groups)} is {worst.group}, "
                     f"{one_in(worst.missing, worst.n)} ({worst.missing:,} of {worst.n:,}).")
    sentence += f" The story allows up to {pct(tolerance)} missing in any column or group."
    return Evidence("data", "data.missing", sentence, highest <= tolerance + EPS, figures, source)


def duplicated_rows(training: pd.DataFrame, evaluation: pd.DataFrame, columns: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Per evaluation row, whether an identical row (over ``columns``) is in the training set.

    Rows are compared by a 64-bit hash of their values (``pandas.util.hash_pandas_object``, index ignored);
    missing values match each other, as in ``DataFrame.duplicated``. Both frames are read with a common
    dtype per column first (so 1 and 1.0 match). Two different rows share a hash with negligible chance.
    """
    names = list(columns)
    both = pd.concat([training[names], evaluation[names]], ignore_index=True)
    hashes = hash_pandas_object(both, index=False).to_numpy(dtype=np.uint64)
    seen = hashes[: len(training)]
    return np.asarray(np.isin(hashes[len(training):], seen), dtype=bool)


def check_duplicates(training: pd.DataFrame, evaluation: pd.DataFrame, columns: Sequence[str], *,
                     tolerance: float = 0.0, source: str) -> Evidence:
    """Rows shared between training and evaluation: passes when their share of evaluation rows is at most
    ``tolerance`` (none, by default). Each evaluation row that has a twin in training counts once."""
    shared = duplicated_rows(training, evaluation, columns)
    n, count = int(shared.size), int(shared.sum())
    figures: dict[str, FigureValue] = {"shared": count, "evaluation_rows": n, "columns": len(columns),
                                       "tolerance": tolerance}
    if n == 0:
        return Evidence("data", "data.duplicates", "There are no evaluation rows to compare.", None, figures, source)
    share = one_in(count, n)
    if share == "none":
        head = "No evaluation row also appears in training"
    elif share == "all":
        head = "Every evaluation row also appears in training"
    elif share.startswith("1 in"):
        head = f"{share} evaluation rows also appears in training"
    else:
        head = f"{capitalise(share)} of evaluation rows also appear in training"
    sentence = f"{head} ({count:,} of {n:,} rows)."
    return Evidence("data", "data.duplicates", sentence, count / n <= tolerance + EPS, figures, source)


def check_small_slices(groups: pd.Series, *, min_size: int = 30, source: str,
                       weights: npt.ArrayLike | None = None) -> Evidence:
    """Groups too small to judge: passes when every group has at least ``min_size`` rows. ``weights``: how many
    cases each row stands for (a counted set's cells)."""
    name = column_name(groups)
    names, codes = all_groups(groups, len(groups))
    cases = None if weights is None else np.asarray(weights, dtype=np.int64).ravel()
    counted = np.bincount(codes, weights=cases, minlength=len(names)).astype(np.int64)
    sizes = {name: int(counted[i]) for i, name in enumerate(names)}
    figures: dict[str, FigureValue] = {"groups": len(sizes), "min_size": min_size}
    if not sizes:
        return Evidence("data", "data.small_slices", f"There are no rows to group by {name}.", None, figures, source)
    small = [(k, v) for k, v in sizes.items() if v < min_size]
    figures["too_small"] = len(small)
    if not small:
        sentence = (f"Every {group_noun(groups)} has at least {min_size} rows: "
                    f"{listed([f'{k} ({v:,})' for k, v in sizes.items()])}.")
    else:
        sentence = (f"{len(small):,} of {count_of(len(sizes), group_noun(groups))} {has(len(small))} fewer than "
                    f"{min_size} rows, too few to judge: "
                    f"{listed([f'{k} ({v:,})' for k, v in small])}.")
    return Evidence("data", "data.small_slices", sentence, not small, figures, source)


def check_shift(training: pd.DataFrame, production: pd.DataFrame, features: Sequence[str] | None = None, *,
                bins: int = 10, source: str, labels: Mapping[str, str] | None = None) -> Evidence:
    """Shift between training data and production inputs: passes when no feature's PSI reaches 0.25 (a major
    shift); features at 0.1 or more are named (by ``labels``, the story's friendly names, where it gives one),
    largest shift first."""
    friendly = labels or {}
    names = [str(c) for c in training.columns] if features is None else list(features)
    absent = [f for f in names if f not in production.columns or f not in training.columns]
    if absent:
        raise ValueError(f"features missing from the training or production data: {', '.join(absent)}")
    figures: dict[str, FigureValue] = {"features": len(names), "production_rows": len(production)}
    if len(production) == 0 or len(training) == 0 or not names:
        return Evidence("data", "data.shift", "There are no production inputs to compare with the training data yet.",
                        None, figures, source)
    shifts = [psi(training[f].rename(f), production[f].rename(f), bins) for f in names]
    figures.update({f"psi_{s.feature}": s.psi for s in shifts})
    moved = sorted((s for s in shifts if s.size != "none"), key=lambda s: (-s.psi, s.feature))
    if not moved:
        sentence = (f"Production inputs look like the training data in {every(len(names), 'feature')} (no feature's "
                    f"Population Stability Index reaches {MODERATE_SHIFT}).")
    else:
        told = "; ".join(f"{friendly.get(s.feature, s.feature)} changed "
                         f"{'a lot' if s.size == 'major' else 'somewhat'} (PSI {s.psi:.2f})" for s in moved)
        sentence = (f"Production inputs have moved away from the training data in {len(moved)} of "
                    f"{count_of(len(names), 'feature')}: {told}.")
    return Evidence("data", "data.shift", sentence, all(s.size != "major" for s in shifts), figures, source)
