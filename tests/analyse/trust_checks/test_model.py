"""storybook.analyse.trust_checks.model: the model's checks (held-out fit with its interval, stability across folds,
calibration, gaps between groups, comparison with another version), their sentences at their boundaries.
"""

from __future__ import annotations

from storybook.analyse.classification import Estimate
from storybook.analyse.plain import verdict
from storybook.analyse.trust_checks.model import (
    check_calibration,
    check_fold_stability,
    check_held_out,
    check_previous_version,
    check_slice_gaps,
)
from tests.analyse.trust_checks.test_statistics import CAL_LABELS, CAL_SCORES

SRC = "metric test_recall of run abc"

RECALL = Estimate(0.9, 0.85, 0.94, 100, 90)
# The interval 0.85 to 0.94 is 9 in 100 wide: tight by the default rules (at most 10), so "about".
RECALL_TOLD = "Of the cases who are positive, about 90 in 100 are flagged (measured on 100 cases who are positive)."


def test_held_out_passes_when_the_low_end_reaches_the_minimum() -> None:
    at = check_held_out(RECALL, 0.85, kind="recall", source=SRC)
    assert at.passed is True and at.area == "model" and at.check == "model.held_out" and at.source == SRC
    assert at.sentence == RECALL_TOLD + (" The story asks for at least 85 in 100; even the low end of the range, "
                                         "85 in 100, meets that.")
    above = check_held_out(RECALL, 0.86, kind="recall", source=SRC)
    assert above.passed is False
    assert above.sentence == RECALL_TOLD + (" The story asks for at least 86 in 100; the figure meets that, but the "
                                            "low end of its range, 85 in 100, does not, so this evaluation cannot yet "
                                            "show it.")
    short = check_held_out(RECALL, 0.95, kind="recall", source=SRC)
    assert short.passed is False and short.sentence.endswith("; the figure falls short of that.")


def test_held_out_cannot_run_without_cases_or_interval() -> None:
    assert check_held_out(Estimate(None, None, None, 0), 0.8, kind="recall", source=SRC).passed is None
    no_range = check_held_out(Estimate(0.7, None, None, 10), 0.5, kind="f1", source=SRC)
    assert no_range.passed is None
    assert no_range.sentence == ("The F1 score is 0.70 on a scale from 0 to 1. The story asks for at least 0.50, but "
                                 "without a range this cannot be judged.")


def test_fold_stability_at_its_boundary() -> None:
    # 0.95 - 0.91 is 0.04000000000000004 in floating point; the 1e-12 allowance makes it 0.04.
    folds = [0.91, 0.95, 0.93]
    at = check_fold_stability(folds, 0.04, metric="recall", source=SRC)
    assert at.passed is True
    assert at.sentence == ("Trained and tested 3 times on different parts of the data (cross-validation), the recall "
                           "ranged from 0.91 to 0.95, a spread of 0.04; the story allows a spread of up to 0.04.")
    assert check_fold_stability(folds, 0.039, metric="recall", source=SRC).passed is False
    one = check_fold_stability([0.9], 0.04, metric="recall", source=SRC)
    assert one.passed is None
    assert one.sentence == "Only 1 cross-validation result: at least 2 are needed to judge stability."


def test_calibration_sentence_and_boundary() -> None:
    ev = check_calibration(CAL_LABELS, CAL_SCORES, tolerance=0.1, bins=2, source=SRC)
    assert ev.passed is True
    assert ev.sentence == ("Where the model predicts a chance, what happened differs from it by 9.17 percentage "
                           "points on average (over 2 bands of predicted chance, weighted by cases); the story allows "
                           "up to 10. The Brier score is 0.144 (0 is perfect; always saying 50% would score 0.25).")
    assert check_calibration(CAL_LABELS, CAL_SCORES, tolerance=0.0916666666667, bins=2, source=SRC).passed is True
    assert check_calibration(CAL_LABELS, CAL_SCORES, tolerance=0.09, bins=2, source=SRC).passed is False
    assert check_calibration([], [], source=SRC).passed is None


RATES = {
    "large": Estimate(0.95, 0.9, 0.98, 60),
    "small": Estimate(0.83, 0.7, 0.9, 40),
    "medium": Estimate(0.9, 0.6, 0.98, 12),
}


