"""The automatic checks behind trust levels: each turns plain data into one :class:`Evidence`.

A check looks at one thing (the model's fit, the data's missing values, a production series) and says in
one sentence what it found, with the figures behind the sentence and where they came from. Checks are
grouped in three areas, as in the design notes:

- **model**: fit on held-out cases with its interval, stability across cross-validation folds,
  calibration, gaps between groups, comparison with another version of the model;
- **data**: balance of outcomes and outcome rate per group, missing values, rows shared between training
  and evaluation sets, groups too small to judge, shift between training data and production inputs;
- **system**: guardrails on a production series, a change in that series against its own history, and
  the deployment history of the registered model.

``passed`` is True or False when the check could run, and None when it could not (no cases, a series too
short, no production inputs yet). Thresholds are always the caller's, declared in the story; the defaults
here are only starting points. Comparisons with a declared tolerance allow ``1e-12`` for floating-point
rounding, so a spread of 0.95 - 0.91 counts as 0.04.

Pure functions: no I/O, no clock; the one random procedure (the permutation test of :func:`detect_change`)
draws from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.util import hash_pandas_object

from storybook.analyse.classification import (
    OTHER_GROUPS,
    PROPORTION_KINDS,
    Estimate,
    brier_score,
    group_rows,
    proportion,
)
from storybook.analyse.plain import (
    COMPARISON_WORDS,
    DEFAULT_RULES,
    Verdict,
    Vocabulary,
    WordingRules,
    compare,
    format_date,
    metric_sentence,
    share_phrase,
    verdict,
)
from storybook.sources.schema import DEFAULT_IN_USE_ALIAS

__all__ = [
    "CHECK_TITLES",
    "MAJOR_SHIFT",
    "MODERATE_SHIFT",
    "Area",
    "CalibrationBin",
    "ChangePoint",
    "Evidence",
    "FeatureShift",
    "LabelRate",
    "MissingCount",
    "ModelVersion",
    "Point",
    "ReliabilityCurve",
    "Verdict",
    "check_calibration",
    "check_change",
    "check_class_balance",
    "check_deployments",
    "check_duplicates",
    "check_fold_stability",
    "check_guardrails",
    "check_held_out",
    "check_label_rates",
    "check_missing",
    "check_previous_version",
    "check_shift",
    "check_slice_gaps",
    "check_small_slices",
    "detect_change",
    "duplicated_rows",
    "find_change",
    "gap_verdict",
    "label_rates",
    "missing_values",
    "one_in",
    "psi",
    "reliability_curve",
    "version_verdict",
]

Area = Literal["model", "data", "system"]
FigureValue = float | int | str | None
Floats = npt.NDArray[np.float64]

MISSING = "(missing)"
_EPS = 1e-12
# Population Stability Index: below 0.1 no real shift, 0.1 to 0.25 a moderate shift, 0.25 and above a major
# one (the rule of thumb from credit scoring, e.g. Siddiqi, "Credit Risk Scorecards", 2006).
MODERATE_SHIFT = 0.1
MAJOR_SHIFT = 0.25
# A bin share of 0 would make the PSI infinite; it is replaced by this floor (a common convention).
_PSI_FLOOR = 1e-4

CHECK_TITLES: dict[str, str] = {
    "model.held_out": "how well the model does on cases it never saw",
    "model.fold_stability": "how steady the model is across cross-validation folds",
    "model.calibration": "whether predicted chances match what happened",
    "model.slice_gaps": "how far apart the model's results are between groups",
    "model.previous_version": "comparison with another version of the model (compare_with)",
    "data.class_balance": "balance of outcomes",
    "data.label_rates": "outcome rates per group",
    "data.missing": "missing values",
    "data.duplicates": "evaluation rows that also appear in training",
    "data.small_slices": "groups large enough to judge",
    "data.shift": "shift between training data and production inputs",
    "system.guardrails": "guardrails on a production series",
    "system.change": "changes in a production series",
    "system.deployments": "deployment history",
}


@dataclass(frozen=True)
class Evidence:
    """What one automatic check found, in one sentence a stakeholder can read.

    ``check`` is one of :data:`CHECK_TITLES`' keys; ``passed`` is None when the check could not run;
    ``figures`` hold the numbers behind the sentence; ``source`` says where the inputs came from (e.g.
    "metric test_recall of run abc").
    """

    area: Area
    check: str
    sentence: str
    passed: bool | None
    figures: dict[str, FigureValue]
    source: str

    @property
    def title(self) -> str:
        return CHECK_TITLES.get(self.check, self.check)


# --- wording -------------------------------------------------------------------------------------------


def one_in(part: int, whole: int) -> str:
    """A share in words: "1 in 12" below one in five, a whole percent otherwise, "all" and "none" exactly.

    A share that is neither none nor all never shows as 0% or 100% ("1 in 2,400", "more than 99%").
    """
    if whole <= 0 or part < 0 or part > whole:
        raise ValueError(f"not a share: {part} of {whole}")
    if part == 0:
        return "none"
    if part == whole:
        return "all"
    share = part / whole
    if share < 0.2:
        return f"1 in {round(whole / part):,}"
    percent = round(share * 100)
    return "more than 99%" if percent >= 100 else f"{percent}%"


def _num(value: float) -> str:
    """Two decimals, or two significant digits for small non-zero numbers (0.004), with thousands commas."""
    if value != 0 and abs(value) < 0.1:
        return f"{value:.2g}"
    return f"{value:,.2f}"


def _pct(value: float) -> str:
    """A declared share as a percent with up to three significant digits: 0.05 -> "5%", 0.025 -> "2.5%"."""
    return f"{value * 100:.3g}%"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _has(n: int) -> str:
    return "has" if n == 1 else "have"


def _every(n: int, noun: str) -> str:
    return f"the one {noun} compared" if n == 1 else f"all {n:,} {noun}s"


def _listing(parts: Sequence[str]) -> str:
    return ", ".join(parts)


# Groups named one by one in a sentence; the rest are counted ("and 99,950 more").
MAX_LISTED = 12


def _listed(parts: Sequence[str]) -> str:
    more = len(parts) - MAX_LISTED
    return _listing(parts) if more <= 0 else f"{_listing(parts[:MAX_LISTED])} and {more:,} more"


def _all_groups(groups: pd.Series, n: int) -> tuple[tuple[str, ...], npt.NDArray[np.intp]]:
    """Every group (sorted by name) and each row's group, in O(rows) (no pass over the rows per group)."""
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} rows but there are {n} labels")
    grouping = group_rows(groups.reset_index(drop=True), limit=max(n, 1))
    return grouping.names, grouping.codes


