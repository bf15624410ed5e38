"""How a decision's grounds are judged: outcomes from intervals, intervals of differences, and their words.

Every ground of a decision brief (:mod:`storybook.analyse.decision_grounds`) comes out as a
:class:`GroundResult`: the outcome ("holds", "fails" or "cannot tell"), the figure with its 95% interval,
the bound it was held against, one plain sentence and the section of the page that computed the evidence.
The outcome follows one rule for every interval:

- **holds** when the whole interval is on the right side of the bound (a bound reached exactly counts as
  reached; 1e-12 is allowed for floating-point rounding);
- **fails** when the whole interval is on the wrong side;
- **cannot tell** when the interval reaches both sides, or there is no interval or no evidence.

Levels of trust and guardrails have no interval: they hold or fail outright (a guardrail with no readings
cannot be told).

Differences between two groups get the MOVER interval of Zou and Donner (2008) built from the two 95%
intervals; for two Wilson intervals this is Newcombe's (1998) hybrid score interval, method 10, which treats
the two figures as independent. Differences between two versions (:func:`version_gap`) use it only when the
versions were scored on different cases; on the same cases (the same ids, or the same labels in the same
order, unless the sets are sorted by label) a share's difference gets a seeded paired percentile bootstrap over
cases, and ROC AUC DeLong's interval for correlated AUCs, both much narrower than the independent interval.
Cost differences between two versions use a percentile bootstrap, paired (the same resampled cases for both) on
the same cases.

Pure functions: no I/O, no clock; the bootstrap draws from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import (
    Confusion,
    Estimate,
    SliceTable,
    disaggregate,
)
from storybook.analyse.costs import CostModel
from storybook.analyse.plain import Vocabulary, denominator_words
from storybook.analyse.trust import Level
from storybook.analyse.trust_checks.system import check_guardrails
from storybook.metrics.kinds import kind_info

__all__ = [
    "GroundResult",
    "Outcome",
    "Scored",
    "case_ids",
    "cost_difference",
    "counted_among",
    "difference",
    "estimate_for",
    "guardrail_outcome",
    "judge",
    "judge_within",
    "level_outcome",
    "matching_rows",
    "paired_difference",
    "points_of",
    "row_cost_gap",
    "same_cases",
    "slice_table",
    "told_amount",
    "told_points",
    "told_range",
    "told_share",
    "verdict_words",
    "version_gap",
]

Outcome = Literal["holds", "fails", "cannot tell"]
EPS = 1e-12
CONFIDENCE = 0.95


@dataclass(frozen=True)
class GroundResult:
    """One criterion, judged. ``value``/``low``/``high`` are the figure and its 95% interval (None where the
    ground has none); ``section`` is the id of the page section that computed the evidence."""

    id: str
    kind: str
    label: str
    required: bool
    condition: str | None
    outcome: Outcome
    value: float | None
    low: float | None
    high: float | None
    bound: str
    sentence: str
    section: str
    source: str


@dataclass(frozen=True, eq=False)
class Scored:
    """One version's scored evaluation set: who really is positive, the scores, and the threshold in use."""

    name: str
    labels: npt.NDArray[np.bool_]
    scores: npt.NDArray[np.float64]
    threshold: float
    groups: pd.DataFrame | None
    source: str
    ids: npt.NDArray[np.str_] | None = None  # the evaluation.id_column, when the story declares one


def case_ids(frame: pd.DataFrame, column: str | None) -> npt.NDArray[np.str_] | None:
    """The cases' ids when the story declares an id column (``evaluation.id_column``); a set without that
    column gets no ids (an empty array), so it is never taken for the same cases as another."""
    if column is None:
        return None
    if column not in frame.columns:
        return np.array([], dtype=np.str_)
    return frame[column].astype("string").fillna("").to_numpy(dtype=np.str_)


