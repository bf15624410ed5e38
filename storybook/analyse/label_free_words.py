"""The sentences of performance before the labels are in (:mod:`storybook.analyse.label_free`): each window's
estimate told as an estimate, what the labels showed once in, why storybook does not estimate, and how to read
the ranges. Every sentence says its number with what it counts.
"""

from __future__ import annotations

from storybook.analyse.label_free import (
    MAX_ECE,
    MAX_SHIFT,
    MIN_CASES,
    Calibration,
    EstimateGuard,
    LabelFreeReport,
    WindowEstimate,
)
from storybook.analyse.plain import (
    DEFAULT_RULES,
    Vocabulary,
    WordingRules,
    amount_number,
    denominator_words,
    format_count,
    point_share,
    share_phrase,
)
from storybook.metrics.binary import Estimate
from storybook.metrics.kinds import kind_info

__all__ = ["cost_sentence", "guard_sentence", "method_sentence", "refusal", "window_sentence"]


def _points(value: float) -> str:
    """A share in percentage points, to three significant figures as the calibration check tells it."""
    return f"{value * 100:.3g}"


def refusal(calibration: Calibration, min_cases: int = MIN_CASES, max_ece: float = MAX_ECE) -> str | None:
    """Why storybook does not estimate performance from the scores, in one sentence with its figure; None when
    the scores are calibrated enough."""
    if calibration.enough:
        return None
    lead = "storybook does not estimate how the model does before the labels are in: "
    if calibration.ece is None or calibration.cases < min_cases:
        return (f"{lead}the evaluation set has {format_count(calibration.cases)} scored cases, and judging whether "
                f"the scores can be taken at face value needs at least {format_count(min_cases)}.")
    stricter = ("" if calibration.allowed >= max_ece else
                f" (the story's own limit; storybook's is {_points(max_ece)})")
    return (f"{lead}on the evaluation set, the model's predicted chances differ from what happened by "
            f"{_points(calibration.ece)} percentage points on average, and an estimate from the scores alone needs "
            f"at most {_points(calibration.allowed)}{stricter}.")


def method_sentence(report: LabelFreeReport, words: Vocabulary) -> str:
    """What the estimates rest on and how to read their ranges."""
    ece = report.calibration.ece
    assert ece is not None
    return (f"These figures are estimated from the model's scores alone, before the labels are in: each of the "
            f"{words.unit} given a chance of 80% counts as 0.8 of a case among the "
            f"{words.unit} who {words.positive}. That is fair here because on the "
            f"{format_count(report.calibration.cases)} {words.unit} of the evaluation set, the predicted chances "
            f"differ from what happened by {_points(ece)} percentage points on average (storybook estimates only "
            f"up to {_points(report.calibration.allowed)}). If the scores stay that honest, the labels will show a "
            "figure inside each stated range about 95 times in 100; if the cases change in a way the scores do "
            "not reflect, the estimate can be wrong, which only the labels can show.")


def _range(value: float | None, interval: tuple[float, float] | None, among: float,
           rules: WordingRules) -> str | None:
    if value is None or interval is None:
        return None
    return share_phrase(Estimate(value, interval[0], interval[1], round(among)), rules)