def _slice_name(groups: pd.Series) -> str:
    return "group" if groups.name is None else str(groups.name)


# --- model checks --------------------------------------------------------------------------------------


def _declared(kind: str, value: float) -> str:
    return f"{value * 100:.3g} in 100" if kind in PROPORTION_KINDS or kind == "roc_auc" else _num(value)


def check_held_out(estimate: Estimate, minimum: float, *, kind: str, source: str,
                   words: Vocabulary | None = None, rules: WordingRules = DEFAULT_RULES) -> Evidence:
    """Fit on held-out cases: passes when the low end of the 95% interval reaches the declared minimum.

    ``kind`` is a metric kind of :func:`storybook.analyse.plain.metric_sentence` where higher is better.
    Without an interval (or without cases) the check cannot run.
    """
    words = words or Vocabulary()
    figures: dict[str, FigureValue] = {"value": estimate.value, "low": estimate.low, "high": estimate.high,
                                       "n": estimate.n, "minimum": minimum}
    if estimate.value is None:
        return Evidence("model", "model.held_out", f"There were no held-out {words.unit} to measure this on.",
                        None, figures, source)
    told = metric_sentence(kind, estimate.value, estimate, words, rules)
    asked = f" The story asks for at least {_declared(kind, minimum)}"
    if estimate.low is None:
        return Evidence("model", "model.held_out", f"{told}{asked}, but without a range this cannot be judged.",
                        None, figures, source)
    low = _declared(kind, estimate.low)
    if estimate.low >= minimum - _EPS:
        outcome, passed = f"even the low end of the range, {low}, meets that", True
    elif estimate.value >= minimum - _EPS:
        outcome = (f"the figure meets that, but the low end of its range, {low}, does not, so this evaluation "
                   "cannot yet show it")
        passed = False
    else:
        outcome, passed = "the figure falls short of that", False
    return Evidence("model", "model.held_out", f"{told}{asked}; {outcome}.", passed, figures, source)


def _finite(values: Sequence[float] | npt.ArrayLike, what: str) -> Floats:
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite numbers (found NaN or infinity)")
    return array


def check_fold_stability(values: Sequence[float], tolerance: float, *, metric: str, source: str) -> Evidence:
    """Stability across cross-validation folds: passes when the largest minus the smallest is ≤ tolerance."""
    folds = _finite(values, "fold results")
    if folds.size < 2:
        return Evidence("model", "model.fold_stability",
                        f"Only {folds.size} cross-validation result: at least 2 are needed to judge stability.",
                        None, {"folds": int(folds.size), "tolerance": tolerance}, source)
    low, high = float(folds.min()), float(folds.max())
    spread = high - low
    sentence = (f"Trained and tested {folds.size} times on different parts of the data (cross-validation), the "
                f"{metric} ranged from {_num(low)} to {_num(high)}, a spread of {_num(spread)}; the story allows a "
                f"spread of up to {_num(tolerance)}.")
    figures: dict[str, FigureValue] = {"folds": int(folds.size), "min": low, "max": high, "spread": spread,
                                       "tolerance": tolerance}
    return Evidence("model", "model.fold_stability", sentence, spread <= tolerance + _EPS, figures, source)


@dataclass(frozen=True)
class CalibrationBin:
    """One band of predicted chance: ``low`` < score ≤ ``high`` (the first band also holds 0)."""

    low: float
    high: float
    n: int
    mean_score: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class ReliabilityCurve:
    """Predicted chance against what happened, per band; ``ece`` is the expected calibration error."""

    bins: tuple[CalibrationBin, ...]
    n: int
    brier: float | None
    ece: float | None


