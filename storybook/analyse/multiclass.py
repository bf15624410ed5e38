"""How a multiclass model performs, in figures and plain sentences: per class, how many it finds and how often
it is right when it names the class, the confusion matrix told as natural frequencies, per-slice tables and
calibration; with the story's cost of error (:mod:`storybook.analyse.multiclass_cost`) when it states one.

Pure: every figure comes from :mod:`storybook.metrics.multiclass` on the story's checked scored set
(:class:`storybook.resolve.scored_multiclass.MulticlassSet`); sentences are worded by uncertainty with
:mod:`storybook.analyse.plain`. Natural frequencies are told "of every 1,000" (``PER``) and add up to it
exactly (largest remainders, ties to the class listed first); a class with fewer rows in the evaluation than
the project's ``min_count`` is not told that way (too few to say).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import Grouping, group_rows
from storybook.analyse.multiclass_cost import MulticlassCost, analyse_multiclass_cost
from storybook.analyse.plain import (
    DEFAULT_RULES,
    Vocabulary,
    WordingRules,
    certainty,
    format_count,
    merged_groups_sentence,
    metric_sentence,
    share_phrase,
    slice_heading,
)
from storybook.errors import SourceError
from storybook.metrics import multiclass
from storybook.metrics.binary import Estimate, proportion
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.sources.loader import StorySource
from storybook.sources.schema import ClassSpec, SliceSpec

__all__ = [
    "AVERAGED_OVER_CLASSES",
    "PER",
    "Band",
    "ClassLine",
    "ClassSlice",
    "GroupLine",
    "MulticlassPerformance",
    "MulticlassStory",
    "analyse_multiclass",
    "analyse_performance",
    "averaged_over_too_few",
    "groupings",
    "natural_frequencies",
]

PER = 1000
BANDS = 10


@dataclass(frozen=True)
class ClassLine:
    """One true class: how many the model finds, how often it is right when it names the class, and what it
    says of every ``PER`` of them (``frequencies``: per called class, in the story's class order; None when the
    class has too few rows to say)."""

    value: str
    means: str
    rows: int  # rows truly of this class
    called: int  # rows the model calls this class
    found: Estimate
    right: Estimate
    found_sentence: str
    right_sentence: str
    frequencies: tuple[int, ...] | None
    frequency_sentence: str


@dataclass(frozen=True)
class GroupLine:
    """One group of a slice: its size, the share of calls that are right, and each class's share found."""

    value: str
    n: int
    small: bool
    accuracy: Estimate
    accuracy_words: str
    found: tuple[Estimate, ...]
    found_words: tuple[str, ...]


@dataclass(frozen=True)
class ClassSlice:
    spec: SliceSpec
    rows: tuple[GroupLine, ...]
    merged: int  # groups counted together in the last row (past the largest shown one by one)

    @property
    def heading(self) -> str:
        return slice_heading(self.spec.label)

    @property
    def merged_sentence(self) -> str:
        """What the last row counts ("" when every group has its own row)."""
        if not self.merged:
            return ""
        return merged_groups_sentence(self.spec.label, len(self.rows) - 1, self.merged)


@dataclass(frozen=True)
class Band:
    """A band of how sure the model is of its call, against how often it was right."""

    low: float
    high: float
    n: int
    stated: float
    right: Estimate
    sentence: str


@dataclass(frozen=True)
class MulticlassPerformance:
    classes: tuple[ClassSpec, ...]
    unit: str  # what one row is, plural ("students")
    n: int
    per: int
    accuracy: Estimate
    balanced_accuracy: Estimate
    macro_f1: Estimate
    log_loss: Estimate | None  # None when the run logged no probabilities
    confusion: tuple[tuple[int, ...], ...]  # true class x call, counts in the evaluation
    headline: tuple[str, ...]
    lines: tuple[ClassLine, ...]
    slices: tuple[ClassSlice, ...]
    bands: tuple[Band, ...]  # top-label calibration, bands holding rows only
    calibration: tuple[str, ...]  # sentences: overall and per class; () without probabilities


