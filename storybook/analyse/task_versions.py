"""Figures of a multiclass or regression version for trust and decision grounds: each figure told in its own
unit, the difference between two versions with its 95% interval, the cost of each version's calls, and the
saving of the task's cost rule.

- A **share** (accuracy, balanced accuracy, interval coverage) is told as so many in 100; an **amount** of a
  regression story (average miss, median miss, RMSE) in the story's ``amount_unit``; R² as a number.
- The difference between two versions (:func:`task_gap`) is **paired** when both scored the same cases (the same
  ids under ``evaluation.id_column``, or without ids the same outcomes in the same order): a seeded percentile
  bootstrap resamples the cases once for both versions (regression: the difference in absolute error and the
  other figures on the same resampled rows; multiclass: in correct calls). Otherwise the two figures' own
  intervals are combined as independent (MOVER, :func:`storybook.analyse.decision_judge.difference`).
- The cost of a version's calls (:func:`row_costs`): regression, each forecast's miss priced by
  ``over_forecast`` / ``under_forecast`` per ``amount_unit``; multiclass, each call priced by the cost matrix.
- The task's cost rule (:func:`rule_saving`): regression, the adjustment of the forecast that minimises expected
  cost (:func:`storybook.metrics.regression.cost_adjustment`); multiclass, the least-expected-cost call
  against "take the most likely class" (:func:`storybook.metrics.multiclass.cost_rule`), each with its bootstrap.

Pure: no I/O; every resampling is seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.analyse.classification import Estimate
from storybook.analyse.decision_judge import CONFIDENCE, difference, matching_rows, points_of, row_cost_gap
from storybook.metrics import multiclass, regression
from storybook.metrics.kinds import kind_info
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionScores
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import CostOfError, EvaluationSpec

__all__ = [
    "GAP_ROUNDS",
    "GAP_SEED",
    "TaskSet",
    "TaskVersion",
    "as_subject",
    "cost_gap",
    "figure_of",
    "higher_is_better",
    "is_share",
    "row_costs",
    "rule_saving",
    "same_rows",
    "task_gap",
    "told_difference",
    "told_range_of",
    "told_value",
]

TaskSet = MulticlassSet | RegressionSet
GAP_ROUNDS = 2000
GAP_SEED = 17
_WORK = 4_000_000  # rows drawn per chunk of resamples (rounds x rows), to bound memory
# The task figures read as a share of cases ("81 in 100"); the other regression figures are amounts (or R²).
_SHARES = ("multiclass_accuracy", "balanced_accuracy", "interval_coverage")
Floats = npt.NDArray[np.float64]
Rows = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class TaskVersion:
    """One version's checked multiclass or regression set, its name for the reader, where it came from, and its
    case ids (``evaluation.id_column``; None when the story declares none)."""

    name: str
    set: TaskSet
    source: str
    ids: npt.NDArray[np.str_] | None = None

    @property
    def n(self) -> int:
        return self.set.n

    @property
    def outcomes(self) -> npt.NDArray[np.generic]:
        """What really happened on each row: the true class (multiclass) or the actual amount (regression)."""
        scores = self.set.scores
        return scores.truth if isinstance(scores, MulticlassScores) else scores.actual


# --- figures and their words -------------------------------------------------------------------------------

def is_share(kind: str) -> bool:
    """Whether a figure of ``kind`` is a share of cases (told as so many in 100)."""
    info = kind_info(kind)
    return kind in _SHARES or (info is not None and info.task == "binary" and info.interval != "none")


def higher_is_better(kind: str) -> bool | None:
    info = kind_info(kind)
    return info.higher_is_better if info is not None else None


def as_subject(phrase: str) -> str:
    """A figure's phrase before "is": one that holds a comma gets its closing one ("the share ..., averaged over
    the classes, is")."""
    return f"{phrase}," if "," in phrase else phrase


def figure_of(kind: str, version: TaskSet) -> Estimate:
    """The figure of ``kind`` on one version's set, with its interval, as the table of kinds computes it."""
    info = kind_info(kind)
    if info is None or info.from_set is None:
        raise ValueError(f"storybook cannot compute a figure of kind {kind!r} from a {type(version).__name__}")
    return info.measure_set(version.scores)