def reliability_curve(labels: npt.ArrayLike, scores: npt.ArrayLike, bins: int = 10) -> ReliabilityCurve:
    """Equal-width bands of predicted chance over [0, 1], as scikit-learn's ``calibration_curve`` with
    ``strategy="uniform"`` (a score on an inner edge belongs to the lower band). Empty bands keep n = 0.

    Expected calibration error = sum over bands of (cases in band / all cases) x |observed rate - mean score|.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins!r}")
    truth = np.asarray(labels, dtype=bool).ravel()
    values = _finite(scores, "scores")
    if truth.size != values.size:
        raise ValueError(f"labels and scores differ in length ({truth.size} and {values.size})")
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("scores must be predicted chances between 0 and 1")
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], values)
    counts = np.bincount(ids, minlength=bins)
    score_sums = np.bincount(ids, weights=values, minlength=bins)
    true_sums = np.bincount(ids, weights=truth.astype(np.float64), minlength=bins)
    rows = []
    ece = 0.0
    for i in range(bins):
        n_i = int(counts[i])
        mean = None if n_i == 0 else float(score_sums[i] / n_i)
        observed = None if n_i == 0 else float(true_sums[i] / n_i)
        if mean is not None and observed is not None:
            ece += n_i / values.size * abs(observed - mean)
        rows.append(CalibrationBin(float(edges[i]), float(edges[i + 1]), n_i, mean, observed))
    n = int(values.size)
    return ReliabilityCurve(tuple(rows), n, brier_score(truth, values), ece if n else None)


def check_calibration(labels: npt.ArrayLike, scores: npt.ArrayLike, *, tolerance: float = 0.05, bins: int = 10,
                      source: str) -> Evidence:
    """Calibration: passes when the expected calibration error is at most ``tolerance``."""
    curve = reliability_curve(labels, scores, bins)
    if curve.ece is None or curve.brier is None:
        return Evidence("model", "model.calibration", "There were no scored cases to check calibration on.", None,
                        {"n": 0, "tolerance": tolerance}, source)
    sentence = (f"Where the model predicts a chance, what happened differs from it by {curve.ece * 100:.3g} "
                f"percentage points on average (over {bins} bands of predicted chance, weighted by cases); the "
                f"story allows up to {tolerance * 100:.3g}. The Brier score is {curve.brier:.3f} (0 is perfect; "
                "always saying 50% would score 0.25).")
    figures: dict[str, FigureValue] = {"ece": curve.ece, "brier": curve.brier, "n": curve.n, "bins": bins,
                                       "tolerance": tolerance}
    return Evidence("model", "model.calibration", sentence, curve.ece <= tolerance + _EPS, figures, source)


def check_slice_gaps(rates: Mapping[str, Estimate], tolerance: float, *, metric: str, slice_name: str,
                     min_size: int = 30, source: str, rules: WordingRules = DEFAULT_RULES) -> Evidence:
    """Gaps between groups: the largest minus the smallest rate among groups whose ``Estimate.n`` (the count
    behind the rate, e.g. positives for recall) is at least ``min_size``; passes when ≤ tolerance.

    Groups below the size, or without a value, are named as too small to judge. Needs two judged groups.
    The sentence tells each end as a share (:func:`storybook.analyse.plain.share_phrase`) and whether the
    two ends differ clearly (:func:`storybook.analyse.plain.compare`: overlapping ranges do not).
    """
    merged = [name for name in rates if OTHER_GROUPS.fullmatch(name)]  # many groups counted together: not one
    rates = {name: e for name, e in rates.items() if name not in merged}
    judged = sorted(((name, e) for name, e in rates.items() if e.value is not None and e.n >= min_size),
                    key=lambda item: (-(item[1].value or 0.0), item[0]))
    small = sorted((name, e.n) for name, e in rates.items() if e.value is None or e.n < min_size)
    too_small = (f" Too small to judge (fewer than {min_size} cases): "
                 f"{_listed([f'{name} ({n:,})' for name, n in small])}.") if small else ""
    if merged:
        too_small += f" Only the groups shown one by one are compared; {merged[0][1:-1]} are counted together."
    figures: dict[str, FigureValue] = {"groups": len(judged), "too_small": len(small), "min_size": min_size,
                                       "tolerance": tolerance}
    if len(judged) < 2:
        return Evidence("model", "model.slice_gaps",
                        f"Fewer than 2 {slice_name} groups have at least {min_size} cases, so gaps in the "
                        f"{metric} cannot be judged.{too_small}", None, figures, source)
    (top, top_e), (bottom, bottom_e) = judged[0], judged[-1]
    top_v, bottom_v = top_e.value or 0.0, bottom_e.value or 0.0
    gap = top_v - bottom_v
    figures.update({"gap": gap, "highest": top, "lowest": bottom})
    clear = compare(top_e, bottom_e)
    figures["difference"] = clear
    apart = ("their ranges overlap, so there is no clear difference" if clear == "no clear difference"
             else "their ranges do not overlap, so the difference is clear")
    sentence = (f"The {metric} differs between {slice_name} groups by up to {_declared(metric, gap)}: highest for "
                f"{top} ({_told(metric, top_e, rules)}), lowest for {bottom} ({_told(metric, bottom_e, rules)}); "
                f"{apart}. The story allows a gap of "
                f"up to {_declared(metric, tolerance)}.{too_small}")
    return Evidence("model", "model.slice_gaps", sentence, gap <= tolerance + _EPS, figures, source)


def version_verdict(current: Estimate, previous: Estimate, *, higher_is_better: bool = True) -> Verdict | None:
    """"no clear difference" when the two 95% intervals overlap (ends touching count as overlap), else which
    way it went. None when either interval is missing. The one comparison rule of
    :func:`storybook.analyse.plain.verdict`."""
    return verdict(current, previous, higher_is_better=higher_is_better)


def _told(kind: str, e: Estimate, rules: WordingRules) -> str:
    """A share by the wording rules, or another figure as its value and range; with the count of cases."""
    if kind in PROPORTION_KINDS or kind == "roc_auc":
        return f"{share_phrase(e, rules)}, of {e.n:,} cases"
    return f"{_num(e.value or 0.0)}, from {_num(e.low or 0.0)} to {_num(e.high or 0.0)}, of {e.n:,} cases"


def _gap_points(value: float) -> str:
    """A difference of shares in whole points out of 100, halves away from zero: "3 points lower"."""
    points = int(math.copysign(math.floor(abs(value) * 100 + 0.5), value))
    if points == 0:
        return "0 points"
    return f"{abs(points)} point{'' if abs(points) == 1 else 's'} {'higher' if points > 0 else 'lower'}"


def gap_verdict(gap: Estimate, *, higher_is_better: bool = True) -> Verdict | None:
    """Which way a difference between two versions went, judged on its own 95% interval: clear only when the
    interval leaves out zero. None without an interval."""
    if gap.low is None or gap.high is None:
        return None
    if gap.low > 0 or gap.high < 0:
        return "better" if (gap.low > 0) == higher_is_better else "worse"
    return "no clear difference"


def check_previous_version(current: Estimate, previous: Estimate, *, metric: str, source: str,
                           higher_is_better: bool = True, other: str = "the previous version",
                           rules: WordingRules = DEFAULT_RULES, this: str | None = None,
                           gap: Estimate | None = None, paired: bool = False) -> Evidence:
    """Comparison with another version (by default "the previous version"): fails only when the current one
    is clearly worse. ``this`` names the current one in the sentence ("the recall of version 2 (candidate)").

    With ``gap`` (current minus previous, with its 95% interval: paired when both versions scored the same
    cases, see :func:`storybook.analyse.decision_judge.version_gap`), the verdict comes from that interval, as
    the decision grounds' does; without it, from whether the two ranges overlap."""
    outcome = gap_verdict(gap, higher_is_better=higher_is_better) if gap is not None else \
        version_verdict(current, previous, higher_is_better=higher_is_better)
    figures: dict[str, FigureValue] = {"current": current.value, "current_low": current.low,
                                       "current_high": current.high, "previous": previous.value,
                                       "previous_low": previous.low, "previous_high": previous.high,
                                       "verdict": outcome}
    if gap is not None:
        figures.update({"difference": gap.value, "difference_low": gap.low, "difference_high": gap.high,
                        "paired": paired})
    if outcome is None:
        return Evidence("model", "model.previous_version",
                        f"The {metric} of {this or 'this version'} and {other} cannot be compared: one of them has "
                        "no range.", None, figures, source)
    of = f" of {this}" if this is not None else ""
    told = COMPARISON_WORDS[outcome]
    if gap is not None and gap.low is not None and gap.high is not None:
        how = ("both versions scored the same cases, resampled together" if paired
               else "each version scored its own cases")
        told = (f"{'no clear difference' if outcome == 'no clear difference' else COMPARISON_WORDS[outcome]}: "
                f"allowing for chance, the difference is anywhere from {_gap_points(gap.low)} to "
                f"{_gap_points(gap.high)} ({how})")
    sentence = (f"Compared with {other}, the {metric}{of} is {_told(metric, current, rules)}, against "
                f"{_told(metric, previous, rules)}: {told}.")
    return Evidence("model", "model.previous_version", sentence, outcome != "worse", figures, source)