@dataclass(frozen=True)
class MulticlassStory:
    performance: MulticlassPerformance
    cost: MulticlassCost | None


def natural_frequencies(counts: npt.ArrayLike, per: int = PER) -> tuple[int, ...]:
    """``counts`` scaled to add up to exactly ``per``: each share's whole part, then the leftover units to the
    largest remainders (ties: the earlier entry)."""
    values = np.asarray(counts, dtype=np.float64)
    total = values.sum()
    if total <= 0:
        raise ValueError("natural frequencies need at least one row")
    exact = values / total * per
    whole = np.floor(exact).astype(np.int64)
    left = per - int(whole.sum())
    order = np.lexsort((np.arange(values.size), -(exact - whole)))
    whole[order[:left]] += 1
    return tuple(int(v) for v in whole)


# The verb that stands for a class's "means" when the sentence does not repeat it: "students who need support ...
# really do", "payments that are fine ... really are".
_STANDS_FOR = {"are": "are", "is": "are", "were": "were", "was": "were", "can": "can", "could": "could",
               "will": "will", "would": "would", "should": "should", "must": "must", "have": "do", "has": "do"}


def _pro_verb(means: str) -> str:
    first = means.split(" ", 1)[0].lower() if means else ""
    return _STANDS_FOR.get(first, "do")


