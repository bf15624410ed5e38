"""Multiclass metrics on plain arrays: per-class shares with intervals, the confusion matrix, calibration, and
the decision rule that minimises expected cost over a cost matrix.

A leaf: no story, no words, no I/O. Classes are told by their index into ``MulticlassScores.classes``.

Conventions:

- The confusion matrix has one row per true class and one column per called class (scikit-learn's
  ``confusion_matrix`` with ``labels=range(k)``).
- A class's *recall* ("found") is, of the rows truly of that class, the share called that class; its
  *precision* ("right when it says so") is, of the rows called that class, the share truly of it. Both are
  shares with a Wilson interval; a class nobody was (called) has no figure (``Estimate.value`` None).
- Macro F1 and balanced accuracy average one figure per class over every class of the story. When a class has
  no row in the evaluation set, they have no value: storybook does not average over a subset and call it the
  whole (scikit-learn, by default, quietly averages over the classes it finds).
- Log loss clips probabilities to [eps, 1 - eps], eps the float64 machine precision, as scikit-learn does.
- Bootstrap intervals are seeded percentile intervals from ``numpy.random.default_rng(seed)``. Each figure
  here depends only on how many rows of each kind (a cell of the confusion matrix, or of the cost rule's
  comparison) a resample holds, so a round draws those counts from a multinomial with the cells' shares:
  exactly what resampling rows would give, at a cost that does not grow with the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.metrics.binary import Estimate, proportion

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "PLACED_AT_MOST",
    "CalibrationBand",
    "CostRule",
    "MulticlassScores",
    "TooManyToPlace",
    "accuracy",
    "balanced_accuracy",
    "calls_cost",
    "class_calibration",
    "class_precision",
    "class_recall",
    "confusion_matrix",
    "cost_rule",
    "expected_costs",
    "least_cost_calls",
    "log_loss",
    "macro_f1",
    "top_label_calibration",
]

Ints = npt.NDArray[np.intp]
Floats = npt.NDArray[np.float64]

BOOTSTRAP_ROUNDS = 1000
BOOTSTRAP_SEED = 0
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class MulticlassScores:
    """One version's calls on its evaluation set. ``truth`` and ``predicted`` hold class indices into
    ``classes``; ``probabilities`` (n rows x len(classes), each row summing to 1) when the run logged them,
    and then ``predicted`` is the most likely class of each row (ties: the first class in ``classes``)."""

    classes: tuple[str, ...]
    truth: Ints
    predicted: Ints
    probabilities: Floats | None = None

    @property
    def n(self) -> int:
        return int(self.truth.size)

    @property
    def k(self) -> int:
        return len(self.classes)

    @classmethod
    def from_probabilities(cls, classes: Sequence[str], truth: npt.ArrayLike,
                           probabilities: npt.ArrayLike) -> MulticlassScores:
        """Scores whose calls are each row's most likely class (ties: the first class in ``classes``)."""
        p = np.asarray(probabilities, dtype=np.float64)
        return cls(tuple(classes), np.asarray(truth, dtype=np.intp), np.argmax(p, axis=1).astype(np.intp), p)


def confusion_matrix(scores: MulticlassScores) -> Ints:
    """k x k counts: row = the true class, column = the class called."""
    k = scores.k
    cells = np.bincount(scores.truth * k + scores.predicted, minlength=k * k)
    return cells.reshape(k, k).astype(np.intp)


def class_recall(scores: MulticlassScores) -> tuple[Estimate, ...]:
    """Per class, "found": of the rows truly of the class, the share called it (Wilson interval)."""
    matrix = confusion_matrix(scores)
    return tuple(proportion(int(matrix[c, c]), int(matrix[c].sum())) for c in range(scores.k))


def class_precision(scores: MulticlassScores) -> tuple[Estimate, ...]:
    """Per class, "right when it says so": of the rows called the class, the share truly of it (Wilson)."""
    matrix = confusion_matrix(scores)
    return tuple(proportion(int(matrix[c, c]), int(matrix[:, c].sum())) for c in range(scores.k))


def accuracy(scores: MulticlassScores) -> Estimate:
    """The share of rows whose call is their true class (Wilson interval)."""
    return proportion(int(np.count_nonzero(scores.truth == scores.predicted)), scores.n)


# The linear programme behind two or more binding limits grows faster than its rows (about 2 s for 40,000 on a
# laptop core); past this many rows to place, least_cost_calls says so instead of running for minutes.
PLACED_AT_MOST = 100_000