# --- data checks ---------------------------------------------------------------------------------------


def check_class_balance(labels: npt.ArrayLike, *, min_share: float = 0.1, source: str,
                        words: Vocabulary | None = None) -> Evidence:
    """Balance of outcomes: passes when the rarer outcome is at least ``min_share`` of all rows."""
    words = words or Vocabulary()
    truth = np.asarray(labels, dtype=bool).ravel()
    n, positives = int(truth.size), int(truth.sum())
    figures: dict[str, FigureValue] = {"n": n, "positives": positives, "min_share": min_share}
    if n == 0:
        return Evidence("data", "data.class_balance", f"There are no {words.unit} to count.", None, figures,
                        source)
    minority = min(positives, n - positives)
    figures["minority_share"] = minority / n
    sentence = (f"{_cap(one_in(positives, n))} of {words.unit} {words.positive} ({positives:,} of {n:,}); the "
                f"rarer outcome makes up {one_in(minority, n)}, and the story asks for at least {_pct(min_share)}.")
    return Evidence("data", "data.class_balance", sentence, minority / n >= min_share - _EPS, figures, source)


@dataclass(frozen=True)
class LabelRate:
    """One group's outcome rate: ``positives`` of ``n`` rows, with its Wilson interval."""

    group: str
    n: int
    positives: int
    rate: Estimate