def test_slice_gaps_sentence_and_boundary() -> None:
    # Judged: large 0.95 (60) and small 0.83 (40): gap 0.12. medium has 12 cases, under 30.
    ev = check_slice_gaps(RATES, 0.12, metric="recall", slice_name="size_band", source=SRC)
    assert ev.passed is True
    # large's range (0.90 to 0.98, 8 in 100 wide) is tight; small's (0.70 to 0.90) is wide; they touch at 0.90,
    # and touching ranges overlap: no clear difference.
    assert ev.sentence == ("The recall differs between size_band groups by up to 12 in 100: highest for large (about "
                           "95 in 100, of 60 cases), lowest for small (between 70 and 90 in 100, of 40 cases); their "
                           "ranges overlap, so there is no clear difference. The story allows a gap of up to 12 in "
                           "100. Too small to judge (fewer than 30 cases): medium (12).")
    assert ev.figures["difference"] == "no clear difference"
    apart = check_slice_gaps({**RATES, "small": Estimate(0.83, 0.7, 0.8999, 40)}, 0.12, metric="recall",
                             slice_name="size_band", source=SRC)
    assert apart.figures["difference"] == "higher"
    assert "their ranges do not overlap, so the difference is clear" in apart.sentence
    assert check_slice_gaps(RATES, 0.11, metric="recall", slice_name="size_band", source=SRC).passed is False
    # With min_size 12 medium is judged too; it sits between the two, so the gap is unchanged.
    assert check_slice_gaps(RATES, 0.12, metric="recall", slice_name="size_band", min_size=12,
                            source=SRC).figures["too_small"] == 0
    one = check_slice_gaps(RATES, 0.12, metric="recall", slice_name="size_band", min_size=50, source=SRC)
    assert one.passed is None
    assert one.sentence.startswith("Fewer than 2 size_band groups have at least 50 cases")


def test_previous_version_verdicts() -> None:
    version_verdict = verdict  # the one comparison rule, plain.verdict
    now = Estimate(0.93, 0.90, 0.96, 200)
    assert version_verdict(now, Estimate(0.85, 0.82, 0.88, 200)) == "better"
    assert version_verdict(now, Estimate(0.85, 0.82, 0.90, 200)) == "no clear difference"  # ends touch
    assert version_verdict(Estimate(0.85, 0.82, 0.88, 200), now) == "worse"
    assert version_verdict(now, Estimate(0.85, 0.82, 0.88, 200), higher_is_better=False) == "worse"
    assert version_verdict(now, Estimate(None, None, None, 0)) is None
    ev = check_previous_version(now, Estimate(0.91, 0.87, 0.94, 200), metric="recall", source=SRC)
    assert ev.passed is True
    assert ev.sentence == ("Compared with the previous version, the recall is about 93 in 100, of 200 cases, against "
                           "about 91 in 100, of 200 cases: no clear difference, as the ranges overlap.")
    wide = check_previous_version(Estimate(0.8, 0.7, 0.88, 50), now, metric="recall", source=SRC)
    assert wide.sentence == ("Compared with the previous version, the recall is between 70 and 88 in 100, of 50 "
                             "cases, against about 93 in 100, of 200 cases: clearly worse.")
    auc = check_previous_version(Estimate(0.7, 0.6, 0.8, 50), Estimate(0.72, 0.62, 0.82, 50), metric="f1",
                                 source=SRC)
    assert "the f1 is 0.70, from 0.60 to 0.80, of 50 cases, against 0.72, from 0.62 to 0.82" in auc.sentence
    worse = check_previous_version(Estimate(0.85, 0.82, 0.88, 200), now, metric="recall", source=SRC)
    assert worse.passed is False and worse.sentence.endswith(": clearly worse.")


def test_a_low_end_just_short_of_the_minimum_never_prints_as_the_minimum() -> None:
    short = check_held_out(Estimate(0.8, 0.6996, 0.9, 120), 0.7, kind="recall", source=SRC)
    assert short.passed is False
    assert "the low end of its range, 69.96 in 100, does not" in short.sentence
    met = check_held_out(Estimate(0.8, 0.7003, 0.9, 120), 0.7, kind="recall", source=SRC)
    assert met.passed is True and "even the low end of the range, 70.03 in 100, meets that" in met.sentence
    exact = check_held_out(Estimate(0.8, 0.7, 0.9, 120), 0.7, kind="recall", source=SRC)
    assert exact.passed is True and "even the low end of the range, 70 in 100, meets that" in exact.sentence
