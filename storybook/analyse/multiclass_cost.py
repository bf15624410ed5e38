"""Cost of error for a multiclass story: the stakeholder's cost matrix, the calls that minimise expected cost
against "take the most likely class", the saving with its paired bootstrap interval, and capacity per class.

Pure: the figures come from :mod:`storybook.metrics.multiclass` on the checked scored set; this module only
turns them into sentences (wording by uncertainty from :mod:`storybook.analyse.plain`). Counts "per
population" are the evaluation's shares scaled to ``cost_of_error.population`` (1,000 unless the story says).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.analyse.classification import Grouping
from storybook.analyse.plain import (
    DEFAULT_RULES,
    WordingRules,
    amount_number,
    amount_phrase,
    compare,
    format_count,
    in_sentence,
)
from storybook.metrics.binary import Estimate
from storybook.metrics.multiclass import CostRule, MulticlassScores, calls_cost, cost_rule
from storybook.sources.schema import ClassSpec, CostOfError, SliceSpec

__all__ = ["CallCount", "CostGroup", "CostSlice", "MulticlassCost", "analyse_multiclass_cost", "cost_matrix",
           "said_calls"]


@dataclass(frozen=True)
class CallCount:
    """One class: how many of every ``per`` rows each way of choosing calls it, and its limit (None: none)."""

    value: str
    means: str
    by_rule: int | None  # None when the run logged no probabilities (no rule to choose)
    most_likely: int
    limit: int | None


@dataclass(frozen=True)
class CostGroup:
    """One group of a slice: what its calls cost per ``per`` of its rows, as made (the most likely class) and
    under the rule (None without probabilities), each with its bootstrap range."""

    value: str
    n: int
    small: bool  # fewer rows than the story's min_slice_size: shown, never compared
    as_made: Estimate
    by_rule: Estimate | None


@dataclass(frozen=True)
class CostSlice:
    spec: SliceSpec
    groups: tuple[CostGroup, ...]
    sentence: str


@dataclass(frozen=True, eq=False)
class MulticlassCost:
    """The cost of error of a multiclass story, in figures and sentences (templates only lay them out)."""

    spec: CostOfError
    per: int
    matrix: npt.NDArray[np.float64]  # true class x call, in spec.unit
    rule: CostRule | None  # None when the run logged only the calls (no probabilities)
    calls_cost: Estimate  # what the model's own calls (the most likely class) cost per `per`
    prices: tuple[str, ...]  # what each wrong (and any priced right) call costs
    comparison: tuple[str, ...]  # the rule against the most likely class, with the saving's range
    counts: tuple[CallCount, ...]
    capacity: tuple[str, ...]  # per limited class, the limit and what each way of choosing does
    summary: str
    slices: tuple[CostSlice, ...] = ()  # who carries the cost, per slice of the story


def cost_matrix(spec: CostOfError, classes: tuple[ClassSpec, ...]) -> npt.NDArray[np.float64]:
    """The k x k matrix (true class x call) from the story's ``matrix:``; a cell not stated costs 0 (the schema
    refuses unstated wrong calls unless ``unstated: zero``)."""
    values = [c.value for c in classes]
    matrix = np.zeros((len(values), len(values)), dtype=np.float64)
    for truth, row in (spec.matrix or {}).items():
        for called, price in row.items():
            matrix[values.index(truth), values.index(called)] = float(price)
    return matrix


def _per(count: int, n: int, per: int) -> int:
    return round(count / n * per)


def said_calls(classes: tuple[ClassSpec, ...], unit: str) -> list[str]:
    """How a call of each class is said: "students who need extra support"."""
    return [f"{unit} who {c.means}" for c in classes]


def _prices(spec: CostOfError, classes: tuple[ClassSpec, ...], matrix: npt.NDArray[np.float64],
            unit: str) -> tuple[str, ...]:
    """What each call costs, from the true class to the call: "When the model says students who need extra
    support need neither, each costs 8." (the page's lead-in gives the unit, so no "1 hours" is ever said)."""
    stated = spec.matrix or {}
    lines = []
    for t, truth in enumerate(classes):
        for c, call in enumerate(classes):
            price = float(matrix[t, c])
            was_stated = call.value in stated.get(truth.value, {})
            if t == c:
                if price:
                    lines.append(f"When the model rightly says {unit} {truth.means}, each costs "
                                 f"{amount_number(price)}.")
                continue
            told = amount_number(price) if price else "nothing"
            note = "" if was_stated else " (not stated; the story counts unstated mistakes as free)"
            lines.append(f"When the model says {unit} who {truth.means} {call.means}, each costs {told}{note}.")
    return tuple(lines)