def label_rates(labels: npt.ArrayLike, groups: pd.Series) -> tuple[LabelRate, ...]:
    """Outcome rate per group (groups sorted by name; missing values as "(missing)")."""
    truth = np.asarray(labels, dtype=bool).ravel()
    names, codes = _all_groups(groups, truth.size)
    sizes = np.bincount(codes, minlength=len(names))
    positives = np.bincount(codes[truth], minlength=len(names))
    return tuple(LabelRate(name, int(sizes[i]), int(positives[i]), proportion(int(positives[i]), int(sizes[i])))
                 for i, name in enumerate(names))


def check_label_rates(labels: npt.ArrayLike, groups: pd.Series, *, min_size: int = 30, min_per_class: int = 5,
                      source: str, words: Vocabulary | None = None) -> Evidence:
    """Outcome rate per group: passes when every group of at least ``min_size`` rows holds at least
    ``min_per_class`` rows of each outcome (enough to measure the model on that group)."""
    words = words or Vocabulary()
    rows = label_rates(labels, groups)
    name = _slice_name(groups)
    judged = [r for r in rows if r.n >= min_size]
    small = [r for r in rows if r.n < min_size]
    too_small = (f" Too small to judge (fewer than {min_size} rows): "
                 f"{_listed([f'{r.group} ({r.n:,})' for r in small])}.") if small else ""
    figures: dict[str, FigureValue] = {"groups": len(judged), "too_small": len(small), "min_size": min_size,
                                       "min_per_class": min_per_class}
    if not judged:
        return Evidence("data", "data.label_rates", f"No {name} group has at least {min_size} rows.{too_small}",
                        None, figures, source)
    shares = _listed([f"{r.group} {one_in(r.positives, r.n)} ({r.positives:,} of {r.n:,})" for r in judged])
    thin = [r for r in judged if min(r.positives, r.n - r.positives) < min_per_class]
    lacking = (f" Fewer than {min_per_class} of one outcome, too few to measure the model on: "
               f"{_listed([r.group for r in thin])}.") if thin else ""
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
                        f"No values are missing in {_count(len(overall), 'column')} ({len(frame):,} rows).", True,
                        figures, source)
    listed = _listing([f"{c.column} {one_in(c.missing, c.n)} ({c.missing:,} of {c.n:,})" for c in gaps])
    sentence = f"{len(gaps)} of {_count(len(overall), 'column')} {_has(len(gaps))} missing values: {listed}."
    if worst is not None and worst.missing and groups is not None:
        sentence += (f" Most missing within one group: {worst.column} where {_slice_name(groups)} is {worst.group}, "
                     f"{one_in(worst.missing, worst.n)} ({worst.missing:,} of {worst.n:,}).")
    sentence += f" The story allows up to {_pct(tolerance)} missing in any column or group."
    return Evidence("data", "data.missing", sentence, highest <= tolerance + _EPS, figures, source)


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
        head = f"{_cap(share)} of evaluation rows also appear in training"
    sentence = f"{head} ({count:,} of {n:,} rows)."
    return Evidence("data", "data.duplicates", sentence, count / n <= tolerance + _EPS, figures, source)


def check_small_slices(groups: pd.Series, *, min_size: int = 30, source: str) -> Evidence:
    """Groups too small to judge: passes when every group has at least ``min_size`` rows."""
    name = _slice_name(groups)
    names, codes = _all_groups(groups, len(groups))
    counted = np.bincount(codes, minlength=len(names))
    sizes = {name: int(counted[i]) for i, name in enumerate(names)}
    figures: dict[str, FigureValue] = {"groups": len(sizes), "min_size": min_size}
    if not sizes:
        return Evidence("data", "data.small_slices", f"There are no rows to group by {name}.", None, figures, source)
    small = [(k, v) for k, v in sizes.items() if v < min_size]
    figures["too_small"] = len(small)
    if not small:
        sentence = (f"Every {name} group has at least {min_size} rows: "
                    f"{_listed([f'{k} ({v:,})' for k, v in sizes.items()])}.")
    else:
        sentence = (f"{len(small):,} of {_count(len(sizes), f'{name} group')} {_has(len(small))} fewer than {min_size} "
                    "rows, too few to judge: "
                    f"{_listed([f'{k} ({v:,})' for k, v in small])}.")
    return Evidence("data", "data.small_slices", sentence, not small, figures, source)


@dataclass(frozen=True)
class FeatureShift:
    """Population Stability Index of one feature, with the bins it was computed over.

    ``expected`` and ``actual`` are the shares of training rows and production rows per bin (before the
    zero floor). ``labels`` name the bins: "≤ 5.5", "> 5.5", a category, "(other)" or "(missing)".
    """

    feature: str
    psi: float
    labels: tuple[str, ...]
    expected: tuple[float, ...]
    actual: tuple[float, ...]

    @property
    def size(self) -> Literal["none", "moderate", "major"]:
        if self.psi >= MAJOR_SHIFT:
            return "major"
        return "moderate" if self.psi >= MODERATE_SHIFT else "none"