class TooManyToPlace(ValueError):
    """Too many rows contest the limited classes to place them exactly (see :data:`PLACED_AT_MOST`)."""


# At most this many drawn counts are held at once (rounds x cells) while resampling.
_DRAWN_AT_ONCE = 4_000_000


def _draws(cells: npt.NDArray[np.int64], rounds: int, seed: int) -> Iterator[npt.NDArray[np.int64]]:
    """``rounds`` resamples of ``cells.sum()`` rows, told as counts per cell (one row per resample), in chunks so
    that memory stays bounded however many cells there are (the same draws as all at once)."""
    n = int(cells.sum())
    rng = np.random.default_rng(seed)
    shares = cells / n
    chunk = max(1, _DRAWN_AT_ONCE // max(int(cells.size), 1))
    for start in range(0, rounds, chunk):
        yield rng.multinomial(n, shares, size=min(chunk, rounds - start)).astype(np.int64)


def _cell_sums(cells: npt.NDArray[np.int64], values: Floats, rounds: int, seed: int) -> Floats:
    """Per resample, the sum over rows of ``values`` (cells x m: each cell's value per row)."""
    return np.asarray(np.concatenate([drawn.astype(np.float64) @ values for drawn in _draws(cells, rounds, seed)]),
                      dtype=np.float64)


def _distinct(ids: Ints, size: int) -> tuple[Ints, npt.NDArray[np.int64]]:
    """The distinct cell ids among ``ids`` (each below ``size``) and how many rows each holds."""
    if size <= 1_000_000:
        counts = np.bincount(ids, minlength=size).astype(np.int64)
        used = np.flatnonzero(counts).astype(np.intp)
        return used, counts[used]
    found, many = np.unique(ids, return_counts=True)
    return found.astype(np.intp), many.astype(np.int64)


def _percentile(value: float, samples: Floats, n: int, confidence: float = 0.95) -> Estimate:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return Estimate(value, None, None, n)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n)


def _balanced(matrices: npt.NDArray[np.int64]) -> Floats:
    """Mean over classes of the recall, for a stack of confusion matrices (nan where a class has no row)."""
    diagonal = np.diagonal(matrices, axis1=-2, axis2=-1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = diagonal / matrices.sum(axis=-1)
    return np.asarray(recall.mean(axis=-1), dtype=np.float64)


def balanced_accuracy(scores: MulticlassScores, *, rounds: int = BOOTSTRAP_ROUNDS,
                      seed: int = BOOTSTRAP_SEED) -> Estimate:
    """The mean over classes of each class's recall, with a seeded percentile bootstrap interval.

    No value when a class has no row (see the module docstring). A resample that draws no row of some class
    has no figure and is left out of the interval."""
    matrix = confusion_matrix(scores).astype(np.int64)
    if scores.n == 0 or (matrix.sum(axis=1) == 0).any():
        return Estimate(None, None, None, scores.n)
    value = float(_balanced(matrix))
    if rounds < 1:
        return Estimate(value, None, None, scores.n)
    k = scores.k
    samples = np.concatenate([_balanced(drawn.reshape(-1, k, k)) for drawn in _draws(matrix.ravel(), rounds, seed)])
    return _percentile(value, samples, scores.n)


def macro_f1(scores: MulticlassScores) -> Estimate:
    """The mean over classes of each class's F1 (2 x found-and-right / (rows of the class + rows called it)).

    No value when a class has no row (see the module docstring); no interval."""
    matrix = confusion_matrix(scores)
    truly = matrix.sum(axis=1)
    if scores.n == 0 or (truly == 0).any():
        return Estimate(None, None, None, scores.n)
    diagonal = np.diagonal(matrix).astype(np.float64)
    f1 = 2 * diagonal / (truly + matrix.sum(axis=0))
    return Estimate(float(f1.mean()), None, None, scores.n)


def log_loss(scores: MulticlassScores) -> Estimate:
    """The mean over rows of -ln(the probability given to the true class), natural log; lower is better.

    No value when the run logged no probabilities. ``Estimate.low`` / ``high`` are None (no interval)."""
    if scores.probabilities is None or scores.n == 0:
        return Estimate(None, None, None, scores.n)
    given = scores.probabilities[np.arange(scores.n), scores.truth]
    return Estimate(float(-np.mean(np.log(np.clip(given, _EPS, 1 - _EPS)))), None, None, scores.n)


# --- calibration ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationBand:
    """One band of stated probability: ``low`` < probability <= ``high`` (the first band also holds 0).
    ``stated``: the mean probability of the rows in the band; ``observed``: the share of them that came true,
    with its Wilson interval. Empty bands have n = 0 and no figures."""

    low: float
    high: float
    n: int
    stated: float | None
    observed: Estimate


def _bands(probability: Floats, happened: npt.NDArray[np.bool_], bins: int) -> tuple[CalibrationBand, ...]:
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins!r}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], probability)  # an inner edge belongs to the lower band
    counts = np.bincount(ids, minlength=bins)
    sums = np.bincount(ids, weights=probability, minlength=bins)
    hits = np.bincount(ids, weights=happened.astype(np.float64), minlength=bins)
    return tuple(
        CalibrationBand(float(edges[b]), float(edges[b + 1]), int(counts[b]),
                        float(sums[b] / counts[b]) if counts[b] else None,
                        proportion(round(hits[b]), int(counts[b])))
        for b in range(bins))