def _listed(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _class_line(i: int, classes: tuple[ClassSpec, ...], matrix: npt.NDArray[np.intp], found: Estimate,
                right: Estimate, unit: str, rules: WordingRules) -> ClassLine:
    spec = classes[i]
    rows, called = int(matrix[i].sum()), int(matrix[:, i].sum())
    if certainty(found, rules) == "too few":
        found_sentence = (f"Only {format_count(rows)} {unit} in the evaluation {spec.means}: too few to say how "
                          "many of them the model finds.")
    else:
        found_sentence = (f"Of the {format_count(rows)} {unit} who {spec.means}, the model finds "
                          f"{share_phrase(found, rules)}.")
    if certainty(right, rules) == "too few":
        right_sentence = (f"The model says {format_count(called)} {unit} {spec.means}: too few to say how often it "
                          "is right when it says so.")
    else:
        right_sentence = (f"Of the {format_count(called)} {unit} the model says {spec.means}, "
                          f"{share_phrase(right, rules)} really {_pro_verb(spec.means)}.")
    frequencies = None
    if rows < max(rules.min_count, 1):
        frequency_sentence = (f"With {format_count(rows)} {unit} in the evaluation who {spec.means}, there are too "
                              f"few to tell what happens to every {format_count(PER)} of them.")
    else:
        frequencies = natural_frequencies(matrix[i], PER)
        others = [f"{format_count(frequencies[c]) if frequencies[c] else 'none'} {classes[c].means}"
                  for c in range(len(classes)) if c != i]
        frequency_sentence = (f"Of every {format_count(PER)} {unit} who {spec.means}, the model rightly says "
                              f"{format_count(frequencies[i])} {_pro_verb(spec.means)}; it says {_listed(others)} "
                              f"(from the {format_count(rows)} such {unit} in the evaluation).")
    return ClassLine(value=spec.value, means=spec.means, rows=rows, called=called, found=found, right=right,
                     found_sentence=found_sentence, right_sentence=right_sentence, frequencies=frequencies,
                     frequency_sentence=frequency_sentence)


def groupings(story: StorySource, task_set: MulticlassSet) -> list[tuple[SliceSpec, Grouping]]:
    """Each slice of the story with its rows' groups; a located error for a column the set lacks."""
    frame = task_set.frame
    found = []
    for index, spec in enumerate(story.config.slices):
        if spec.column not in frame.columns:
            raise SourceError(f"the evaluation set has no column {spec.column!r} to slice by",
                              location=story.yaml.location(("slices", index, "column")),
                              hint=f"columns: {', '.join(map(str, frame.columns[:20]))}")
        found.append((spec, group_rows(pd.Series(frame[spec.column]))))
    return found


def _slices(story: StorySource, task_set: MulticlassSet, sliced: list[tuple[SliceSpec, Grouping]],
            rules: WordingRules) -> tuple[ClassSlice, ...]:
    config = story.config
    scores = task_set.scores
    told = []
    for spec, grouping in sliced:
        groups, k = len(grouping.names), scores.k
        right = scores.truth == scores.predicted
        # One pass over the rows: per group, its size and right calls; per (group, true class), rows and found.
        sizes = np.bincount(grouping.codes, minlength=groups)
        right_calls = np.bincount(grouping.codes, weights=right, minlength=groups)
        cell = grouping.codes * k + scores.truth
        truly = np.bincount(cell, minlength=groups * k).reshape(groups, k)
        found_rows = np.bincount(cell, weights=right, minlength=groups * k).reshape(groups, k)
        rows = []
        for code, name in enumerate(grouping.names):
            n = int(sizes[code])
            accuracy = proportion(round(right_calls[code]), n)
            found = tuple(proportion(round(found_rows[code, c]), int(truly[code, c])) for c in range(k))
            rows.append(GroupLine(value=name, n=n, small=n < config.min_slice_size, accuracy=accuracy,
                                  accuracy_words=share_phrase(accuracy, rules),
                                  found=found, found_words=tuple(share_phrase(e, rules) for e in found)))
        told.append(ClassSlice(spec=spec, rows=tuple(rows), merged=grouping.merged))
    return tuple(told)


def _calibration(scores: multiclass.MulticlassScores, classes: tuple[ClassSpec, ...], unit: str,
                 rules: WordingRules) -> tuple[tuple[Band, ...], tuple[str, ...]]:
    top = multiclass.top_label_calibration(scores, BANDS)
    per_class = multiclass.class_calibration(scores, BANDS)
    if top is None or per_class is None:
        return (), ()
    bands = []
    for band in top:
        if band.n == 0 or band.stated is None:
            continue
        sure = f"{round(band.low * 100)} to {round(band.high * 100)}% sure"
        if certainty(band.observed, rules) == "too few":
            said = f"When the model is {sure} of its call ({format_count(band.n)} {unit}), there are too few to say."
        else:
            said = (f"When the model is {sure} of its call ({format_count(band.n)} {unit}), it is right "
                    f"{share_phrase(band.observed, rules)} times.")
        bands.append(Band(band.low, band.high, band.n, band.stated, band.observed, said))

    def gap(rows: tuple[multiclass.CalibrationBand, ...]) -> float:
        """The mean gap between stated chance and what happened, weighted by rows (expected calibration error)."""
        return sum(b.n * abs((b.observed.value or 0.0) - (b.stated or 0.0)) for b in rows if b.n) / scores.n

    held = sum(1 for b in top if b.n)  # bands of 10 points; a call is never under 1/k sure, so some stay empty
    lines = [f"How sure the model says it is of its call differs from how often it is right by "
             f"{gap(top) * 100:.3g} percentage points on average (over the {held} bands of certainty that hold "
             f"{unit}, weighted by {unit})."]
    for spec, rows in zip(classes, per_class, strict=True):
        lines.append(f"For {unit} who {spec.means}: the chance the model gives of that class differs from what "
                     f"happened by {gap(rows) * 100:.1f} percentage points on average.")
    return tuple(bands), tuple(lines)



AVERAGED_OVER_CLASSES = ("balanced_accuracy", "macro_f1")


def averaged_over_too_few(task_set: MulticlassSet, unit: str, rules: WordingRules) -> str | None:
    """Why a figure that weighs each class the same (:data:`AVERAGED_OVER_CLASSES`) cannot be told with
    confidence, when a class is too small to tell (its own line says so): however narrow a resampled range looks
    (5 of 5 found resamples to 100%), the figure is only as sure as its smallest class. None when none is."""
    rows = multiclass.confusion_matrix(task_set.scores).sum(axis=1)
    smallest = int(rows.argmin())
    if not 0 < int(rows[smallest]) < max(rules.min_count, 1):
        return None
    return (f"it weighs each class the same, and only {format_count(int(rows[smallest]))} {unit} in the evaluation "
            f"{task_set.classes[smallest].means}, too few to say how many of them the model finds")

def analyse_performance(story: StorySource, task_set: MulticlassSet, words: Vocabulary,
                        rules: WordingRules = DEFAULT_RULES, *,
                        sliced: list[tuple[SliceSpec, Grouping]] | None = None) -> MulticlassPerformance:
    """The performance section; ``sliced``: the story's slices with their groups, when the caller has them."""
    scores, classes, unit = task_set.scores, task_set.classes, words.unit
    sliced = groupings(story, task_set) if sliced is None else sliced
    matrix = multiclass.confusion_matrix(scores)
    found, right = multiclass.class_recall(scores), multiclass.class_precision(scores)
    accuracy = multiclass.accuracy(scores)
    balanced = multiclass.balanced_accuracy(scores)
    macro = multiclass.macro_f1(scores)
    loss = multiclass.log_loss(scores) if scores.probabilities is not None else None
    too_few = averaged_over_too_few(task_set, unit, rules)
    if too_few is not None:  # no range either: a resampled one would look narrow
        balanced = Estimate(balanced.value, None, None, balanced.n)
    headline = []
    for kind, estimate in (("multiclass_accuracy", accuracy), ("balanced_accuracy", balanced),
                           ("macro_f1", macro), ("log_loss", loss)):
        if estimate is None:
            continue
        if estimate.value is None:
            headline.append(f"The {kind.replace('_', ' ')} cannot be told: a class has no {unit} in the "
                            "evaluation.")
            continue
        if too_few is not None and kind in AVERAGED_OVER_CLASSES:
            headline.append(f"The {kind.replace('_', ' ')} cannot be told with confidence: {too_few}.")
            continue
        headline.append(metric_sentence(kind, estimate.value, estimate if estimate.low is not None else None,
                                        words, rules))
    lines = tuple(_class_line(i, classes, matrix, found[i], right[i], unit, rules) for i in range(scores.k))
    bands, calibration = _calibration(scores, classes, unit, rules)
    return MulticlassPerformance(
        classes=classes, unit=unit, n=scores.n, per=PER, accuracy=accuracy, balanced_accuracy=balanced, macro_f1=macro,
        log_loss=loss, confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        headline=tuple(headline), lines=lines,
        slices=_slices(story, task_set, sliced, rules), bands=bands, calibration=calibration)


def analyse_multiclass(story: StorySource, task_set: MulticlassSet, words: Vocabulary,
                       rules: WordingRules = DEFAULT_RULES) -> MulticlassStory:
    """A multiclass story's performance and, when it states costs, its cost of error."""
    sliced = groupings(story, task_set)
    performance = analyse_performance(story, task_set, words, rules, sliced=sliced)
    cost = None
    spec = story.config.cost_of_error
    if spec is not None:
        limits = spec.class_capacity or {}
        places = sum(math.floor(limits.get(c.value, 0) / spec.population * task_set.n + 1e-9)
                     for c in task_set.classes)
        if all(c.value in limits for c in task_set.classes) and places < task_set.n:
            raise SourceError(f"the class capacities cannot be kept on the {task_set.n:,} {words.unit} of the "
                              f"evaluation set: scaled to it they allow {places:,} calls in all",
                              location=story.yaml.location(("cost_of_error", "class_capacity")),
                              hint="let at least one class take any number, or raise the capacities")
        try:
            cost = analyse_multiclass_cost(spec, task_set.scores, task_set.classes, words.unit, rules,
                                           slices=sliced, min_slice_size=story.config.min_slice_size)
        except multiclass.TooManyToPlace as exc:
            raise SourceError(f"the calls within the class capacities cannot be worked out exactly on this "
                              f"evaluation set: {exc}",
                              location=story.yaml.location(("cost_of_error", "class_capacity")),
                              hint="state a capacity for one class only (that case has no such bound), or tell the "
                                   "story on a random sample of the evaluation set") from None
    return MulticlassStory(performance=performance, cost=cost)