def psi(training: pd.Series, production: pd.Series, bins: int = 10) -> FeatureShift:
    """Population Stability Index = sum over bins of (actual - expected) x ln(actual / expected).

    Numbers: bin edges are the training quantiles at 1/bins, 2/bins, ... (linear interpolation, repeated
    edges merged, edges at the training maximum dropped); bins are closed on the right, (a, b], with the
    first and last open-ended. Other types: one bin per training category, plus "(other)" for values never
    seen in training. Missing values get a bin of their own when either side has any. A share of 0 is
    raised to 0.0001 so the logarithm is finite. Below 0.1: no real shift; 0.1-0.25: moderate; ≥ 0.25: major.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins!r}")
    if len(training) == 0 or len(production) == 0:
        raise ValueError("PSI needs rows on both sides")
    feature = "feature" if training.name is None else str(training.name)
    train_ok, prod_ok = training.dropna(), production.dropna()
    labels: list[str]
    if pd.api.types.is_numeric_dtype(training) and pd.api.types.is_numeric_dtype(production):
        t = train_ok.to_numpy(dtype=np.float64)
        p = prod_ok.to_numpy(dtype=np.float64)
        if t.size:
            inner = np.unique(np.quantile(t, np.arange(1, bins) / bins))
            inner = inner[inner < t.max()]
        else:
            inner = np.zeros(0)
        t_ids, p_ids = np.searchsorted(inner, t, side="left"), np.searchsorted(inner, p, side="left")
        k = inner.size + 1
        t_counts = np.bincount(t_ids, minlength=k).astype(np.float64)
        p_counts = np.bincount(p_ids, minlength=k).astype(np.float64)
        labels = [f"≤ {_num(float(e))}" for e in inner] + ([f"> {_num(float(inner[-1]))}"] if inner.size else ["all"])
    else:
        t_keys = train_ok.astype(str).to_numpy(dtype=object)
        p_keys = prod_ok.astype(str).to_numpy(dtype=object)
        categories = sorted({str(v) for v in t_keys})
        labels = [*categories, "(other)"]
        t_counts = np.array([np.sum(t_keys == c) for c in categories] + [0], dtype=np.float64)
        p_counts = np.array([np.sum(p_keys == c) for c in categories] + [np.sum(~np.isin(p_keys, categories))],
                            dtype=np.float64)
    t_missing, p_missing = len(training) - len(train_ok), len(production) - len(prod_ok)
    if t_missing or p_missing:
        labels.append(MISSING)
        t_counts, p_counts = np.append(t_counts, t_missing), np.append(p_counts, p_missing)
    expected, actual = t_counts / len(training), p_counts / len(production)
    e, a = np.maximum(expected, _PSI_FLOOR), np.maximum(actual, _PSI_FLOOR)
    value = float(np.sum((a - e) * np.log(a / e)))
    return FeatureShift(feature, value, tuple(labels), tuple(float(x) for x in expected),
                        tuple(float(x) for x in actual))


def check_shift(training: pd.DataFrame, production: pd.DataFrame, features: Sequence[str] | None = None, *,
                bins: int = 10, source: str) -> Evidence:
    """Shift between training data and production inputs: passes when no feature's PSI reaches 0.25 (a major
    shift); features at 0.1 or more are named, largest shift first."""
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
        sentence = (f"Production inputs look like the training data in {_every(len(names), 'feature')} (no feature's "
                    f"Population Stability Index reaches {MODERATE_SHIFT}).")
    else:
        told = "; ".join(f"{s.feature} changed {'a lot' if s.size == 'major' else 'somewhat'} (PSI {s.psi:.2f})"
                         for s in moved)
        sentence = (f"Production inputs have moved away from the training data in {len(moved)} of "
                    f"{_count(len(names), 'feature')}: {told}.")
    return Evidence("data", "data.shift", sentence, all(s.size != "major" for s in shifts), figures, source)


# --- system checks -------------------------------------------------------------------------------------


class Point(NamedTuple):
    """One reading of a production series (an MLflow metric history entry)."""

    step: int
    timestamp_ms: int
    value: float


def _ordered(series: Sequence[tuple[int, int, float]]) -> list[Point]:
    """Readings in time order (timestamp, then step)."""
    return sorted((Point(int(s), int(t), float(v)) for s, t, v in series), key=lambda p: (p.timestamp_ms, p.step))


def _bounds(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"{_num(lower)} to {_num(upper)}"
    return f"at least {_num(lower)}" if lower is not None else f"at most {_num(upper or 0.0)}"


def check_guardrails(series: Sequence[tuple[int, int, float]], *, lower: float | None = None,
                     upper: float | None = None, name: str, source: str) -> Evidence:
    """Declared guardrails on a production series: passes when every reading lies within [lower, upper].

    A reading that is not a finite number counts as outside. The sentence names the first date a guardrail
    broke (dates in UTC). ``name`` reads inside a sentence, e.g. "the mean prediction".
    """
    if lower is None and upper is None:
        raise ValueError("a guardrail needs a lower bound, an upper bound or both")
    points = _ordered(series)
    figures: dict[str, FigureValue] = {"readings": len(points), "lower": lower, "upper": upper}
    if not points:
        return Evidence("system", "system.guardrails", f"There are no production readings of {name} yet.", None,
                        figures, source)

    values = np.fromiter((p.value for p in points), dtype=np.float64, count=len(points))
    with np.errstate(invalid="ignore"):
        out = ~np.isfinite(values)
        if lower is not None:
            out |= values < lower
        if upper is not None:
            out |= values > upper
    broken = [points[int(i)] for i in np.flatnonzero(out)[:1]]
    figures["outside"] = int(out.sum())
    if not broken:
        sentence = (f"{_cap(name)} stayed within its guardrails ({_bounds(lower, upper)}) in all {len(points):,} "
                    f"readings from {format_date(points[0].timestamp_ms)} to {format_date(points[-1].timestamp_ms)}.")
        return Evidence("system", "system.guardrails", sentence, True, figures, source)
    first = broken[0]
    figures.update({"first_break_ms": first.timestamp_ms, "first_break_step": first.step})
    value = _num(first.value) if math.isfinite(first.value) else "not a number"
    sentence = (f"{_cap(name)} first broke its guardrails ({_bounds(lower, upper)}) on "
                f"{format_date(first.timestamp_ms)}, reading {value}; {int(out.sum()):,} of {len(points):,} readings "
                "were outside.")
    return Evidence("system", "system.guardrails", sentence, False, figures, source)


@dataclass(frozen=True)
class ChangePoint:
    """Where a series changed level, if it did. ``index`` is the position (in time order) of the first reading
    after the change; ``judged`` is False when the series was too short (fewer than 2 x ``min_segment``)."""

    n: int
    judged: bool
    changed: bool
    index: int | None
    before_mean: float | None
    after_mean: float | None
    p_value: float | None
    min_segment: int


def _split_strength(values: Floats, min_segment: int) -> Floats:
    """Between-segment sum of squares k(n-k)/n x (mean before - mean after)^2 for each split k."""
    n = values.size
    cumulative = np.cumsum(values)
    k = np.arange(min_segment, n - min_segment + 1)
    before = cumulative[k - 1] / k
    after = (cumulative[-1] - cumulative[k - 1]) / (n - k)
    return np.asarray(k * (n - k) / n * (before - after) ** 2, dtype=np.float64)


def detect_change(values: npt.ArrayLike, *, min_segment: int = 5, alpha: float = 0.01, rounds: int = 999,
                  seed: int = 0) -> ChangePoint:
    """One change in level, found by the best single split and tested by permutation.

    1. Every split leaving at least ``min_segment`` readings on each side is scored by how much of the
       series' variation the two segment means explain (the maximum-likelihood split for a shift in mean
       with a common variance); the strongest split wins (the earliest on ties).
    2. The series is shuffled ``rounds`` times (``numpy.random.default_rng(seed)``) and the best split of each
       shuffle is scored the same way. p = (1 + shuffles at least as strong) / (1 + rounds): how often a
       series with no change, only the same values in random order, shows a split this strong.
    3. A change is reported when p ≤ ``alpha``.

    The shuffle assumes readings vary independently around their level; strongly autocorrelated series
    (slow drifts) will show changes more often. Run on every build, a check at alpha = 0.01 still raises an
    occasional false alarm on a long history.
    """
    if min_segment < 1:
        raise ValueError(f"min_segment must be at least 1, not {min_segment!r}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds!r}")
    series = _finite(values, "series values")
    n = int(series.size)
    if n < 2 * min_segment:
        return ChangePoint(n, False, False, None, None, None, None, min_segment)
    strength = _split_strength(series, min_segment)
    best = int(np.argmax(strength))
    observed = float(strength[best])
    index = best + min_segment
    if observed <= _EPS * max(1.0, float(np.sum((series - series.mean()) ** 2))):
        return ChangePoint(n, True, False, None, float(series.mean()), float(series.mean()), 1.0, min_segment)
    rng = np.random.default_rng(seed)
    at_least = sum(float(_split_strength(rng.permutation(series), min_segment).max()) >= observed * (1 - 1e-9)
                   for _ in range(rounds))
    p_value = (1 + at_least) / (1 + rounds)
    changed = p_value <= alpha
    return ChangePoint(n, True, changed, index if changed else None, float(series[:index].mean()),
                       float(series[index:].mean()), p_value, min_segment)


# A longer series is tested for a change as this many averages of consecutive readings, so that the
# permutation test's work (rounds x readings) stays bounded.
MAX_CHANGE_READINGS = 10_000


def _change_in(values: Floats, *, min_segment: int, alpha: float, rounds: int, seed: int,
               ) -> tuple[ChangePoint, bool]:
    """:func:`detect_change` on the readings, or on MAX_CHANGE_READINGS averages of consecutive readings when
    there are more (a change in level is a change in the averages); the index and the means are then mapped
    back to the readings (the first reading of the average after the change; means over the readings)."""
    n = int(values.size)
    if n <= MAX_CHANGE_READINGS or not np.isfinite(values).all():
        return detect_change(values, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed), False
    starts = (np.arange(MAX_CHANGE_READINGS) * n) // MAX_CHANGE_READINGS
    means = np.add.reduceat(values, starts) / np.diff(np.append(starts, n))
    found = detect_change(means, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed)
    if not found.judged:
        return found, True
    if found.index is None:  # no change: the means of the averages either side of their strongest split
        return ChangePoint(n, True, found.changed, None, found.before_mean, found.after_mean, found.p_value,
                           min_segment), True
    index = int(starts[found.index])
    return ChangePoint(n, True, found.changed, index, float(values[:index].mean()), float(values[index:].mean()),
                       found.p_value, min_segment), True


def find_change(values: npt.ArrayLike, *, min_segment: int = 5, alpha: float = 0.01, rounds: int = 999,
                seed: int = 0) -> ChangePoint:
    """:func:`detect_change` with its work bounded: past MAX_CHANGE_READINGS readings it tests averages of
    consecutive readings (the index is then the first reading of the average after the change)."""
    readings = np.asarray(values, dtype=np.float64).ravel()
    return _change_in(readings, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed)[0]


def check_change(series: Sequence[tuple[int, int, float]], *, name: str, source: str, min_segment: int = 5,
                 alpha: float = 0.01, rounds: int = 999, seed: int = 0) -> Evidence:
    """A change in a production series against its own history (see :func:`detect_change`): passes when no
    change stands out."""
    points = _ordered(series)
    values = np.fromiter((p.value for p in points), dtype=np.float64, count=len(points))
    result, binned = _change_in(values, min_segment=min_segment, alpha=alpha, rounds=rounds, seed=seed)
    figures: dict[str, FigureValue] = {"readings": result.n, "p_value": result.p_value,
                                       "before_mean": result.before_mean, "after_mean": result.after_mean}
    judged_on = (f" (judged on {MAX_CHANGE_READINGS:,} averages of about {round(len(points) / MAX_CHANGE_READINGS):,} "
                 "consecutive readings each") if binned else ""
    steady_note = f"{judged_on})" if binned else ""
    changed_note = f"{judged_on}, so the date is that of the average where it changed)" if binned else ""
    if not result.judged:
        return Evidence("system", "system.change",
                        f"Only {result.n} readings of {name} so far: too few to tell a change from ordinary "
                        f"variation (at least {2 * min_segment} are needed).", None, figures, source)
    if not result.changed or result.index is None:
        sentence = (f"{_cap(name)} has held steady over {result.n:,} readings from "
                    f"{format_date(points[0].timestamp_ms)} to {format_date(points[-1].timestamp_ms)}: no change "
                    f"stands out from ordinary variation{steady_note}.")
        return Evidence("system", "system.change", sentence, True, figures, source)
    at = points[result.index]
    figures.update({"index": result.index, "step": at.step, "timestamp_ms": at.timestamp_ms})
    chance = f"{math.ceil((result.p_value or 0.0) * 1000) / 10:g}"
    sentence = (f"{_cap(name)} changed on {format_date(at.timestamp_ms)}: about {_num(result.before_mean or 0.0)} on "
                f"average before, about {_num(result.after_mean or 0.0)} after ({result.n:,} readings; a change this "
                f"clear would turn up by chance in no more than {chance} in 100 steady series){changed_note}.")
    return Evidence("system", "system.change", sentence, False, figures, source)


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of the model, with the aliases it carries now."""

    version: int
    created_ms: int
    aliases: tuple[str, ...] = ()