def window_sentence(window: WindowEstimate, report: LabelFreeReport, words: Vocabulary,
                    rules: WordingRules = DEFAULT_RULES) -> str:
    """One window: "In window 2026-11-02, of the patients who have cancer, probably between 70 and 84 in 100
    are flagged, estimated from the scores of 1,204 patients; their labels are not in yet." and, once the labels
    are in, the estimate beside what they show."""
    info = kind_info(report.metric)
    assert info is not None and info.counts is not None and info.words.sentence is not None
    among = denominator_words(report.metric, words)
    expected_among = info.counts(window.expected)[1]  # type: ignore[arg-type]  # expected counts, as floats
    told = _range(window.figure, window.interval, expected_among, rules)
    lead = f"In window {window.window}, "
    if not report.estimated:  # no estimate at all (see refusal): only what the labels show, once in
        if window.realised is None:
            return f"{lead}{_labels_waited(window, words)}."
        counted, total = info.counts(window.realised)
        if not total:
            return f"{lead}the labels are in, with none of the {among} to count."
        sentence = info.words.sentence.format(u=words.unit, pos=words.positive, neg=words.negative,
                                              flag=words.flagged, amount=point_share(counted / total))
        return (f"{lead}the labels show that {sentence[0].lower()}{sentence[1:]} ({format_count(counted)} of "
                f"{format_count(total)}).")
    if not window.comparable:
        estimate = (f"{lead}storybook does not estimate the {info.words.rate_name or report.metric}: the scores of "
                    f"its {format_count(window.cases)} {words.unit} are spread unlike the evaluation set's, where "
                    f"their calibration was checked (population stability index {window.shift:.2f}; above "
                    f"{MAX_SHIFT:g} the two differ a lot)")
    elif told is None:
        estimate = (f"{lead}storybook cannot estimate the {info.words.rate_name or report.metric}: the scores of "
                    f"its {format_count(window.cases)} {words.unit} leave almost no {among} to count")
    else:
        sentence = info.words.sentence.format(u=words.unit, pos=words.positive, neg=words.negative,
                                              flag=words.flagged, amount=("probably " if not window.labels_in
                                                                          else "") + told)
        sentence = sentence[0].lower() + sentence[1:]
        estimate = lead + ("the estimate was that " if window.labels_in else "") + sentence
    if window.realised is not None:
        counted, total = info.counts(window.realised)
        shown = point_share(counted / total) if total else "nothing to count"
        return (f"{estimate}; the labels, now in, show {shown} ({format_count(counted)} of "
                f"{format_count(total)} {among}).")
    if not window.comparable:
        return f"{estimate}; {_labels_waited(window, words)}."
    if window.labelled:
        return (f"{estimate}, from the scores of {format_count(window.cases)} {words.unit}; labels for only "
                f"{format_count(window.labelled)} of them are in, too few of the window to compare.")
    return f"{estimate}, from the scores of {format_count(window.cases)} {words.unit}; their labels are not in yet."


def cost_sentence(window: WindowEstimate, report: LabelFreeReport, words: Vocabulary) -> str | None:
    """The window's cost per ``population`` cases, estimated, and as the labels show it once in."""
    if window.cost is None or window.cost_interval is None or report.cost_unit is None:
        return None
    low, high = window.cost_interval
    per = f"per {format_count(report.population)} {words.unit}"
    if round(low) == round(high):
        estimated = f"about {amount_number(window.cost)} {report.cost_unit} {per}"
    else:
        estimated = f"between {amount_number(low)} and {amount_number(high)} {report.cost_unit} {per}"
    if window.realised_cost is not None:
        return (f"Mistakes in window {window.window} were estimated to cost {estimated}; the labels show "
                f"{amount_number(window.realised_cost)}.")
    return f"Mistakes in window {window.window} probably cost {estimated}."


def guard_sentence(guard: EstimateGuard, report: LabelFreeReport, words: Vocabulary) -> str:
    """How a bound on the estimated or realised figure fared over the windows."""
    info = kind_info(report.metric)
    assert info is not None
    name = info.words.rate_name or report.metric
    bounds = " and ".join(f"{word} {point_share(value)}" for word, value in (("at least", guard.lower),
                                                                            ("at most", guard.upper))
                          if value is not None)
    outcomes = [(w.window, o.status) for w in report.windows for o in w.guards if o.guard == guard]
    whose = f"the estimated {name}" if guard.on == "estimated" else f"the {name}, as the labels show it,"
    parts = []
    for status in ("broken", "may be broken", "holds", "not known"):
        named = [window for window, found in outcomes if found == status]
        if named:
            told = {"broken": "broken", "may be broken": "possibly broken (its range reaches past the bound)",
                    "holds": "kept", "not known": "not known yet"}[status]
            listed = f" ({', '.join(named)})" if status != "holds" else ""
            parts.append(f"{told} in {len(named)} of {len(outcomes)} windows{listed}")
    summary = "; ".join(parts) if parts else "no windows yet"
    return f"The story asks that {whose} be {bounds}: {summary}."


def _labels_waited(window: WindowEstimate, words: Vocabulary) -> str:
    """What is known of a window's labels while not all of them are in (some may be)."""
    if window.labelled:
        return (f"labels for only {format_count(window.labelled)} of its {format_count(window.cases)} {words.unit} "
                "are in, too few of the window to tell what they show")
    return f"the labels of its {format_count(window.cases)} {words.unit} are not in yet"
