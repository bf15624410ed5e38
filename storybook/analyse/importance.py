"""Permutation importance: how much a model's score drops when one feature's values are shuffled.

:func:`permutation_drops` (in the leaf :mod:`storybook.metrics.importance`, as resolve computes the drops)
gives the drops exactly as ``sklearn.inspection.permutation_importance`` does, for the same model, data and
seed. The model enters only as a predict function, so any model that can score a table can be explained.

:func:`summarise` turns the per-repeat drops into what a reader is told: the mean drop with a 95% interval
over the repeats (Student's t on the repeats), the ranking, "no clear effect" when the interval includes zero,
and, per slice, the groups where a feature matters clearly more or less than overall.

Pure: no I/O, no clock; randomness only from the given seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from storybook.analyse.classification import Estimate
from storybook.analyse.plain import verdict as overlap_verdict

# Computing the drops happens at resolve time, so it lives in the leaf storybook.metrics.importance;
# re-exported here with what the reader is told.
from storybook.metrics.importance import (
    ALL_ROWS,
    IMPORTANCE_METRICS,
    PermutationResult,
    drops_frame,
    metric_scorer,
    permutation_drops,
)

__all__ = [
    "ALL_ROWS",
    "IMPORTANCE_METRICS",
    "Importance",
    "PermutationResult",
    "SliceDifference",
    "drops_frame",
    "importance_interval",
    "metric_scorer",
    "permutation_drops",
    "rank_importances",
    "slice_differences",
]

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (scipy.stats.t.ppf(0.975, df)).
_T_975 = (12.706204736174694, 4.302652729749462, 3.1824463052837078, 2.7764451051977934, 2.5705818356363146,
          2.4469118511449786, 2.364624251592784, 2.306004135204166, 2.262157162798205, 2.228138851986274,
          2.200985160091639, 2.1788128296672284, 2.1603686564627913, 2.144786687917804, 2.131449545559776,
          2.1199052992212546, 2.1098155778333156, 2.1009220402410382, 2.0930240544083087, 2.085963447265864,
          2.0796138447276795, 2.0738730679040254, 2.0686576104190486, 2.0638985616280245, 2.0595385527532972,
          2.0555294386428735, 2.0518305164802846, 2.0484071417952454, 2.045229642132703, 2.0422724563012378)
_Z_975 = 1.959963984540054

# --- what the reader is told ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Importance:
    """One feature's importance: the mean drop over the repeats, its 95% interval and the spread.

    ``std`` is the population standard deviation over the repeats (as scikit-learn's ``importances_std``);
    ``low``/``high`` bound the mean drop (t interval), None with a single repeat. ``clear`` is True when
    the interval leaves out zero.
    """

    feature: str
    label: str
    mean: float
    std: float
    repeats: int
    low: float | None
    high: float | None
    smallest: float | None = None
    largest: float | None = None
    rank: int = 0

    @property
    def clear(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def estimate(self) -> Estimate:
        return Estimate(self.mean, self.low, self.high, self.repeats)


def importance_interval(mean: float, std: float, repeats: int) -> tuple[float | None, float | None]:
    """95% interval of the mean drop from the repeats' mean and population std (ddof 0)."""
    if repeats < 2 or not math.isfinite(mean) or not math.isfinite(std):
        return None, None
    sample_std = std * math.sqrt(repeats / (repeats - 1))
    df = repeats - 1
    # Beyond the table, two Cornish-Fisher terms are within 0.0002 of the exact quantile.
    z = _Z_975
    t = _T_975[df - 1] if df <= len(_T_975) else (
        z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df))
    half = t * sample_std / math.sqrt(repeats)
    return mean - half, mean + half


def _importance(feature: str, label: str, drops: Sequence[float] | None = None, *, mean: float | None = None,
                std: float | None = None, repeats: int | None = None) -> Importance:
    if drops is not None:
        values = np.asarray([d for d in drops if math.isfinite(d)], dtype=np.float64)
        n = int(values.size)
        m = float(values.mean()) if n else math.nan
        s = float(values.std()) if n else math.nan
        smallest = float(values.min()) if n else None
        largest = float(values.max()) if n else None
    else:
        n, m, s, smallest, largest = int(repeats or 0), float(mean or 0.0), float(std or 0.0), None, None
    low, high = importance_interval(m, s, n)
    return Importance(feature=feature, label=label, mean=m, std=s, repeats=n, low=low, high=high,
                      smallest=smallest, largest=largest)


def rank_importances(table: pd.DataFrame, names: Mapping[str, str] | None = None, *,
                     default_repeats: int = 5) -> tuple[Importance, ...]:
    """Features ranked by mean drop, largest first (ties by name), from either table shape:
    per repeat (``feature, repeat, drop``) or per feature (``feature, mean, std`` and optionally
    ``repeats``; without it ``default_repeats`` is assumed)."""
    names = names or {}
    found: list[Importance] = []
    if "drop" in table.columns:
        for feature, rows in table.groupby("feature", sort=True):
            key = str(feature)
            found.append(_importance(key, names.get(key, key), [float(d) for d in rows["drop"]]))
    else:
        for _, row in table.iterrows():
            key = str(row["feature"])
            repeats = int(row["repeats"]) if "repeats" in table.columns else default_repeats
            found.append(_importance(key, names.get(key, key), mean=float(row["mean"]), std=float(row["std"]),
                                     repeats=repeats))
    ordered = sorted((i for i in found if math.isfinite(i.mean)), key=lambda i: (-i.mean, i.feature))
    ordered += sorted((i for i in found if not math.isfinite(i.mean)), key=lambda i: i.feature)
    return tuple(Importance(**{**i.__dict__, "rank": rank}) for rank, i in enumerate(ordered, start=1))


@dataclass(frozen=True)
class SliceDifference:
    """A feature that matters clearly more (or less) within one group than over all rows."""

    slice_column: str
    group: str
    feature: str
    label: str
    overall: Importance
    within: Importance
    direction: str  # "more" or "less"


def slice_differences(table: pd.DataFrame, overall: Sequence[Importance],
                      names: Mapping[str, str] | None = None) -> tuple[SliceDifference, ...]:
    """Groups whose interval for a feature does not overlap the overall one (ends touching count as
    overlap, as in :func:`storybook.analyse.plain.verdict`). Needs the per-repeat shape with
    ``slice`` and ``group`` columns; returns nothing otherwise."""
    if not {"slice", "group", "drop"} <= set(table.columns):
        return ()
    names = names or {}
    by_feature = {i.feature: i for i in overall}
    found: list[SliceDifference] = []
    sliced = table[table["slice"].astype(str) != ALL_ROWS]
    for (column, group, feature), rows in sliced.groupby(["slice", "group", "feature"], sort=True):
        key = str(feature)
        if key not in by_feature:
            continue
        within = _importance(key, names.get(key, key), [float(d) for d in rows["drop"]])
        verdict = overlap_verdict(within.estimate(), by_feature[key].estimate())
        if verdict in ("better", "worse"):
            found.append(SliceDifference(slice_column=str(column), group=str(group), feature=key,
                                         label=names.get(key, key), overall=by_feature[key], within=within,
                                         direction="more" if verdict == "better" else "less"))
    return tuple(found)