def check_deployments(versions: Sequence[ModelVersion], *, in_use: str = DEFAULT_IN_USE_ALIAS,
                      source: str) -> Evidence:
    """Deployment history: passes when one version carries the alias ``in_use`` that marks the version in use
    (``in_use_alias``: the story's, the project's, else ``champion``).

    The registry records when a version was registered, not when an alias moved, so the sentence gives the
    registration date of the version in use. When no version carries the alias the check does not pass, and
    the sentence names the aliases there are, so a reader (or author) sees which one may have been meant.
    """
    ordered = sorted(versions, key=lambda v: (v.version, v.created_ms))
    holders = [v for v in ordered if in_use in v.aliases]
    if len(holders) > 1:
        raise ValueError(f"the alias {in_use!r} is on more than one version: "
                         f"{', '.join(str(v.version) for v in holders)}")
    figures: dict[str, FigureValue] = {"versions": len(ordered)}
    if not ordered:
        return Evidence("system", "system.deployments", "No version of the model is registered yet.", None, figures,
                        source)
    count = f"{len(ordered)} version{'s' if len(ordered) != 1 else ''}"
    since = format_date(min(v.created_ms for v in ordered))
    if not holders:
        there = [f"\"{alias}\" on version {v.version}" for v in ordered for alias in v.aliases]
        aliases = f"the aliases there are: {_listing(there)}" if there else "no version carries any alias"
        sentence = (f"{count} registered since {since}, but none carries the alias \"{in_use}\" that marks the "
                    f"version in use ({aliases}), so the story cannot tell which one serves. If another alias "
                    "marks it, say so with model.in_use_alias in story.yaml or in_use_alias in storybook.yaml.")
        return Evidence("system", "system.deployments", sentence, False, figures, source)
    current = holders[0]
    figures.update({"in_use_version": current.version, "in_use_created_ms": current.created_ms})
    sentence = (f"{count} registered since {since}; the version in use (it carries the alias \"{in_use}\") is "
                f"version {current.version}, registered on {format_date(current.created_ms)}.")
    newer = [v.version for v in ordered if v.version > current.version]
    if newer:
        sentence += (f" {len(newer)} newer version{'s' if len(newer) != 1 else ''} "
                     f"({', '.join(str(v) for v in newer)}) {'do' if len(newer) != 1 else 'does'} not carry it.")
    return Evidence("system", "system.deployments", sentence, True, figures, source)
