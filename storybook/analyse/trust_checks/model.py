"""Trust in the **model**: fit on held-out cases with its interval, stability across cross-validation folds,
calibration, gaps between groups, comparison with another version of the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy.typing as npt

from storybook.analyse.classification import (
    OTHER_GROUPS,
    Estimate,
)
from storybook.analyse.plain import (
    COMPARISON_WORDS,
    DEFAULT_RULES,
    Verdict,
    Vocabulary,
    WordingRules,
    compare,
    metric_sentence,
    verdict,
)
from storybook.analyse.trust_checks.evidence import EPS, Evidence, FigureValue
from storybook.analyse.trust_checks.statistics import ReliabilityCurve, finite_floats, reliability_curve
from storybook.analyse.trust_checks.words import declared, listed, number, told_as


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
    asked = f" The story asks for at least {declared(kind, minimum)}"
    if estimate.low is None:
        return Evidence("model", "model.held_out", f"{told}{asked}, but without a range this cannot be judged.",
                        None, figures, source)
    low = declared(kind, estimate.low, apart_from=minimum)
    if estimate.low >= minimum - EPS:
        outcome, passed = f"even the low end of the range, {low}, meets that", True
    elif estimate.value >= minimum - EPS:
        outcome = (f"the figure meets that, but the low end of its range, {low}, does not, so this evaluation "
                   "cannot yet show it")
        passed = False
    else:
        outcome, passed = "the figure falls short of that", False
    return Evidence("model", "model.held_out", f"{told}{asked}; {outcome}.", passed, figures, source)


def check_fold_stability(values: Sequence[float], tolerance: float, *, metric: str, source: str) -> Evidence:
    """Stability across cross-validation folds: passes when the largest minus the smallest is ≤ tolerance."""
    folds = finite_floats(values, "fold results")
    if folds.size < 2:
        return Evidence("model", "model.fold_stability",
                        f"Only {folds.size} cross-validation result: at least 2 are needed to judge stability.",
                        None, {"folds": int(folds.size), "tolerance": tolerance}, source)
    low, high = float(folds.min()), float(folds.max())
    spread = high - low
    sentence = (f"Trained and tested {folds.size} times on different parts of the data (cross-validation), the "
                f"{metric} ranged from {number(low)} to {number(high)}, a spread of {number(spread)}; the story "
                f"allows a spread of up to {number(tolerance)}.")
    figures: dict[str, FigureValue] = {"folds": int(folds.size), "min": low, "max": high, "spread": spread,
                                       "tolerance": tolerance}
    return Evidence("model", "model.fold_stability", sentence, spread <= tolerance + EPS, figures, source)


def check_calibration(labels: npt.ArrayLike, scores: npt.ArrayLike, *, tolerance: float = 0.05, bins: int = 10,
                      source: str, curve: ReliabilityCurve | None = None) -> Evidence:
    """Calibration: passes when the expected calibration error is at most ``tolerance``. ``curve``: the curve
    worked out already (e.g. from a counted set's sums), instead of from ``labels`` and ``scores``."""
    if curve is None:
        curve = reliability_curve(labels, scores, bins)
    bins = len(curve.bins)
    if curve.ece is None or curve.brier is None:
        return Evidence("model", "model.calibration", "There were no scored cases to check calibration on.", None,
                        {"n": 0, "tolerance": tolerance}, source)
    sentence = (f"Where the model predicts a chance, what happened differs from it by {curve.ece * 100:.3g} "
                f"percentage points on average (over {bins} bands of predicted chance, weighted by cases); the "
                f"story allows up to {tolerance * 100:.3g}. The Brier score is {curve.brier:.3f} (0 is perfect; "
                "always saying 50% would score 0.25).")
    figures: dict[str, FigureValue] = {"ece": curve.ece, "brier": curve.brier, "n": curve.n, "bins": bins,
                                       "tolerance": tolerance}
    return Evidence("model", "model.calibration", sentence, curve.ece <= tolerance + EPS, figures, source)


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
                 f"{listed([f'{name} ({n:,})' for name, n in small])}.") if small else ""
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
    sentence = (f"The {metric} differs between {slice_name} groups by up to {declared(metric, gap)}: highest for "
                f"{top} ({told_as(metric, top_e, rules)}), lowest for {bottom} ({told_as(metric, bottom_e, rules)}); "
                f"{apart}. The story allows a gap of "
                f"up to {declared(metric, tolerance)}.{too_small}")
    return Evidence("model", "model.slice_gaps", sentence, gap <= tolerance + EPS, figures, source)


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
        verdict(current, previous, higher_is_better=higher_is_better)
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
    sentence = (f"Compared with {other}, the {metric}{of} is {told_as(metric, current, rules)}, against "
                f"{told_as(metric, previous, rules)}: {told}.")
    return Evidence("model", "model.previous_version", sentence, outcome != "worse", figures, source)