def same_cases(first: Scored, second: Scored) -> npt.NDArray[np.intp] | None:
    """Where each of ``first``'s cases is in ``second`` when both sets hold the same cases, else None.

    With ids (``evaluation.id_column``) on both sides: the same ids, each once, and the same label for each
    (``second`` may list them in another order); a declared id column missing on one side means not known to be
    the same (None). Without ids: the same number of cases with the same labels in the same order, when that
    order could tell cases apart (not when the set is sorted by its label, or holds one label only).
    """
    return matching_rows(first.labels, first.ids, second.labels, second.ids)


def matching_rows(first: npt.NDArray[np.generic], first_ids: npt.NDArray[np.str_] | None,
                  second: npt.NDArray[np.generic], second_ids: npt.NDArray[np.str_] | None,
                  ) -> npt.NDArray[np.intp] | None:
    """:func:`same_cases` on any outcomes (a label, a true class, an actual amount) and the sets' ids."""
    n = first.size
    if n == 0 or second.size != n:
        return None
    if first_ids is None and second_ids is None:
        # Without ids, only an order that could tell cases apart is evidence: two sets sorted by their label (or
        # holding one label) agree whenever they hold as many of each, whichever cases they are.
        if _grouped(first):
            return None
        return np.arange(n) if bool(np.array_equal(first, second)) else None
    if first_ids is None or second_ids is None or first_ids.size != n or second_ids.size != n:
        return None
    position = {str(case): index for index, case in enumerate(second_ids)}
    if len(position) != n or len(set(map(str, first_ids))) != n:
        return None
    try:
        order = np.array([position[str(case)] for case in first_ids], dtype=np.intp)
    except KeyError:
        return None
    return order if bool(np.array_equal(first, second[order])) else None


def _grouped(outcomes: npt.NDArray[np.generic]) -> bool:
    """Whether some outcome repeats and each one sits in a single run (a set sorted by its label, or holding one
    label only): such an order says how many cases have each outcome, not which cases they are."""
    changes = int(np.count_nonzero(outcomes[1:] != outcomes[:-1]))
    distinct = int(np.unique(outcomes).size)
    return distinct < outcomes.size and changes == distinct - 1


# --- judging -------------------------------------------------------------------------------------------


def judge(low: float | None, high: float | None, *, at_least: float | None = None,
          at_most: float | None = None) -> Outcome:
    """Holds when the whole interval meets the bound, fails when none of it does, else cannot tell."""
    if (at_least is None) == (at_most is None):
        raise ValueError("judge against exactly one of at_least or at_most")
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "cannot tell"
    if low > high:
        raise ValueError(f"an interval's low end ({low}) is above its high end ({high})")
    if at_least is not None:
        if low >= at_least - EPS:
            return "holds"
        return "fails" if high < at_least - EPS else "cannot tell"
    assert at_most is not None
    if high <= at_most + EPS:
        return "holds"
    return "fails" if low > at_most + EPS else "cannot tell"


def judge_within(low: float | None, high: float | None, tolerance: float) -> Outcome:
    """For a difference: holds when the whole interval lies within [-tolerance, tolerance], fails when it lies
    wholly beyond it on one side, else cannot tell."""
    if low is None or high is None:
        return "cannot tell"
    if low >= -tolerance - EPS and high <= tolerance + EPS:
        return "holds"
    if low > tolerance + EPS or high < -tolerance - EPS:
        return "fails"
    return "cannot tell"


def difference(first: Estimate, second: Estimate) -> Estimate:
    """``first - second`` with the MOVER interval (Newcombe's method 10 for two Wilson intervals).

    No interval when either side has no value or no interval.
    """
    if None in (first.value, first.low, first.high, second.value, second.low, second.high):
        value = None if first.value is None or second.value is None else first.value - second.value
        return Estimate(value, None, None, first.n + second.n)
    p1, l1, u1 = float(first.value or 0.0), float(first.low or 0.0), float(first.high or 0.0)
    p2, l2, u2 = float(second.value or 0.0), float(second.low or 0.0), float(second.high or 0.0)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Estimate(d, low, high, first.n + second.n)