def _range(estimate: Estimate, rounds: int) -> str:
    if estimate.low is None or estimate.high is None:
        return ""
    return (f" (the 95% range from {format_count(rounds)} resamples of the evaluation set runs from "
            f"{amount_number(estimate.low)} to {amount_number(estimate.high)})")


def _told(estimate: Estimate, unit: str, per: str, rounds: int, rules: WordingRules, more: str = "") -> str:
    """An amount with its range, said once: "between 189 and 538 hours per 1,000 students (a 95% range, from
    1,000 resamples ...)" or "about 300 hours per 1,000 students (the 95% range ... runs from 280 to 320)"."""
    phrase = f"{amount_phrase(estimate, unit, rules)}{more} {per}"
    if estimate.low is None or estimate.high is None or phrase.startswith("too few"):
        return phrase
    if phrase.startswith("between"):
        return f"{phrase} (a 95% range, from {format_count(rounds)} resamples of the evaluation set)"
    return phrase + _range(estimate, rounds)


def _comparison(rule: CostRule, spec: CostOfError, unit: str, rules: WordingRules,
                broken: list[str]) -> tuple[str, ...]:
    """The rule against the most likely class. ``broken``: the classes whose limit the most likely class breaks
    (then it is no choice as it stands, and the difference is what keeping within the limits costs)."""
    per = f"per {format_count(rule.per)} {unit}"
    within = " within the limits" if any(limit is not None for limit in rule.limits) else ""
    likely = amount_phrase(rule.most_likely_cost, spec.unit, rules)
    lines = [f"Taking the class the model finds most likely costs {likely} {per} on the evaluation set; choosing "
             f"each call by its expected cost (the chances of each class times what each mistake costs){within} "
             f"costs {amount_phrase(rule.cost, spec.unit, rules)}."]
    saving = rule.saving
    value, low, high = saving.value, saving.low, saving.high
    assert value is not None
    more = Estimate(-value, None if high is None else -high, None if low is None else -low, saving.n)
    if broken:
        lines.append(f"Taking the most likely class breaks the limit on {unit} who {_listed(broken)}, so it is no "
                     "choice as it stands.")
        if low is not None and low > 0:
            lines.append(f"Even within the limits, choosing by expected cost saves "
                         f"{_told(saving, spec.unit, per, rule.rounds, rules)}.")
        elif high is not None and high < 0:
            lines.append(f"Keeping within the limits costs {_told(more, spec.unit, per, rule.rounds, rules, ' more')}"
                         ", against the most likely class without them.")
        else:
            lines.append(f"Keeping within the limits makes no clear difference to the cost against the most likely "
                         f"class without them{_range(saving, rule.rounds)}.")
    elif value == 0 and (low is None or low == high == 0):
        lines.append("Here both ways make the same calls: choosing by expected cost saves nothing.")
    elif low is not None and low > 0:
        lines.append(f"Choosing by expected cost saves {_told(saving, spec.unit, per, rule.rounds, rules)}.")
    elif high is not None and high < 0:
        lines.append(f"Choosing by expected cost costs {_told(more, spec.unit, per, rule.rounds, rules, ' more')}: "
                     "keep taking the most likely class.")
    else:
        lines.append(f"Choosing by expected cost may save nothing: on the evaluation set it "
                     f"{'saves' if value >= 0 else 'costs'} {amount_number(abs(value))} {spec.unit} "
                     f"{'' if value >= 0 else 'more '}{per}, but the range allows either way"
                     f"{_range(saving, rule.rounds)}.")
    a, b = rule.most_likely_cost, rule.cost
    overlap = None not in (a.low, a.high, b.low, b.high) and (a.low or 0.0) <= (b.high or 0.0) \
        and (b.low or 0.0) <= (a.high or 0.0)
    clear = low is not None and high is not None and (low > 0 or high < 0)
    if overlap and clear:
        lines.append("The two costs' ranges overlap, yet the difference is clear: it is measured on the same "
                     f"{unit} both ways, so chance in which {unit} were evaluated moves both costs together.")
    lines.append("The calls are chosen from the model's chances alone, never from the true classes, so this figure "
                 "is not flattered by choosing on the data it is measured on.")
    return tuple(lines)


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _capacity(counts: tuple[CallCount, ...], per: int, unit: str) -> tuple[str, ...]:
    lines = []
    for count in counts:
        if count.limit is None:
            continue
        over = " (over the limit)" if count.most_likely > count.limit else ""
        rule = "" if count.by_rule is None else f"; choosing by expected cost within the limit says so of " \
            f"{format_count(count.by_rule)}"
        lines.append(f"The model may say at most {format_count(count.limit)} of every {format_count(per)} {unit} "
                     f"{count.means} (the story's limit). Taking the most likely class says so of "
                     f"{format_count(count.most_likely)}{over}{rule}.")
    return tuple(lines)


