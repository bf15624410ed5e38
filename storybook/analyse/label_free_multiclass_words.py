"""The sentences of a multiclass model's performance before the labels are in
(:mod:`storybook.analyse.label_free_multiclass`): each window's share of right calls and, for a few classes, the
share of each class's cases the model calls so, told as estimates; what the labels showed once in; why storybook
does not estimate; how to read the ranges. Every sentence says its number with what it counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from storybook.analyse.label_free import MAX_ECE, MAX_SHIFT, MIN_CASES
from storybook.analyse.label_free_multiclass import MulticlassCalibration, MulticlassLabelFreeReport, MulticlassWindow
from storybook.analyse.plain import DEFAULT_RULES, TOO_FEW, WordingRules, certainty, format_count, point_share
from storybook.metrics.binary import Estimate

__all__ = ["MAX_TOLD_CLASSES", "multiclass_method", "multiclass_refusal", "multiclass_window_sentence"]

MAX_TOLD_CLASSES = 5  # with more classes, a window tells its share of right calls only
LEAD = "storybook does not estimate how the model does before the labels are in: "


def _points(value: float) -> str:
    return f"{value * 100:.3g}"


def multiclass_refusal(calibration: MulticlassCalibration, unit: str) -> str | None:
    """Why storybook does not estimate from the chances, in one sentence with its figure; None when it does."""
    if calibration.enough:
        return None
    if calibration.ece is None or calibration.cases < MIN_CASES:
        return (f"{LEAD}the evaluation set has {format_count(calibration.cases)} {unit} with the model's chances, "
                f"and judging whether the chances can be taken at face value needs at least "
                f"{format_count(MIN_CASES)}.")
    stricter = "" if calibration.allowed >= MAX_ECE else f" (the story's own limit; storybook's is {_points(MAX_ECE)})"
    return (f"{LEAD}on the evaluation set, the chance the model gives its call differs from how often such calls "
            f"are right by {_points(calibration.ece)} percentage points on average, and an estimate from the "
            f"chances alone needs at most {_points(calibration.allowed)}{stricter}.")


def multiclass_method(report: MulticlassLabelFreeReport, unit: str) -> str:
    """What the estimates rest on and how to read their ranges."""
    ece = report.calibration.ece
    assert ece is not None
    return (f"These figures are estimated from the model's chances alone, before the outcomes are in: each of the "
            f"{unit} given a 70% chance of a class counts as 0.7 of a case of that class. That is fair here because "
            f"on the {format_count(report.calibration.cases)} {unit} of the evaluation set, the chance the model "
            f"gives its call differs from how often such calls are right by {_points(ece)} percentage points on "
            f"average (storybook estimates only up to {_points(report.calibration.allowed)}). If the chances stay "
            "that honest, the outcomes will show a figure inside each stated range about 95 times in 100 (the "
            "ranges are drawn from groups of alike cases, which makes them a little wide rather than narrow); if "
            "the cases change in a way the chances do not reflect, the estimate can be wrong, which only the "
            "outcomes can show.")


def _range(value: float, interval: tuple[float, float], among: float, rules: WordingRules) -> str:
    """An estimate always with its range ("between 71 and 80 in 100"), so that what the labels show later is
    read against the range, not a single figure; "about 71 in 100" only when both ends round alike."""
    estimate = Estimate(value, interval[0], interval[1], round(among))
    if certainty(estimate, rules) == "too few":
        return TOO_FEW
    low, high = round(interval[0] * 100), round(interval[1] * 100)
    return f"about {round(value * 100)} in 100" if low == high else f"between {low} and {high} in 100"


def _class_sentence(window: MulticlassWindow, c: int, means: str, unit: str, rules: WordingRules) -> str | None:
    value, interval = window.found[c], window.found_intervals[c]
    if value is None or interval is None:
        return None
    among = float(window.expected[c].sum())
    told = _range(value, interval, among, rules)
    if told == TOO_FEW:
        return f"Among the {unit} who {means}, too few are expected in this window to say how many the model finds."
    if window.labels_in:
        shown = window.realised_found(c)
        assert window.realised is not None
        realised = (f"the outcomes show no {unit} who {means} in this window" if shown is None else
                    f"the outcomes show {point_share(shown)} ({format_count(int(window.realised[c, c]))} of "
                    f"{format_count(int(window.realised[c].sum()))})")
        return f"Of the {unit} who {means}, it was estimated to find {told}; {realised}."
    return f"Of the {unit} who {means}, it probably finds {told}."


def multiclass_window_sentence(window: MulticlassWindow, report: MulticlassLabelFreeReport, unit: str,
                               means: Sequence[str], rules: WordingRules = DEFAULT_RULES) -> str:
    """One window: "In window 2026-11-02, the model probably calls between 71 and 80 in 100 students right,
    estimated from the chances of 300 students; their outcomes are not in yet." and, once the outcomes are in,
    the estimate beside what they show; then the share found of each class (at most :data:`MAX_TOLD_CLASSES`)."""
    lead = f"In window {window.window}, "
    realised = window.realised_right
    shown = ("" if realised is None or window.realised is None else
             f"{point_share(realised)} ({format_count(int(window.realised.trace()))} of "
             f"{format_count(int(window.realised.sum()))})")
    if not report.estimated:
        if window.realised is None:
            return f"{lead}the outcomes of its {format_count(window.cases)} {unit} are not in yet."
        return f"{lead}the outcomes show that the model called {shown} {unit} right."
    if not window.comparable:
        said = (f"{lead}storybook does not estimate how often the model is right: the chances of its "
                f"{format_count(window.cases)} {unit} are spread unlike the evaluation set's, where their calibration "
                f"was checked (population stability index {window.shift:.2f}; above {MAX_SHIFT:g} the two differ "
                "a lot)")
        if shown:
            return f"{said}; the outcomes, now in, show {shown} right."
        if window.labelled:
            return f"{said}; outcomes for only {format_count(window.labelled)} of them are in."
        return f"{said}; their outcomes are not in yet."
    if window.right is None or window.right_interval is None:
        return f"{lead}there are no {unit} to estimate from."
    told = _range(window.right, window.right_interval, window.cases, rules)
    if told == TOO_FEW:
        return (f"{lead}its {format_count(window.cases)} {unit} are too few to estimate how often the model is "
                "right.")
    if shown:
        sentence = (f"{lead}the estimate was that the model calls {told} {unit} right; the outcomes, now in, show "
                    f"{shown}.")
    elif window.labelled:
        sentence = (f"{lead}the model probably calls {told} {unit} right, estimated from the chances of "
                    f"{format_count(window.cases)} {unit}; outcomes for only {format_count(window.labelled)} of them "
                    "are in, too few of the window to compare.")
    else:
        sentence = (f"{lead}the model probably calls {told} {unit} right, estimated from the chances of "
                    f"{format_count(window.cases)} {unit}; their outcomes are not in yet.")
    if len(means) > MAX_TOLD_CLASSES:
        return sentence
    classes = [_class_sentence(window, c, phrase, unit, rules) for c, phrase in enumerate(means)]
    return " ".join([sentence, *(s for s in classes if s)])