def estimate_for(kind: str, version: Scored) -> Estimate:
    """A figure with an interval (a share with its Wilson interval, ROC AUC with Hanley-McNeil's) of one version
    at its own threshold, as the table of kinds computes it."""
    info = kind_info(kind)
    if info is None or info.interval == "none":
        raise ValueError(f"no interval for metric kind {kind!r}")
    return info.measure(version.labels, version.scores, version.threshold)


def slice_table(version: Scored, column: str) -> SliceTable | None:
    """One version's results per group of ``column`` (None when its evaluation set lacks the column)."""
    if version.groups is None or column not in version.groups.columns:
        return None
    return disaggregate(version.labels, version.scores, version.groups[[column]], version.threshold)[1][0]


def _row_costs(version: Scored, costs: CostModel) -> npt.NDArray[np.float64]:
    flagged = version.scores >= version.threshold
    truth = version.labels
    return np.where(truth, np.where(flagged, costs.cost_tp, costs.cost_fn),
                    np.where(flagged, costs.cost_fp, costs.cost_tn)).astype(np.float64)


def cost_difference(costs: CostModel, first: Scored, second: Scored, *, rounds: int, seed: int, per: int,
                    ) -> tuple[Estimate, bool]:
    """Expected cost of ``first`` minus that of ``second`` per ``per`` cases, each at its own threshold, with a
    95% percentile bootstrap interval from ``rounds`` resamples; and whether the resampling was paired.

    Paired when both sets hold the same cases (:func:`same_cases`: the same ids, or without ids the same
    labels in the same order), scored by two versions: each round draws one set of cases for both. Otherwise each set is
    resampled on its own. ``rounds`` of 0 gives no interval.
    """
    return row_cost_gap(_row_costs(first, costs), _row_costs(second, costs), same_cases(first, second),
                        rounds=rounds, seed=seed, per=per)


def row_cost_gap(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], order: npt.NDArray[np.intp] | None, *,
                 rounds: int, seed: int, per: int) -> tuple[Estimate, bool]:
    """:func:`cost_difference` on each case's cost under two versions (``a`` and ``b``, any task): paired when
    ``order`` says where each of ``a``'s cases is in ``b``."""
    if a.size == 0 or b.size == 0:
        return Estimate(None, None, None, 0), False
    value = float(a.mean() - b.mean()) * per
    paired = order is not None
    if order is not None:
        b = b[order]
    if rounds < 1:
        return Estimate(value, None, None, int(a.size)), paired
    rng = np.random.default_rng(seed)
    samples = np.empty(rounds, dtype=np.float64)
    gap = a - b if paired else a
    for r in range(rounds):
        if paired:
            samples[r] = gap[rng.integers(0, a.size, size=a.size)].mean()
        else:
            samples[r] = a[rng.integers(0, a.size, size=a.size)].mean() - b[rng.integers(0, b.size, size=b.size)].mean()
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples * per, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), int(a.size)), paired


PAIRED_ROUNDS = 2000
PAIRED_SEED = 17