def top_label_calibration(scores: MulticlassScores, bins: int = 10) -> tuple[CalibrationBand, ...] | None:
    """Bands of each row's highest probability (how sure the model is of its call) against the share of
    calls that were right. None without probabilities."""
    if scores.probabilities is None:
        return None
    top = scores.probabilities[np.arange(scores.n), scores.predicted]
    return _bands(top, scores.truth == scores.predicted, bins)


def class_calibration(scores: MulticlassScores, bins: int = 10) -> tuple[tuple[CalibrationBand, ...], ...] | None:
    """Per class: bands of the probability given to that class against the share of rows truly of it.
    None without probabilities."""
    if scores.probabilities is None:
        return None
    return tuple(_bands(scores.probabilities[:, c], scores.truth == c, bins) for c in range(scores.k))


# --- the cost rule --------------------------------------------------------------------------------------


def expected_costs(probabilities: npt.ArrayLike, cost: npt.ArrayLike) -> Floats:
    """n x k: the expected cost of each call for each row, sum over true classes t of p(t) x cost[t, call]."""
    return np.asarray(np.asarray(probabilities, dtype=np.float64) @ np.asarray(cost, dtype=np.float64),
                      dtype=np.float64)


def least_cost_calls(expected: Floats, limits: Sequence[int | None] | None = None) -> Ints:
    """Each row's call with the least expected cost (ties: the first class); with ``limits`` (per class, the
    most rows that may be called it, None for no limit), the calls with the least total expected cost among
    those that keep within every limit.

    Within limits it is a transportation problem, solved exactly:

    1. A row whose cheapest class without a limit costs no more than every limited class keeps that class
       (moving it would cost more and use up a place), so only the other rows are left to place.
    2. With one limited class and some class without a limit, the rows that gain most from the limited class
       (the largest drop in expected cost, ties: the earlier row) get its places, up to the limit.
    3. Otherwise the remaining rows are placed by a linear programme (scipy's HiGHS dual simplex). Its
       constraints are totally unimodular, so the vertex it returns places each row whole; storybook checks it.

    Raises ValueError when the limits cannot hold every row (all classes limited and the places too few)."""
    n, k = expected.shape
    free: Ints = np.argmin(expected, axis=1).astype(np.intp)
    if limits is None or all(limit is None for limit in limits):
        return free
    if len(limits) != k:
        raise ValueError(f"limits name {len(limits)} classes, the costs {k}")
    limited = np.array([limit is not None for limit in limits])
    caps = np.array([n if limit is None else limit for limit in limits], dtype=np.int64)
    if (caps < 0).any():
        raise ValueError("a class limit cannot be negative")
    if limited.all() and int(caps.sum()) < n:
        raise ValueError(f"the limits allow {int(caps.sum()):,} calls in all, fewer than the {n:,} rows")
    counts = np.bincount(free, minlength=k)
    if (counts[limited] <= caps[limited]).all():
        return free  # the cheapest calls already keep within every limit
    if limited.all():
        if n > PLACED_AT_MOST:
            raise TooManyToPlace(f"with a limit on every class, storybook places at most {PLACED_AT_MOST:,} rows "
                                 f"exactly, and there are {n:,}")
        return _place(expected, caps.astype(np.float64))
    calls: Ints = free.copy()
    open_classes, limited_classes = np.flatnonzero(~limited), np.flatnonzero(limited)
    best_open = open_classes[np.argmin(expected[:, open_classes], axis=1)]
    calls = best_open.astype(np.intp)
    open_cost = expected[np.arange(n), best_open]
    rows = np.flatnonzero((expected[:, limited_classes] < open_cost[:, None]).any(axis=1))
    if limited_classes.size == 1:
        c = int(limited_classes[0])
        gain = open_cost[rows] - expected[rows, c]
        calls[rows[np.argsort(-gain, kind="stable")][: int(caps[c])]] = c
        return calls
    if rows.size > PLACED_AT_MOST:
        raise TooManyToPlace(f"with limits on {limited_classes.size} classes, {rows.size:,} rows would rather take "
                             f"a limited class; storybook places at most {PLACED_AT_MOST:,} such rows exactly")
    # Each remaining row goes to its cheapest class without a limit (option 0) or to one of the limited ones.
    options = np.column_stack((open_cost[rows], expected[np.ix_(rows, limited_classes)]))
    placed = _place(options, np.concatenate(([np.inf], caps[limited_classes].astype(np.float64))))
    calls[rows] = np.where(placed == 0, best_open[rows], limited_classes[np.maximum(placed - 1, 0)])
    return calls


