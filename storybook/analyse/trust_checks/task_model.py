"""Trust in a multiclass or regression **model**: the held-out figure against the story's bound, the
comparison with another version, and (multiclass, with chances) top-label calibration.

Each check reads a figure of the story's task with its 95% interval (:mod:`storybook.analyse.task_versions`
tells it in its own unit: so many in 100, or an amount in the story's ``amount_unit``). The same ids as the
binary checks (``model.held_out``, ``model.previous_version``, ``model.calibration``), so levels, attestations
and decision grounds read them alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from storybook.analyse.classification import Estimate
from storybook.analyse.task_versions import as_subject, higher_is_better, told_difference, told_range_of, told_value
from storybook.analyse.trust_checks.evidence import EPS, Evidence, FigureValue
from storybook.analyse.trust_checks.statistics import ReliabilityCurve, reliability_curve
from storybook.metrics.multiclass import MulticlassScores
from storybook.metrics.regression import RegressionScores, interval_coverage

__all__ = ["check_interval_coverage", "check_task_held_out", "check_task_previous_version",
           "check_top_label_calibration", "top_label_curve"]


def check_task_held_out(estimate: Estimate, kind: str, phrase: str, *, minimum: float | None,
                        maximum: float | None, unit: str | None, counted: str, source: str) -> Evidence:
    """The held-out figure against the story's bound: with ``minimum`` (higher is better) it passes when the low
    end of the 95% interval reaches it; with ``maximum`` (lower is better) when the high end stays within it.
    ``phrase`` names the figure ("average miss"), ``counted`` who it was measured on ("patients")."""
    bound = minimum if minimum is not None else maximum
    if bound is None:
        raise ValueError("a held-out check needs a minimum or a maximum")
    figures: dict[str, FigureValue] = {"value": estimate.value, "low": estimate.low, "high": estimate.high,
                                       "n": estimate.n, "minimum": minimum, "maximum": maximum}
    if estimate.value is None:
        return Evidence("model", "model.held_out", f"There were no held-out {counted} to measure this on.", None,
                        figures, source)
    told = (f"On {estimate.n:,} held-out {counted}, the {as_subject(phrase)} is "
            f"{told_value(kind, estimate.value, unit)} {told_range_of(kind, estimate, unit)}.")
    asked = f" The story asks for {'at least' if minimum is not None else 'at most'} {told_value(kind, bound, unit)}"
    if estimate.low is None or estimate.high is None:
        return Evidence("model", "model.held_out", f"{told}{asked}, but without a range this cannot be judged.",
                        None, figures, source)
    if minimum is not None:
        end, end_name, meets_end = estimate.low, "low", estimate.low >= minimum - EPS
        meets_value = estimate.value >= minimum - EPS
    else:
        assert maximum is not None
        end, end_name, meets_end = estimate.high, "high", estimate.high <= maximum + EPS
        meets_value = estimate.value <= maximum + EPS
    end_told = told_value(kind, end, unit)
    if meets_end:
        outcome, passed = f"even the {end_name} end of the range, {end_told}, meets that", True
    elif meets_value:
        outcome = (f"the figure meets that, but the {end_name} end of its range, {end_told}, does not, so this "
                   "evaluation cannot yet show it")
        passed = False
    else:
        outcome, passed = "the figure falls short of that", False
    return Evidence("model", "model.held_out", f"{told}{asked}; {outcome}.", passed, figures, source)


def check_task_previous_version(current: Estimate, previous: Estimate, gap: Estimate, *, kind: str, phrase: str,
                                unit: str | None, paired: bool, this: str, other: str, source: str) -> Evidence:
    """Comparison with another version: fails only when this one is clearly worse, judged on ``gap`` (this minus
    the other, with its 95% interval; paired when both scored the same cases)."""
    better = higher_is_better(kind) is not False
    figures: dict[str, FigureValue] = {"current": current.value, "current_low": current.low,
                                       "current_high": current.high, "previous": previous.value,
                                       "previous_low": previous.low, "previous_high": previous.high,
                                       "difference": gap.value, "difference_low": gap.low,
                                       "difference_high": gap.high, "paired": paired}
    if gap.value is None or gap.low is None or gap.high is None:
        figures["verdict"] = None
        return Evidence("model", "model.previous_version", f"The {phrase} of {this} and {other} cannot be compared: "
                        "one of them has no value or no range.", None, figures, source)
    sign = 1.0 if better else -1.0   # a gain above 0 means this version does better
    gain, gain_low, gain_high = sign * gap.value, min(sign * gap.low, sign * gap.high), max(sign * gap.low,
                                                                                             sign * gap.high)
    verdict = "better" if gain_low > 0 else "worse" if gain_high < 0 else "no clear difference"
    figures["verdict"] = verdict
    how = ("both versions scored the same cases, resampled together" if paired
           else "each version scored its own cases")
    clear = "there is no clear difference" if verdict == "no clear difference" else "the difference is clear"
    difference = told_difference(kind, gain, unit, noun=True)
    told_gap = difference if difference == "no difference" else f"a difference of {difference}"
    sentence = (f"For {this}, the {as_subject(phrase)} is {told_value(kind, current.value, unit)} "
                f"{told_range_of(kind, current, unit)}; for {other}, {told_value(kind, previous.value, unit)} "
                f"{told_range_of(kind, previous, unit)}: {told_gap}; "
                f"allowing for chance, anywhere from {told_difference(kind, gain_low, unit, noun=True)} to "
                f"{told_difference(kind, gain_high, unit, noun=True)} ({how}), so {clear}.")
    return Evidence("model", "model.previous_version", sentence, verdict != "worse", figures, source)


def top_label_curve(scores: MulticlassScores, bins: int = 10) -> ReliabilityCurve | None:
    """Top-label calibration as a reliability curve: the chance the model gave its call against how often the
    call was right, in equal-width bands; None when the run logged only the calls."""
    if scores.probabilities is None or scores.n == 0:
        return None
    top: npt.NDArray[np.float64] = np.clip(scores.probabilities[np.arange(scores.n), scores.predicted], 0.0, 1.0)
    return reliability_curve(scores.truth == scores.predicted, top, bins)


def check_top_label_calibration(scores: MulticlassScores, *, tolerance: float, unit: str, source: str,
                                bins: int = 10) -> Evidence:
    """Top-label calibration: passes when the chance the model gives its call differs from how often the call
    is right by at most ``tolerance`` on average (the expected calibration error over ``bins`` bands)."""
    curve = top_label_curve(scores, bins)
    if curve is None or curve.ece is None:
        return Evidence("model", "model.calibration", "The run logged only the model's calls, not its chances for "
                        "each class, so whether its chances can be taken at face value cannot be checked.", None,
                        {"n": scores.n, "tolerance": tolerance}, source)
    sentence = (f"When the model calls a class for one of the {unit}, it also says how likely that call is; how "
                f"often the call was right differs from that chance by {curve.ece * 100:.3g} percentage points on "
                f"average (over the {sum(1 for b in curve.bins if b.n)} bands of that chance that hold {unit}, "
                f"weighted by {unit}); the story allows up to "
                f"{tolerance * 100:.3g}.")
    figures: dict[str, FigureValue] = {"ece": curve.ece, "n": curve.n, "bins": bins, "tolerance": tolerance}
    return Evidence("model", "model.calibration", sentence, curve.ece <= tolerance + EPS, figures, source)


def check_interval_coverage(scores: RegressionScores, *, level: float, tolerance: float, unit: str,
                            source: str) -> Evidence | None:
    """A regression model's calibration: the share of outcomes inside the logged prediction intervals against
    the intervals' stated ``level``; passes when they differ by at most ``tolerance``. None without intervals."""
    coverage = interval_coverage(scores)
    if coverage is None or coverage.value is None:
        return None
    gap = abs(coverage.value - level)
    stated = f"{level * 100:.3g} in 100"
    sentence = (f"Each forecast comes with a range said to hold what happens for {stated} {unit}; it held for "
                f"{told_value('interval_coverage', coverage.value, None)} of the {coverage.n:,} held-out {unit} "
                f"{told_range_of('interval_coverage', coverage, None)}, {gap * 100:.2g} points out of 100 from the "
                f"stated level; the story allows up to {tolerance * 100:.3g}.")
    figures: dict[str, FigureValue] = {"coverage": coverage.value, "low": coverage.low, "high": coverage.high,
                                       "n": coverage.n, "level": level, "gap": gap, "tolerance": tolerance}
    return Evidence("model", "model.calibration", sentence, gap <= tolerance + EPS, figures, source)