def _slice(spec: SliceSpec, grouping: Grouping, scores: MulticlassScores, rule: CostRule | None,
           matrix: npt.NDArray[np.float64], cost: CostOfError, unit: str, min_size: int,
           rules: WordingRules) -> CostSlice:
    def priced(rows: npt.NDArray[np.bool_], calls: npt.NDArray[np.intp]) -> Estimate:
        return calls_cost(MulticlassScores(scores.classes, scores.truth[rows], calls[rows]), matrix,
                          per=cost.population, rounds=cost.bootstrap_rounds, seed=cost.seed)

    groups = []
    for code, name in enumerate(grouping.names):
        rows = grouping.codes == code
        n = int(rows.sum())
        groups.append(CostGroup(value=name, n=n, small=n < min_size, as_made=priced(rows, scores.predicted),
                                by_rule=None if rule is None else priced(rows, rule.calls)))
    judged = sorted((g for g in groups if not g.small), key=lambda g: (-(g.as_made.value or 0.0), g.value))
    per = f"per {format_count(cost.population)} {unit}"
    if len(judged) < 2:
        sentence = (f"Fewer than 2 {in_sentence(spec.label)} groups have at least {format_count(min_size)} {unit}, so "
                    "storybook does not compare what their calls cost.")
    else:
        top, bottom = judged[0], judged[-1]
        apart = compare(top.as_made, bottom.as_made, rules)
        told = ("their ranges do not overlap, so the difference is clear" if apart in ("higher", "lower")
                else "their ranges overlap, so there is no clear difference")
        sentence = (f"By {in_sentence(spec.label)}, the calls as made cost most for {top.value} "
                    f"({amount_phrase(top.as_made, cost.unit, rules)} {per}) and least for {bottom.value} "
                    f"({amount_phrase(bottom.as_made, cost.unit, rules)}); {told}.")
    return CostSlice(spec=spec, groups=tuple(groups), sentence=sentence)


def analyse_multiclass_cost(spec: CostOfError, scores: MulticlassScores, classes: tuple[ClassSpec, ...],
                            unit: str, rules: WordingRules = DEFAULT_RULES, *,
                            slices: Sequence[tuple[SliceSpec, Grouping]] = (),
                            min_slice_size: int = 30) -> MulticlassCost:
    """The cost story of a checked multiclass scored set (``scores``) under the story's ``cost_of_error``;
    ``slices``: each slice of the story with its rows' groups (who carries the cost)."""
    per, n = spec.population, scores.n
    matrix = cost_matrix(spec, classes)
    limits = spec.class_capacity or {}
    capacity = [None if c.value not in limits else limits[c.value] / per for c in classes]
    rule = None
    if scores.probabilities is not None:
        rule = cost_rule(scores, matrix, capacity=capacity if limits else None, per=per,
                         rounds=spec.bootstrap_rounds, seed=spec.seed)
        own = rule.most_likely_cost
    else:
        own = calls_cost(scores, matrix, per=per, rounds=spec.bootstrap_rounds, seed=spec.seed)
    model_calls = np.bincount(scores.predicted, minlength=scores.k)
    counts = tuple(
        CallCount(value=c.value, means=c.means,
                  by_rule=None if rule is None else _per(rule.calls_per_class[i], n, per),
                  most_likely=_per(int(model_calls[i]), n, per), limit=limits.get(c.value))
        for i, c in enumerate(classes))
    if rule is not None:
        broken = [c.means for c in counts if c.limit is not None and c.most_likely > c.limit]
        comparison = _comparison(rule, spec, unit, rules, broken)
        summary = " ".join(comparison[1:3] if broken else comparison[1:2])
    else:
        comparison = (f"The run logged the model's calls but not its chances of each class, so storybook cannot "
                      f"choose calls by expected cost. The calls as made cost {amount_phrase(own, spec.unit, rules)} "
                      f"per {format_count(per)} {unit} on the evaluation set.",)
        summary = comparison[0]
    return MulticlassCost(spec=spec, per=per, matrix=matrix, rule=rule, calls_cost=own,
                          prices=_prices(spec, classes, matrix, unit), comparison=comparison, counts=counts,
                          capacity=_capacity(counts, per, unit), summary=summary,
                          slices=tuple(_slice(slice_spec, grouping, scores, rule, matrix, spec, unit,
                                              min_slice_size, rules) for slice_spec, grouping in slices))