def _place(cost: Floats, caps: Floats) -> Ints:
    """The least-cost choice of one option per row of ``cost`` (rows x options), at most ``caps[o]`` rows on
    option o (inf: no limit), by scipy's HiGHS dual simplex (a vertex, so whole; checked)."""
    from scipy.optimize import linprog  # scipy is imported only when two or more limits bind
    from scipy.sparse import csr_array, hstack

    m, o = cost.shape
    identity = csr_array((np.ones(m), (np.arange(m), np.arange(m))), shape=(m, m))
    one_per_row = hstack([identity] * o)  # variable o * m + i: row i takes option o; each row placed once
    capped = np.flatnonzero(np.isfinite(caps))
    within = csr_array((np.ones(capped.size * m), (np.repeat(np.arange(capped.size), m),
                                                    (capped[:, None] * m + np.arange(m)).ravel())),
                       shape=(capped.size, m * o))
    result = linprog(cost.T.ravel(), A_ub=within, b_ub=caps[capped], A_eq=one_per_row, b_eq=np.ones(m),
                     bounds=(0, 1), method="highs-ds")
    if result.status != 0:
        raise ValueError(f"the limits cannot be met: {result.message}")
    x = np.asarray(result.x, dtype=np.float64).reshape(o, m).T
    if not np.allclose(x, np.round(x), atol=1e-6):  # pragma: no cover - a vertex of this problem is whole
        raise ValueError("the placement within the limits is not whole")
    placed: Ints = np.argmax(x, axis=1).astype(np.intp)
    return placed


@dataclass(frozen=True, eq=False)
class CostRule:
    """The rule that minimises expected cost, against "take the most likely class", on an evaluation set.

    ``calls`` / ``most_likely``: each row's call under the rule and under the most likely class. Costs are
    what the calls cost given the rows' true classes, per ``per`` rows (``cost`` / ``most_likely_cost``),
    and ``saving`` = most likely's cost minus the rule's, paired (both on the same resampled rows) so the
    interval may reach below 0 when the rule may not help. The rule is chosen from the probabilities alone,
    never from the true classes, so its cost is not flattered by choosing on the data it is measured on.
    ``expected``: the rule's cost as the model's own probabilities expect it, per ``per`` rows.
    ``calls_per_class`` / ``most_likely_per_class``: how many rows each rule calls each class.
    ``limits``: the most rows each class may be called (None: no limit), from ``capacity``."""

    calls: Ints
    most_likely: Ints
    cost: Estimate
    most_likely_cost: Estimate
    saving: Estimate
    expected: float
    calls_per_class: tuple[int, ...]
    most_likely_per_class: tuple[int, ...]
    limits: tuple[int | None, ...]
    per: int
    rounds: int
    seed: int