def _amount(value: float) -> str:
    """An amount with three significant digits, whole numbers from 100 on: 12.3, 0.482, 1,234."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def told_value(kind: str, value: float | None, unit: str | None) -> str:
    """A figure in its own unit: "81 in 100" (a share), "12.3 points" (an amount), "0.41" (R²)."""
    if value is None:
        return "not known"
    if is_share(kind):
        return f"{points_of(value):d} in 100"
    if kind == "r2":
        return f"{value:.2f}"
    amount, unit = _amount(value), unit or "units"
    if amount in ("1", "-1") and " " not in unit and unit.endswith("s"):   # "1 point", "1 bed"
        unit = unit[:-1]
    return f"{amount} {unit}"


def told_range_of(kind: str, estimate: Estimate, unit: str | None) -> str:
    """ "(allowing for chance, anywhere from 11.2 to 13.5 points)"."""
    if estimate.low is None or estimate.high is None:
        return "(with no range, so how sure this is cannot be said)"
    if is_share(kind):
        low_points, high_points = points_of(estimate.low), points_of(estimate.high)
        return f"(allowing for chance, anywhere from {low_points:d} to {high_points:d} in 100)"
    low = f"{estimate.low:.2f}" if kind == "r2" else _amount(estimate.low)
    high = told_value(kind, estimate.high, unit)
    return f"(allowing for chance, anywhere from {low} to {high})"


def told_difference(kind: str, gain: float, unit: str | None, *, noun: bool = False) -> str:
    """A difference where above 0 is better: "12 points better", "2.1 points worse", "no different" (with
    ``noun``, "no difference": after "a difference of", or the end of a range)."""
    nothing = "no difference" if noun else "no different"
    if is_share(kind):
        points = points_of(gain)
        if points == 0:
            return nothing
        return f"{abs(points)} point{'' if abs(points) == 1 else 's'} out of 100 {'better' if points > 0 else 'worse'}"
    text = told_value(kind, abs(gain), unit)
    if text.split(" ")[0] in ("0", "0.00"):
        return nothing
    return f"{text} {'better' if gain > 0 else 'worse'}"


# --- the difference between two versions -------------------------------------------------------------------

def same_rows(first: TaskVersion, second: TaskVersion) -> Rows | None:
    """Where each of ``first``'s cases is in ``second`` when both hold the same cases, else None (the rule of
    :func:`storybook.analyse.decision_judge.matching_rows`)."""
    return matching_rows(first.outcomes, first.ids, second.outcomes, second.ids)


def _statistic(kind: str, version: TaskSet) -> Callable[[Rows], Floats] | None:
    """The figure of ``kind`` on resampled rows (one resample per row of the index array), or None when the
    kind has no such form here."""
    scores = version.scores
    if isinstance(scores, RegressionScores):
        errors = scores.errors
        absolute, squared, actual = np.abs(errors), np.square(errors), scores.actual
        if kind == "mae":
            return lambda rows: np.asarray(absolute[rows].mean(axis=1), dtype=np.float64)
        if kind == "rmse":
            return lambda rows: np.asarray(np.sqrt(squared[rows].mean(axis=1)), dtype=np.float64)
        if kind == "median_absolute_error":
            return lambda rows: np.asarray(np.median(absolute[rows], axis=1), dtype=np.float64)
        if kind == "r2":
            def r2(rows: Rows) -> Floats:
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.asarray(1 - squared[rows].mean(axis=1) / actual[rows].var(axis=1), dtype=np.float64)
            return r2
        if kind == "interval_coverage" and scores.lower is not None and scores.upper is not None:
            inside = ((scores.lower <= actual) & (actual <= scores.upper)).astype(np.float64)
            return lambda rows: np.asarray(inside[rows].mean(axis=1), dtype=np.float64)
        return None
    correct = (scores.truth == scores.predicted).astype(np.float64)
    if kind == "multiclass_accuracy":
        return lambda rows: np.asarray(correct[rows].mean(axis=1), dtype=np.float64)
    if kind == "balanced_accuracy":
        members = [(scores.truth == c).astype(np.float64) for c in range(scores.k)]

        def balanced(rows: Rows) -> Floats:
            with np.errstate(invalid="ignore", divide="ignore"):
                recalls = [(correct * m)[rows].sum(axis=1) / m[rows].sum(axis=1) for m in members]
            return np.asarray(np.mean(recalls, axis=0), dtype=np.float64)
        return balanced
    return None


def task_gap(kind: str, first: TaskVersion, second: TaskVersion, *, rounds: int = GAP_ROUNDS,
             seed: int = GAP_SEED) -> tuple[Estimate, bool]:
    """``first - second`` for a figure of two versions, with its 95% interval, and whether it was paired (the
    module docstring). ``n`` is the number of cases (paired) or of both sets' cases (not paired)."""
    mine, theirs = figure_of(kind, first.set), figure_of(kind, second.set)
    if mine.value is None or theirs.value is None:
        return Estimate(None, None, None, first.n), False
    order = same_rows(first, second)
    a, b = _statistic(kind, first.set), _statistic(kind, second.set)
    if order is None or a is None or b is None:
        return difference(mine, theirs), False
    value = mine.value - theirs.value
    n = first.n
    if rounds < 1:
        return Estimate(value, None, None, n), True
    rng = np.random.default_rng(seed)
    gaps = np.empty(rounds, dtype=np.float64)
    step = max(1, _WORK // max(n, 1))
    for start in range(0, rounds, step):
        count = min(step, rounds - start)
        rows = rng.integers(0, n, size=(count, n))
        gaps[start:start + count] = a(rows) - b(order[rows])
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size == 0:
        return Estimate(value, None, None, n), True
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(gaps, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n), True


# --- costs -------------------------------------------------------------------------------------------------

def _matrix(cost: CostOfError, classes: tuple[str, ...]) -> Floats:
    """The k x k cost matrix (true class x call) as the story states it; unstated cells cost 0 (the schema
    refused them unless ``unstated: zero``), the diagonal 0 unless stated."""
    stated = cost.matrix or {}
    return np.array([[float(stated.get(truth, {}).get(call, 0.0)) for call in classes] for truth in classes],
                    dtype=np.float64)


def row_costs(cost: CostOfError, version: TaskSet) -> Floats:
    """What each of a version's calls costs, in the cost's unit: regression, the miss priced per amount unit
    too high (``over_forecast``) or too low (``under_forecast``); multiclass, the matrix cell of (true, call)."""
    scores = version.scores
    if isinstance(scores, RegressionScores):
        return regression.cost_per_forecast(scores.errors, 0.0, float(cost.over_forecast or 0.0),
                                            float(cost.under_forecast or 0.0))
    matrix = _matrix(cost, scores.classes)
    return np.asarray(matrix[scores.truth, scores.predicted], dtype=np.float64)


def cost_gap(cost: CostOfError, first: TaskVersion, second: TaskVersion) -> tuple[Estimate, bool]:
    """The cost of ``first``'s calls minus ``second``'s per ``cost.population`` cases, with its bootstrap interval
    (paired on the same cases), and whether it was paired (:func:`storybook.analyse.decision_judge.row_cost_gap`)."""
    return row_cost_gap(row_costs(cost, first.set), row_costs(cost, second.set), same_rows(first, second),
                        rounds=cost.bootstrap_rounds, seed=cost.seed, per=cost.population)


@dataclass(frozen=True)
class RuleSaving:
    """The saving of the task's cost rule over the calls as logged, per ``per`` cases, with its interval, and
    the rule in words ("adding 6.2 points to every forecast")."""

    saving: Estimate
    rule: str
    against: str
    per: int
    rounds: int


def rule_saving(cost: CostOfError, version: TaskSet, evaluation: EvaluationSpec) -> RuleSaving | str:
    """The task's cost rule on one version's set (module docstring), or why it cannot be told."""
    scores = version.scores
    per = cost.population
    if isinstance(scores, RegressionScores):
        # The same call as the page's cost of error (storybook.analyse.regression_cost), so the figures agree.
        found = regression.cost_adjustment(scores, float(cost.over_forecast or 0.0), float(cost.under_forecast or 0.0),
                                           rounds=max(cost.bootstrap_rounds, 1), seed=cost.seed)
        unit = evaluation.amount_unit or "units"
        shift = found.adjustment.value or 0.0
        rule = (f"adding {_amount(shift)} {unit} to every forecast" if shift > 0 else
                f"taking {_amount(-shift)} {unit} off every forecast" if shift < 0 else
                "leaving the forecasts as they are")
        saving = found.saving
        def scale(value: float | None) -> float | None:
            return None if value is None else value * per
        ranged = cost.bootstrap_rounds >= 1   # without resamples, no range to judge on
        scaled = Estimate(scale(saving.value), scale(saving.low) if ranged else None,
                          scale(saving.high) if ranged else None, saving.n)
        return RuleSaving(scaled, rule, "the forecasts as logged", per, cost.bootstrap_rounds)
    if scores.probabilities is None:
        return (f"The cost rule needs each class's chance for each of the {evaluation.unit}; the run logged only "
                "the calls.")
    capacity = cost.class_capacity or {}
    shares = [min(1.0, capacity[c] / per) if c in capacity else None for c in scores.classes]
    rule_found = multiclass.cost_rule(scores, _matrix(cost, scores.classes),
                                      capacity=shares if capacity else None, per=per,
                                      rounds=cost.bootstrap_rounds, seed=cost.seed)
    within = " within the stated capacity" if capacity else ""
    return RuleSaving(rule_found.saving, f"calling each of the {evaluation.unit} the class with the least expected "
                      f"cost{within}", "taking the most likely class", per, cost.bootstrap_rounds)
