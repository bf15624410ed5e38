"""Cost of error: sweep the decision threshold, price each kind of mistake, find the cheapest threshold.

The stakeholder says what each outcome costs in their own unit (hours of teacher time, money, missed
diagnoses); everything here is a pure function of labels, scores and those costs. A row is *flagged* when
its score is at or above the threshold, as in :func:`storybook.analyse.classification.confusion_at`.

Conventions used throughout:

- The candidate thresholds are the distinct scores, sorted ascending, plus one threshold just above the
  highest score (``numpy.nextafter``), which flags nobody. Any other threshold flags the same rows as the
  smallest candidate at or above it (:meth:`Sweep.index_for`).
- Costs are reported per ``per`` cases (1,000 unless told otherwise).
- Equal costs are broken towards the **highest** threshold, i.e. the one that flags fewest cases. Totals
  that differ only by floating-point rounding (within ``1e-12`` of the largest possible total) are equal.
- Scores must be finite; labels are read as booleans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import Confusion, Estimate, group_rows
from storybook.analyse.plain import decimal_text, stated_threshold_text

__all__ = [
    "BOOTSTRAP_CELLS",
    "BOOTSTRAP_SAMPLE",
    "BOOTSTRAP_WORK",
    "BootstrapResult",
    "Comparison",
    "CostModel",
    "NaturalFrequencies",
    "SliceCost",
    "Sweep",
    "ThresholdChoice",
    "best_threshold",
    "bootstrap",
    "by_slice",
    "compare",
    "costs_from_ratio",
    "expected_cost",
    "natural_frequencies",
    "sweep",
    "threshold_text",
]

PER = 1000
# Bounds on the bootstrap's work (see bootstrap): cases resampled row by row, rows drawn over all rounds, and
# distinct (score, label) pairs for resampling counts.
BOOTSTRAP_SAMPLE = 200_000
BOOTSTRAP_WORK = 100_000_000
BOOTSTRAP_CELLS = 20_000
MISSING = "(missing)"
# Two totals are one tie when they differ by less than this share of the largest possible total.
_TIE_RTOL = 1e-12

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CostModel:
    """What one case of each outcome costs, in the stakeholder's unit. A negative cost is a benefit."""

    cost_fp: float
    cost_fn: float
    cost_tp: float = 0.0
    cost_tn: float = 0.0

    def __post_init__(self) -> None:
        for name in ("cost_fp", "cost_fn", "cost_tp", "cost_tn"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, not {getattr(self, name)!r}")

    @property
    def largest(self) -> float:
        return max(abs(self.cost_fp), abs(self.cost_fn), abs(self.cost_tp), abs(self.cost_tn))


def costs_from_ratio(fn_to_fp: float) -> CostModel:
    """Costs from "a missed case costs as much as ``fn_to_fp`` false alarms": cost_fp = 1, cost_fn = ratio."""
    if not math.isfinite(fn_to_fp) or fn_to_fp <= 0:
        raise ValueError(f"the cost ratio must be a positive number, not {fn_to_fp!r}")
    return CostModel(cost_fp=1.0, cost_fn=float(fn_to_fp))


@dataclass(frozen=True, eq=False)
class Sweep:
    """Confusion counts at every candidate threshold (see the module docstring). Arrays are read-only.

    Compared by identity (``eq=False``): numpy arrays have no single truth value for ``==``.
    """

    thresholds: Floats
    tp: Ints
    fp: Ints
    tn: Ints
    fn: Ints
    n: int
    positives: int
    at_edges: bool = False  # a counted set's sweep: each candidate is a bin's lower edge (see threshold_text)

    @property
    def flagged(self) -> Ints:
        return self.tp + self.fp

    def confusion(self, index: int) -> Confusion:
        return Confusion(tp=int(self.tp[index]), fp=int(self.fp[index]), tn=int(self.tn[index]),
                         fn=int(self.fn[index]))

    def index_for(self, threshold: float) -> int:
        """The candidate that flags exactly the rows ``score >= threshold`` flags."""
        if self.n == 0:
            raise ValueError("no cases: an empty evaluation set has no thresholds")
        if math.isnan(threshold):
            raise ValueError("the threshold must be a number, not NaN")
        index = int(np.searchsorted(self.thresholds, threshold, side="left"))
        return min(index, self.thresholds.size - 1)


def _read(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[npt.NDArray[np.bool_], Floats]:
    truth = np.asarray(labels, dtype=bool).ravel()
    values = np.asarray(scores, dtype=np.float64).ravel()
    if truth.size != values.size:
        raise ValueError(f"labels and scores differ in length ({truth.size} and {values.size})")
    if not np.isfinite(values).all():
        raise ValueError("scores must be finite numbers (found NaN or infinity)")
    return truth, values


@dataclass(frozen=True)
class _Sorted:
    """Rows sorted by score, and where each run of equal scores starts."""

    order: npt.NDArray[np.intp]
    truth: Ints
    starts: npt.NDArray[np.intp]
    thresholds: Floats


def _sort(truth: npt.NDArray[np.bool_], values: Floats, top: float | None = None) -> _Sorted:
    """``top``: the highest score of any case (a counted set's rows hold bins' lower edges, so their cases can
    score higher); the flag-nobody threshold is just above it."""
    # Order within a run of equal scores never matters (runs are summed), so the fast unstable sort will do.
    order = np.argsort(values)
    ranked = values[order]
    starts = np.concatenate(([0], np.flatnonzero(ranked[1:] != ranked[:-1]) + 1)).astype(np.intp)
    above = np.nextafter(max(ranked[-1], top if top is not None else ranked[-1]), np.inf)
    thresholds = np.append(ranked[starts], above)
    return _Sorted(order=order, truth=truth[order].astype(np.int64), starts=starts, thresholds=thresholds)


def _from_top(per_run: Ints) -> Ints:
    """Per candidate threshold, the total of the runs at or above it (0 for the flag-nobody threshold)."""
    return np.append(np.cumsum(per_run[::-1])[::-1], 0).astype(np.int64)


def _counts(ranked: _Sorted, weights: Ints | None) -> tuple[Ints, Ints, int, int]:
    """Flagged and true-positive counts per candidate; ``weights`` (per sorted row) for resamples."""
    rows = ranked.truth if weights is None else weights * ranked.truth
    per_run_pos = np.add.reduceat(rows, ranked.starts)
    if weights is None:
        per_run = np.diff(np.append(ranked.starts, ranked.truth.size)).astype(np.int64)
    else:
        per_run = np.add.reduceat(weights, ranked.starts)
    flagged, tp = _from_top(per_run), _from_top(per_run_pos)
    return flagged, tp, int(flagged[0]), int(tp[0])


def _readonly(array: npt.NDArray[np.generic]) -> None:
    array.flags.writeable = False


def sweep(labels: npt.ArrayLike, scores: npt.ArrayLike, weights: npt.ArrayLike | None = None, *,
          top: float | None = None) -> Sweep:
    """Confusion counts at every candidate threshold, in O(n log n) (one sort, then cumulative sums).

    Rows with equal scores are flagged or not together. An empty input gives a sweep with no thresholds.
    ``weights``: how many cases each row stands for (a counted set's cells, whose scores are their bins' lower
    edges: the candidates are then the edges, and ``top`` the highest score of any case).
    """
    truth, values = _read(labels, scores)
    if truth.size == 0:
        none = np.zeros(0, dtype=np.int64)
        result = Sweep(thresholds=np.zeros(0, dtype=np.float64), tp=none, fp=none.copy(), tn=none.copy(),
                       fn=none.copy(), n=0, positives=0)
    else:
        ranked = _sort(truth, values, top)
        counted = None if weights is None else np.asarray(weights, dtype=np.int64)[ranked.order]
        flagged, tp, n, positives = _counts(ranked, counted)
        fp = flagged - tp
        result = Sweep(thresholds=ranked.thresholds, tp=tp, fp=fp, tn=(n - positives) - fp, fn=positives - tp,
                       n=n, positives=positives, at_edges=weights is not None)
    for array in (result.thresholds, result.tp, result.fp, result.tn, result.fn):
        _readonly(array)
    return result


def _totals(tp: Ints, fp: Ints, tn: Ints, fn: Ints, costs: CostModel) -> Floats:
    return np.asarray(tp * costs.cost_tp + fp * costs.cost_fp + tn * costs.cost_tn + fn * costs.cost_fn,
                      dtype=np.float64)


def expected_cost(result: Sweep, costs: CostModel, per: int = PER) -> Floats:
    """Total cost per ``per`` cases at each candidate threshold; an empty array when there are no cases."""
    _check_per(per)
    if result.n == 0:
        return np.zeros(0, dtype=np.float64)
    return _totals(result.tp, result.fp, result.tn, result.fn, costs) / result.n * per


def threshold_text(result: Sweep, index: int) -> str:
    """The threshold to print for candidate ``index``: applied as a reader would ("flag when the score is at or
    above it"), it flags exactly the rows the candidate flags, so the counts and cost beside it reproduce.

    It is the number with the fewest decimals above the next lower distinct score and at or below this
    candidate's score (above the highest score for the flag-nobody candidate); among those, the one nearest
    the middle of that gap, so a score a hair above or below it in a rerun does not change what it flags. The
    cheapest threshold often sits exactly on one case's score (0.229941); printing it as "0.23" would leave
    that case out.
    """
    if not 0 <= index < result.thresholds.size:
        raise ValueError(f"no candidate threshold {index} (there are {result.thresholds.size})")
    last = index == result.thresholds.size - 1
    if result.at_edges and not last:
        # A counted set: below an edge lie cases of the bin under it, so only the edge itself flags exactly.
        return stated_threshold_text(float(result.thresholds[index]))
    below = float(result.thresholds[index - 1]) if index > 0 else -math.inf  # the text must be above this
    if result.at_edges:  # flag nobody: above the highest score of any case
        below = float(np.nextafter(result.thresholds[index], -np.inf))
    top = math.inf if last else float(result.thresholds[index])  # ... and at or below this
    for digits in range(0, 40):
        scale = Decimal(10) ** digits
        lowest = (Decimal(below) * scale).to_integral_value(ROUND_FLOOR) + 1 if below > -math.inf else None
        highest = (Decimal(top) * scale).to_integral_value(ROUND_FLOOR) if top < math.inf else None
        steps: Decimal | None
        if lowest is not None and highest is not None:
            if lowest > highest:
                continue
            middle = (Decimal(below) + Decimal(top)) / 2 * scale
            options = [max(lowest, min(highest, middle.to_integral_value(ROUND_FLOOR) + k)) for k in (0, 1)]
            steps = min(options, key=lambda k: (abs(k - middle), k))
        else:
            steps = lowest if highest is None else highest  # open on one side: the end nearest the scores
        assert steps is not None
        text = decimal_text(steps / scale)
        if below < float(text) <= top:  # what a reader's float comparison sees
            return text
    return repr(top if not last else below)  # pragma: no cover (adjacent floats always part within 40 digits)


@dataclass(frozen=True)
class ThresholdChoice:
    """The cost-minimising threshold (highest threshold among equal-cost minima).

    ``capacity_binding``: the cheapest threshold overall flags more than ``capacity`` allows, so this choice
    costs more (``uncapped_cost_per``). ``nothing_fits``: every threshold that flags anyone exceeds the
    capacity, so the choice is to flag nobody. ``flags_nobody``: the threshold is above every score.
    """

    threshold: float
    index: int
    confusion: Confusion
    cost_per: float
    per: int
    flagged_share: float
    capacity: float | None
    capacity_binding: bool
    nothing_fits: bool
    flags_nobody: bool
    uncapped_cost_per: float


@dataclass(frozen=True)
class _Pick:
    index: int
    uncapped: int
    binding: bool
    nothing_fits: bool


def _cheapest_highest(totals: Floats, tolerance: float) -> int:
    """The last (highest-threshold) index whose total is within ``tolerance`` of the minimum."""
    near = np.flatnonzero(totals <= totals.min() + tolerance)
    return int(near[-1])


def _pick(totals: Floats, flagged: Ints, n: int, costs: CostModel, capacity: float | None) -> _Pick:
    tolerance = _TIE_RTOL * costs.largest * n
    uncapped = _cheapest_highest(totals, tolerance)
    if capacity is None:
        return _Pick(index=uncapped, uncapped=uncapped, binding=False, nothing_fits=False)
    limit = math.floor(capacity * n + 1e-9)
    # Flagged counts fall as the threshold rises, so the allowed thresholds are a tail of the sweep; the
    # flag-nobody threshold at the end is always allowed.
    first = int(np.argmax(flagged <= limit))
    index = first + _cheapest_highest(totals[first:], tolerance)
    return _Pick(index=index, uncapped=uncapped, binding=uncapped < first, nothing_fits=first == totals.size - 1)


def _check_capacity(capacity: float | None) -> None:
    if capacity is not None and not 0.0 <= capacity <= 1.0:
        raise ValueError(f"capacity is a share of cases between 0 and 1, not {capacity!r}")


def _check_per(per: int) -> None:
    if per <= 0:
        raise ValueError(f"per must be a positive number of cases, not {per!r}")


def best_threshold(result: Sweep, costs: CostModel, capacity: float | None = None, *, per: int = PER,
                   ) -> ThresholdChoice:
    """The threshold with the lowest expected cost, flagging at most ``capacity`` (a share) of cases.

    Among thresholds of equal cost the highest (fewest flags) is chosen. Raises ValueError without cases.
    """
    _check_capacity(capacity)
    _check_per(per)
    if result.n == 0:
        raise ValueError("no cases: cannot choose a threshold on an empty evaluation set")
    totals = _totals(result.tp, result.fp, result.tn, result.fn, costs)
    pick = _pick(totals, result.flagged, result.n, costs, capacity)
    confusion = result.confusion(pick.index)
    return ThresholdChoice(
        threshold=float(result.thresholds[pick.index]), index=pick.index, confusion=confusion,
        cost_per=float(totals[pick.index]) / result.n * per, per=per,
        flagged_share=confusion.flagged / result.n, capacity=capacity, capacity_binding=pick.binding,
        nothing_fits=pick.nothing_fits, flags_nobody=pick.index == result.thresholds.size - 1,
        uncapped_cost_per=float(totals[pick.uncapped]) / result.n * per,
    )


@dataclass(frozen=True)
class Comparison:
    """The threshold in use against the cheapest one. ``saving_per`` = current cost - best cost, per ``per``.

    With a capacity the saving can be negative: keeping to the capacity may cost more than today.
    """

    current_threshold: float
    current: Confusion
    current_cost_per: float
    best: ThresholdChoice
    saving_per: float
    per: int


def compare(result: Sweep, costs: CostModel, current_threshold: float, *, capacity: float | None = None,
            per: int = PER) -> Comparison:
    best = best_threshold(result, costs, capacity, per=per)
    index = result.index_for(current_threshold)
    totals = _totals(result.tp, result.fp, result.tn, result.fn, costs)
    current_per = float(totals[index]) / result.n * per
    return Comparison(current_threshold=float(current_threshold), current=result.confusion(index),
                      current_cost_per=current_per, best=best, saving_per=current_per - best.cost_per, per=per)


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile intervals from ``rounds`` resamples; each ``value`` is the figure on the whole data.

    ``min_cost``: the lowest expected cost per ``per``, the threshold re-chosen in every resample. It is
    chosen on the data it is measured on, so it flatters; the interval shows spread, not that optimism.
    ``threshold``: the cost-minimising threshold. ``cost_at_threshold``: the cost at ``at_threshold``.
    ``saving``: cost at ``at_threshold`` minus cost at the whole-data best threshold, both on the same
    resample (paired), so it can come out negative when switching may not help.
    ``cases``: the evaluation's size. ``sampled``: when the data was too large to resample whole (see
    :func:`bootstrap`), the size of the random sample the intervals come from (wider than the whole data's
    would be: chance in a smaller set); None when they come from every case.
    """

    min_cost: Estimate
    threshold: Estimate
    cost_at_threshold: Estimate | None
    saving: Estimate | None
    at_threshold: float | None
    capacity: float | None
    rounds: int
    seed: int
    confidence: float
    per: int
    cases: int = 0
    sampled: int | None = None


def _estimate(value: float, samples: Floats, confidence: float, n: int) -> Estimate:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Estimate(value=value, low=float(low), high=float(high), n=n)


def _at(thresholds: Floats, threshold: float) -> int:
    """The candidate of ``thresholds`` that flags exactly the rows ``score >= threshold`` flags."""
    return min(int(np.searchsorted(thresholds, threshold, side="left")), thresholds.size - 1)


@dataclass
class _Rounds:
    """Per round of the bootstrap: the lowest cost, its threshold, the cost at the threshold in use and at the
    whole data's best threshold."""

    min_costs: Floats
    chosen: Floats
    at_fixed: Floats
    at_best: Floats

    @classmethod
    def empty(cls, rounds: int) -> _Rounds:
        return cls(*(np.zeros(rounds, dtype=np.float64) for _ in range(4)))

    def record(self, r: int, flagged: Ints, tp: Ints, m: int, thresholds: Floats, costs: CostModel,
               capacity: float | None, per: int, best: int, fixed: int | None) -> None:
        positives = int(tp[0])
        fp = flagged - tp
        totals = _totals(tp, fp, (m - positives) - fp, positives - tp, costs)
        pick = _pick(totals, flagged, m, costs, capacity)
        self.min_costs[r] = totals[pick.index] / m * per
        self.chosen[r] = thresholds[pick.index]
        self.at_best[r] = totals[best] / m * per
        if fixed is not None:
            self.at_fixed[r] = totals[fixed] / m * per


def bootstrap(labels: npt.ArrayLike, scores: npt.ArrayLike, costs: CostModel, *, rounds: int = 1000,
              seed: int = 0, capacity: float | None = None, at_threshold: float | None = None,
              confidence: float = 0.95, per: int = PER, weights: npt.ArrayLike | None = None,
              replicates: npt.ArrayLike | None = None, top: float | None = None) -> BootstrapResult:
    """Resample cases with replacement and read off percentile intervals (see :class:`BootstrapResult`).

    The figures themselves come from every case. The work stays bounded whatever the size of the data:

    - **Rows** (up to ``BOOTSTRAP_SAMPLE`` cases, and ``BOOTSTRAP_WORK`` rows drawn over all rounds): round r
      draws ``rng.integers(0, n, size=n)`` row positions from ``numpy.random.default_rng(seed)``, reusing one
      sort of the data (resampled rows are counted by weight), so a round costs O(n).
    - **Counts** (more cases, but at most ``BOOTSTRAP_CELLS`` distinct (score, label) pairs): resampling n
      rows is the same as drawing the counts of the distinct (score, label) pairs from a multinomial with
      their shares, which is all a threshold sweep reads; exact, and a round costs O(distinct pairs).
    - **Sample** (otherwise): a random sample of cases without replacement (seeded), resampled as rows; the
      result says so (``sampled``), and its intervals are those of the smaller set, so wider.

    The same inputs and seed give the same result. A resample whose cheapest choice is to flag nobody counts
    at the whole data's flag-nobody threshold.

    A counted set (``weights``: cases per row, see :func:`sweep`) is resampled by its ``replicates`` (rows x B
    whole numbers: each round's resampling weights, e.g. an aggregate's Poisson bootstrap counts); ``rounds``
    and ``seed`` are then those the replicates were drawn with, for the record.
    """
    _check_capacity(capacity)
    _check_per(per)
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    truth, values = _read(labels, scores)
    if weights is not None:
        if replicates is None:
            raise ValueError("a counted set is resampled by its replicates, and it has none")
        return _bootstrap_counted(truth, values, np.asarray(weights, dtype=np.int64),
                                  np.asarray(replicates), costs, seed=seed, capacity=capacity,
                                  at_threshold=at_threshold, confidence=confidence, per=per, top=top)
    n = int(truth.size)
    if n == 0:
        raise ValueError("no cases: cannot bootstrap an empty evaluation set")
    whole = sweep(truth, values)
    best = best_threshold(whole, costs, capacity, per=per)
    fixed = None if at_threshold is None else whole.index_for(at_threshold)
    rng = np.random.default_rng(seed)
    found = _Rounds.empty(rounds)
    rows = min(BOOTSTRAP_SAMPLE, max(BOOTSTRAP_WORK // rounds, 1))
    sampled = None
    if n <= rows:
        _resample_rows(_sort(truth, values), whole.thresholds, n, rounds, rng, found, costs, capacity, per,
                       best.index, fixed)
    elif 2 * (whole.thresholds.size - 1) <= BOOTSTRAP_CELLS:
        _resample_counts(_sort(truth, values), n, rounds, rng, found, costs, capacity, per, best.index, fixed)
    else:
        sampled = rows
        pick = np.sort(np.random.default_rng([seed, 1]).choice(n, size=rows, replace=False))
        ranked = _sort(truth[pick], values[pick])
        thresholds = ranked.thresholds.copy()
        thresholds[-1] = whole.thresholds[-1]  # flag nobody: above every score of the whole data
        _resample_rows(ranked, thresholds, rows, rounds, rng, found, costs, capacity, per,
                       _at(thresholds, best.threshold), None if at_threshold is None else _at(thresholds, at_threshold))

    return _result(whole, best, found, costs, at_threshold=at_threshold, capacity=capacity, per=per,
                   confidence=confidence, cases=n, rounds=rounds, seed=seed, sampled=sampled)


def _result(whole: Sweep, best: ThresholdChoice, found: _Rounds, costs: CostModel, *, at_threshold: float | None,
            capacity: float | None, per: int, confidence: float, cases: int, rounds: int, seed: int,
            sampled: int | None) -> BootstrapResult:
    """The bootstrap's figures from its rounds: the least cost and its threshold, and the cost and saving at the
    threshold in use when there is one."""
    cost_at = saving = None
    if at_threshold is not None:
        current = compare(whole, costs, at_threshold, capacity=capacity, per=per)
        cost_at = _estimate(current.current_cost_per, found.at_fixed, confidence, cases)
        saving = _estimate(current.saving_per, found.at_fixed - found.at_best, confidence, cases)
    return BootstrapResult(
        min_cost=_estimate(best.cost_per, found.min_costs, confidence, cases),
        threshold=_estimate(best.threshold, found.chosen, confidence, cases),
        cost_at_threshold=cost_at, saving=saving, at_threshold=at_threshold, capacity=capacity,
        rounds=rounds, seed=seed, confidence=confidence, per=per, cases=cases, sampled=sampled,
    )

def _bootstrap_counted(truth: npt.NDArray[np.bool_], values: Floats, weights: Ints,
                       replicates: npt.NDArray[np.integer[npt.NBitBase]],
                       costs: CostModel, *, seed: int, capacity: float | None, at_threshold: float | None,
                       confidence: float, per: int, top: float | None) -> BootstrapResult:
    """:func:`bootstrap` of a counted set: one round per replicate column, its counts the resampling weights."""
    if replicates.ndim != 2 or replicates.shape[0] != truth.size or replicates.shape[1] < 1:
        raise ValueError("a counted set is resampled by its replicates: one column of counts per round")
    n = int(weights.sum())
    if n == 0:
        raise ValueError("no cases: cannot bootstrap an empty evaluation set")
    whole = sweep(truth, values, weights, top=top)
    best = best_threshold(whole, costs, capacity, per=per)
    fixed = None if at_threshold is None else whole.index_for(at_threshold)
    ranked = _sort(truth, values, top)
    rounds = int(replicates.shape[1])
    found = _Rounds.empty(rounds)
    for r in range(rounds):
        flagged, tp, m, _ = _counts(ranked, replicates[ranked.order, r].astype(np.int64))  # one round at a time
        if m == 0:
            raise ValueError("a replicate counts no cases")
        found.record(r, flagged, tp, m, whole.thresholds, costs, capacity, per, best.index, fixed)
    return _result(whole, best, found, costs, at_threshold=at_threshold, capacity=capacity, per=per,
                   confidence=confidence, cases=n, rounds=rounds, seed=seed, sampled=None)


def _resample_rows(ranked: _Sorted, thresholds: Floats, m: int, rounds: int, rng: np.random.Generator,
                   found: _Rounds, costs: CostModel, capacity: float | None, per: int, best: int,
                   fixed: int | None) -> None:
    for r in range(rounds):
        draws = rng.integers(0, m, size=m)
        weights = np.bincount(draws, minlength=m).astype(np.int64)[ranked.order]
        flagged, tp, _, _ = _counts(ranked, weights)
        found.record(r, flagged, tp, m, thresholds, costs, capacity, per, best, fixed)


def _resample_counts(ranked: _Sorted, n: int, rounds: int, rng: np.random.Generator, found: _Rounds,
                     costs: CostModel, capacity: float | None, per: int, best: int, fixed: int | None) -> None:
    positives = np.add.reduceat(ranked.truth, ranked.starts)
    sizes = np.diff(np.append(ranked.starts, ranked.truth.size))
    shares = np.concatenate((positives, sizes - positives)) / n
    runs = positives.size
    for r in range(rounds):
        drawn = rng.multinomial(n, shares).astype(np.int64)
        drawn_positives = drawn[:runs]
        flagged, tp = _from_top(drawn_positives + drawn[runs:]), _from_top(drawn_positives)
        found.record(r, flagged, tp, n, ranked.thresholds, costs, capacity, per, best, fixed)


@dataclass(frozen=True)
class NaturalFrequencies:
    """A confusion table told as "out of ``per`` cases": the four cells add up to exactly ``per``.

    Rounded so that one section never shows two denominators for one population:

    1. The margins first. Who is positive and who negative depends only on the evaluation set, not on the
       threshold, so ``positives`` is the same in every table of one set (largest remainder between the two;
       a tie goes to the larger count, then to the positives). ``flagged`` is rounded the same way, except
       that with a ``capacity`` a count above it is rounded up, so it is never told as within it.
    2. Then the cells: each is its exact share rounded down or up, chosen so that the cells add up to those
       margins. Where no such rounding exists (the two margins' roundings can clash), ``flagged`` is rounded
       the other way; where a capacity forced ``flagged`` up and that clashes, it is rounded as without the
       capacity. Among the choices, the closest to the exact shares wins. A cell that is exactly whole, or
       zero, is never moved.
    """

    tp: int
    fp: int
    tn: int
    fn: int
    per: int
    out_of: int

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def not_flagged(self) -> int:
        return self.tn + self.fn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp


def _split(part: int, n: int, per: int) -> int:
    """``part`` of ``n`` cases scaled to ``per`` by largest remainder against the rest (ties: larger, then part)."""
    whole, remainder = divmod(part * per, n)
    rest_whole, rest_remainder = divmod((n - part) * per, n)
    if whole + rest_whole == per:
        return whole
    return whole + 1 if (remainder, part) >= (rest_remainder, n - part) else whole


def natural_frequencies(confusion: Confusion, per: int = PER, *, capacity: int | None = None,
                        ) -> NaturalFrequencies:
    """Scale a confusion table to a population of ``per`` (see :class:`NaturalFrequencies` for the rounding).

    ``capacity``: at most this many of ``per`` may be flagged; a table above it is never told as within it,
    where a rounding allows. Raises ValueError when the table counts no cases.
    """
    _check_per(per)
    n = confusion.n
    if n == 0:
        raise ValueError("no cases: an empty confusion table cannot be scaled")
    cells = (confusion.tp, confusion.fp, confusion.tn, confusion.fn)
    positives = _split(confusion.positives, n, per)
    negatives = per - positives

    def bounds(cell: int) -> tuple[int, int]:
        return cell * per // n, -(-cell * per // n)

    rounded = _split(confusion.flagged, n, per)
    flagged_options = [rounded, *(b for b in bounds(confusion.flagged) if b != rounded)]
    if capacity is not None and confusion.flagged * per > capacity * n:
        flagged_options.insert(0, bounds(confusion.flagged)[1])  # rounded up: told as above the capacity
    for flagged in flagged_options:
        chosen: tuple[int, int, int, int] | None = None
        error = 0
        for tp in sorted(set(bounds(confusion.tp))):
            table = (tp, flagged - tp, negatives - (flagged - tp), positives - tp)
            if all(low <= value <= high for value, (low, high) in zip(table, map(bounds, cells), strict=True)):
                # Compare squared errors exactly, in units of 1/n.
                miss = sum((value * n - cell * per) ** 2 for value, cell in zip(table, cells, strict=True))
                if chosen is None or miss < error:
                    chosen, error = table, miss
        if chosen is not None:
            return NaturalFrequencies(*chosen, per=per, out_of=n)
    raise AssertionError(f"no rounding of {confusion} to {per} adds up")  # pragma: no cover


@dataclass(frozen=True)
class SliceCost:
    """Who carries the mistakes: one group's cost, and its share of all false negatives and positives.

    Shares are of the totals over every group (None when there are none of that mistake at all);
    ``cost_per`` is None for a group with no cases; ``small`` marks groups under the minimum size.
    """

    value: str
    n: int
    positives: int
    confusion: Confusion
    cost_per: float | None
    share_of_cases: float | None
    share_of_false_negatives: float | None
    share_of_false_positives: float | None
    small: bool


def _share(part: int, total: int) -> float | None:
    return None if total == 0 else part / total


def by_slice(labels: npt.ArrayLike, scores: npt.ArrayLike, groups: pd.Series, costs: CostModel,
             threshold: float, *, min_size: int = 30, per: int = PER,
             weights: npt.ArrayLike | None = None) -> tuple[SliceCost, ...]:
    """Cost and mistakes per group at ``threshold``; groups sorted by name, missing values as "(missing)".

    ``groups`` lines up with the labels by position. A categorical column lists every category, so a
    category with no cases appears with n = 0. Past ``MAX_GROUPS`` groups, the largest are kept and the rest
    counted together in a last row (:func:`storybook.analyse.classification.group_rows`).
    """
    _check_per(per)
    truth, values = _read(labels, scores)
    if len(groups) != truth.size:
        raise ValueError(f"groups has {len(groups)} rows but there are {truth.size} labels")
    if math.isnan(threshold):
        raise ValueError("the threshold must be a number, not NaN")
    counted = None if weights is None else np.asarray(weights, dtype=np.int64)
    grouping = group_rows(groups.reset_index(drop=True), categories=True, weights=counted)
    ordered, codes = grouping.names, grouping.codes
    flagged = values >= threshold

    def count(rows: npt.NDArray[np.bool_]) -> list[int]:
        cases = None if counted is None else counted[rows]
        return [int(x) for x in np.bincount(codes[rows], weights=cases, minlength=len(ordered))]

    sizes = count(np.ones(truth.size, dtype=bool))
    tps, fps, fns = count(truth & flagged), count(~truth & flagged), count(truth & ~flagged)
    cells = {name: Confusion(tp=tps[i], fp=fps[i], tn=sizes[i] - tps[i] - fps[i] - fns[i], fn=fns[i])
             for i, name in enumerate(ordered)}
    total_n = int(truth.size) if counted is None else int(counted.sum())
    total_fn = sum(c.fn for c in cells.values())
    total_fp = sum(c.fp for c in cells.values())
    rows = []
    for name, c in cells.items():
        total = c.tp * costs.cost_tp + c.fp * costs.cost_fp + c.tn * costs.cost_tn + c.fn * costs.cost_fn
        rows.append(SliceCost(
            value=name, n=c.n, positives=c.positives, confusion=c,
            cost_per=None if c.n == 0 else total / c.n * per, share_of_cases=_share(c.n, total_n),
            share_of_false_negatives=_share(c.fn, total_fn), share_of_false_positives=_share(c.fp, total_fp),
            small=c.n < min_size,
        ))
    return tuple(rows)