def _shares(kind: str, truth: npt.NDArray[np.bool_], flagged: npt.NDArray[np.bool_],
            ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per case: does it count towards the share of ``kind`` (numerator), and is it counted among (denominator)."""
    info = kind_info(kind)
    if info is None or info.counts is None or not info.proportion:
        raise ValueError(f"not a proportion: {kind}")
    # The table's counts, one case at a time: each cell is a mask, and adding masks of disjoint cells (numpy's
    # + on booleans is "or") gives the mask of their sum.
    cells = Confusion(tp=truth & flagged, fp=~truth & flagged, tn=~truth & ~flagged,  # type: ignore[arg-type]
                      fn=truth & ~flagged)  # type: ignore[arg-type]
    counted, among = info.counts(cells)
    return np.asarray(counted, dtype=bool), np.asarray(among, dtype=bool)


def paired_difference(kind: str, first: Scored, second: Scored, order: npt.NDArray[np.intp], *,
                      rounds: int = PAIRED_ROUNDS, seed: int = PAIRED_SEED) -> Estimate:
    """``first - second`` for two versions that scored the same cases (``order``: :func:`same_cases`).

    A share: a seeded percentile bootstrap over cases, both versions on the same resampled cases. Each case is
    one of 8 kinds (its label, and whether each version flags it), and the shares depend only on how many
    cases of each kind a resample holds, so each round draws those 8 counts (a multinomial draw, the same
    distribution as drawing the cases one by one), whatever the number of cases. Resamples where a share has
    no cases to count among are left out. ROC AUC: DeLong's (1988) interval for two correlated AUCs.
    ``n`` is the number of cases.
    """
    truth = first.labels
    other_scores = second.scores[order]
    n = int(truth.size)
    if (info := kind_info(kind)) is not None and info.interval == "auc":
        return _delong_difference(truth, first.scores, other_scores)
    a, b = first.scores >= first.threshold, other_scores >= second.threshold
    ab = np.bincount(truth.astype(int) * 4 + a.astype(int) * 2 + b.astype(int), minlength=8)
    ba = np.bincount(truth.astype(int) * 4 + b.astype(int) * 2 + a.astype(int), minlength=8)
    if tuple(ba) < tuple(ab):   # one orientation for both orders, so B - A is exactly -(A - B), draws and all
        swapped = paired_difference(kind, replace(second, scores=other_scores, ids=None, labels=truth),
                                    replace(first, ids=None), np.arange(n), rounds=rounds, seed=seed)
        return Estimate(-swapped.value if swapped.value is not None else None,
                        -swapped.high if swapped.high is not None else None,
                        -swapped.low if swapped.low is not None else None, swapped.n)
    a_num, a_den = _shares(kind, truth, first.scores >= first.threshold)
    b_num, b_den = _shares(kind, truth, other_scores >= second.threshold)
    if not a_den.any() or not b_den.any():
        return Estimate(None, None, None, n)
    value = float(a_num.sum() / a_den.sum() - b_num.sum() / b_den.sum())
    if rounds < 1:
        return Estimate(value, None, None, n)
    cell = truth.astype(int) * 4 + (first.scores >= first.threshold).astype(int) * 2 + \
        (other_scores >= second.threshold).astype(int)
    counts = np.bincount(cell, minlength=8)
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=rounds).astype(np.float64)
    kinds = np.arange(8)

    def share_of(num: npt.NDArray[np.bool_], den: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        # whether a case of each kind counts (all cases of one kind agree; kinds absent here never count)
        counts_num = np.array([bool(num[cell == k].any()) for k in kinds], dtype=np.float64)
        counts_den = np.array([bool(den[cell == k].any()) for k in kinds], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            result: npt.NDArray[np.float64] = (draws @ counts_num) / (draws @ counts_den)
        return result

    gaps = share_of(a_num, a_den) - share_of(b_num, b_den)
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size == 0:
        return Estimate(value, None, None, n)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(gaps, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n)


def version_gap(kind: str, first: Scored, second: Scored) -> tuple[Estimate, bool]:
    """``first - second`` for a share or ROC AUC of two versions, each at its own threshold, with its 95%
    interval; and whether it was paired. Paired (:func:`paired_difference`) when both scored the same cases
    (:func:`same_cases`), else the two intervals combined as independent (:func:`difference`, Newcombe). Every
    comparison of two versions on a page (decision grounds, trust, history) takes its interval from here, so
    they cannot disagree."""
    order = same_cases(first, second)
    if order is not None:
        return paired_difference(kind, first, second, order), True
    return difference(estimate_for(kind, first), estimate_for(kind, second)), False


def _placements(positives: npt.NDArray[np.float64], negatives: npt.NDArray[np.float64],
                ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """DeLong's structural components: for each positive, the share of negatives it outscores (ties count
    half); for each negative, the share of positives that outscore it."""
    def rankdata(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:   # ties get their mean rank
        return np.asarray(pd.Series(values).rank(method="average").to_numpy(), dtype=np.float64)

    m, k = positives.size, negatives.size
    both = rankdata(np.concatenate([positives, negatives]))
    v10 = (both[:m] - rankdata(positives)) / k
    v01 = 1.0 - (both[m:] - rankdata(negatives)) / m
    return np.asarray(v10, dtype=np.float64), np.asarray(v01, dtype=np.float64)


def _delong_difference(truth: npt.NDArray[np.bool_], first: npt.NDArray[np.float64],
                       second: npt.NDArray[np.float64]) -> Estimate:
    n = int(truth.size)
    m, k = int(truth.sum()), int((~truth).sum())
    if m < 2 or k < 2:
        return Estimate(None, None, None, n)
    a10, a01 = _placements(first[truth], first[~truth])
    b10, b01 = _placements(second[truth], second[~truth])
    value = float(a10.mean() - b10.mean())
    s10 = np.cov(np.vstack([a10, b10]))
    s01 = np.cov(np.vstack([a01, b01]))
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / k
    half = 1.959963984540054 * math.sqrt(max(float(variance), 0.0))
    return Estimate(value, max(value - half, -1.0), min(value + half, 1.0), n)


# --- wording -------------------------------------------------------------------------------------------




def counted_among(kind: str, words: Vocabulary) -> str:
    """Who a figure of this kind is counted among: "patients who have a malignant tumour"."""
    return denominator_words(kind, words)


def points_of(share: float) -> int:
    """A share (or a difference of shares) in whole points out of 100, halves away from zero (0.125 -> 13,
    -0.125 -> -13), as a reader rounds. Python's round() rounds halves to even (12), which reads wrongly next
    to "94 in 100 against 81 in 100"."""
    return int(math.copysign(math.floor(abs(share) * 100 + 0.5), share))


def told_share(value: float | None) -> str:
    """A share in whole points out of 100: 0.8125 -> "81 in 100"."""
    return "not known" if value is None else f"{points_of(value):d} in 100"


def told_range(estimate: Estimate) -> str:
    """ "(allowing for chance, anywhere from 70 to 89 in 100)"."""
    if estimate.low is None or estimate.high is None:
        return "(with no range, so how sure this is cannot be said)"
    low, high = points_of(estimate.low), points_of(estimate.high)
    return f"(allowing for chance, anywhere from {low:d} to {high:d} in 100)"


def told_points(value: float, *, up: str, down: str, noun: bool = False) -> str:
    """A difference of shares in points out of 100: "12 points better", "1 point worse", "no different" (with
    ``noun``, "no difference": the end of a range, "anywhere from no difference to 3 points better")."""
    points = points_of(value)
    if points == 0:
        return "no difference" if noun else "no different"
    return f"{abs(points)} point{'' if abs(points) == 1 else 's'} {up if points > 0 else down}"


def told_amount(value: float) -> str:
    """A cost difference: "a saving of 1,880" or "an extra 300"."""
    return f"a saving of {value:,.0f}" if value >= 0 else f"an extra {-value:,.0f}"


def verdict_words(outcome: Outcome) -> str:
    return {
        "holds": "even the least favourable end of the range meets that, so this ground holds",
        "fails": "even the most favourable end of the range misses that, so this ground fails",
        "cannot tell": "the range reaches both sides of that, so the evaluation cannot tell yet",
    }[outcome]


def level_outcome(level: Level, wanted: str) -> Outcome:
    """A trust level has no interval: it holds when it is at least the level asked for."""
    return "holds" if level >= Level[wanted.upper()] else "fails"


def guardrail_outcome(points: list[tuple[int, int, float]], *, lower: float | None, upper: float | None,
                      name: str, source: str) -> tuple[Outcome, str, int | None]:
    """The trust report's guardrail check as an outcome, its sentence, and how many readings were outside."""
    evidence = check_guardrails(points, lower=lower, upper=upper, name=name, source=source)
    outcome: Outcome = "cannot tell" if evidence.passed is None else "holds" if evidence.passed else "fails"
    outside = evidence.figures.get("outside")
    return outcome, evidence.sentence, outside if isinstance(outside, int) else None