def _check_cost(cost: npt.ArrayLike, k: int) -> Floats:
    matrix = np.asarray(cost, dtype=np.float64)
    if matrix.shape != (k, k):
        raise ValueError(f"the cost matrix must be {k} x {k} (true class x call), not {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("the cost matrix must hold finite numbers")
    return matrix


def _limits(capacity: Sequence[float | None] | None, k: int, n: int) -> tuple[int | None, ...]:
    if capacity is None:
        return (None,) * k
    if len(capacity) != k:
        raise ValueError(f"capacity names {len(capacity)} classes, the story {k}")
    limits: list[int | None] = []
    for share in capacity:
        if share is not None and not (math.isfinite(share) and 0 <= share <= 1):
            raise ValueError(f"a class capacity is a share of rows from 0 to 1, not {share!r}")
        limits.append(None if share is None else math.floor(share * n + 1e-9))
    return tuple(limits)


def cost_rule(scores: MulticlassScores, cost: npt.ArrayLike, *, capacity: Sequence[float | None] | None = None,
              per: int = 1000, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
              confidence: float = 0.95) -> CostRule:
    """Call each row the class with the least expected cost, sum over t of p(t) x cost[t, call] (``cost``:
    k x k, true class x call, in the stakeholder's unit), within ``capacity`` (per class, the largest share of
    rows that may be called it; None: no limit) when given; see :func:`least_cost_calls`. Compared with "take
    the most likely class" on the rows' true classes, with a paired bootstrap of the saving (module docstring).
    """
    if scores.probabilities is None:
        raise ValueError("the cost rule needs each class's probability; the run logged only the calls")
    if scores.n == 0:
        raise ValueError("no rows: the cost rule needs an evaluation set")
    if per < 1:
        raise ValueError(f"per must be a positive number of rows, not {per!r}")
    k, n = scores.k, scores.n
    matrix = _check_cost(cost, k)
    limits = _limits(capacity, k, n)
    expected = expected_costs(scores.probabilities, matrix)
    calls = least_cost_calls(expected, limits)
    likely = scores.predicted
    # Each row is one cell (true class, most likely call, rule's call); the costs depend only on the cells.
    used, cells = _distinct((scores.truth * k + likely) * k + calls, k ** 3)
    t, m, r = np.unravel_index(used, (k, k, k))
    rule_cost, likely_cost = matrix[t, r], matrix[t, m]
    whole_rule = float(cells @ rule_cost) / n * per
    whole_likely = float(cells @ likely_cost) / n * per
    if rounds >= 1:
        sums = _cell_sums(cells, np.column_stack((rule_cost, likely_cost)), rounds, seed) / n * per
        rule_rounds, likely_rounds = sums[:, 0], sums[:, 1]
        rule_e = _percentile(whole_rule, rule_rounds, n, confidence)
        likely_e = _percentile(whole_likely, likely_rounds, n, confidence)
        saving = _percentile(whole_likely - whole_rule, likely_rounds - rule_rounds, n, confidence)
    else:
        rule_e, likely_e = Estimate(whole_rule, None, None, n), Estimate(whole_likely, None, None, n)
        saving = Estimate(whole_likely - whole_rule, None, None, n)
    return CostRule(
        calls=calls, most_likely=likely, cost=rule_e, most_likely_cost=likely_e, saving=saving,
        expected=float(expected[np.arange(n), calls].mean()) * per,
        calls_per_class=tuple(int(c) for c in np.bincount(calls, minlength=k)),
        most_likely_per_class=tuple(int(c) for c in np.bincount(likely, minlength=k)),
        limits=limits, per=per, rounds=rounds, seed=seed)


def calls_cost(scores: MulticlassScores, cost: npt.ArrayLike, *, per: int = 1000, rounds: int = BOOTSTRAP_ROUNDS,
               seed: int = BOOTSTRAP_SEED, confidence: float = 0.95) -> Estimate:
    """What the logged calls cost on the rows' true classes, per ``per`` rows, with a seeded percentile bootstrap
    interval (counts per confusion cell, as in the module docstring). For a set logged without probabilities,
    where no other rule can be chosen."""
    if scores.n == 0:
        raise ValueError("no rows: the cost of the calls needs an evaluation set")
    matrix = _check_cost(cost, scores.k)
    cells = confusion_matrix(scores).ravel().astype(np.int64)
    prices = matrix.ravel()
    whole = float(cells @ prices) / scores.n * per
    if rounds < 1:
        return Estimate(whole, None, None, scores.n)
    used = np.flatnonzero(cells)
    sums = _cell_sums(cells[used], prices[used, None], rounds, seed)[:, 0]
    return _percentile(whole, sums / scores.n * per, scores.n, confidence)
