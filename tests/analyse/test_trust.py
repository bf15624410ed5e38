"""Trust levels: checks against numbers worked out by hand and against scikit-learn, level rules at their
boundaries, and the ML Test Score rubric.

Dates: 1 March 2024 00:00 UTC is 1,709,251,200,000 ms (2024-01-01 is 1,704,067,200 s; plus 60 days of
86,400 s), and every later day adds 86,400,000 ms.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from storybook.analyse import trust, trust_checks
from storybook.analyse.classification import Estimate
from storybook.analyse.plain import verdict
from storybook.analyse.trust import (
    BANDS,
    RUBRIC,
    Attestation,
    Level,
    level_for,
    levels_for,
    rubric_band,
    score_rubric,
)
from storybook.analyse.trust_checks import (
    Evidence,
    ModelVersion,
    check_calibration,
    check_change,
    check_class_balance,
    check_deployments,
    check_duplicates,
    check_fold_stability,
    check_guardrails,
    check_held_out,
    check_label_rates,
    check_missing,
    check_previous_version,
    check_shift,
    check_slice_gaps,
    check_small_slices,
    detect_change,
    duplicated_rows,
    one_in,
    psi,
    reliability_curve,
)

MARCH_1 = 1_709_251_200_000
DAY = 86_400_000
SRC = "metric test_recall of run abc"


def test_all_is_the_public_api() -> None:
    for module in (trust, trust_checks):
        for name in module.__all__:
            assert hasattr(module, name), name


# --- wording -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("part", "whole", "words"), [
    (0, 12, "none"), (12, 12, "all"), (1, 12, "1 in 12"), (20, 240, "1 in 12"), (1, 2400, "1 in 2,400"),
    (19, 100, "1 in 5"),  # 19% is under one in five: 100 / 19 = 5.3 -> "1 in 5"
    (1, 5, "20%"), (37, 100, "37%"), (999, 1000, "more than 99%"),
])
def test_one_in(part: int, whole: int, words: str) -> None:
    assert one_in(part, whole) == words


# --- model checks --------------------------------------------------------------------------------------

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


# Calibration by hand, two bands [0, 0.5] and (0.5, 1]:
#   band 1: scores 0.05 0.15 0.15 0.30, labels 0 0 1 0 -> mean score 0.1625, observed 1/4 = 0.25, gap 0.0875
#   band 2: scores 0.85 0.95,           labels 1 1     -> mean score 0.90,   observed 1,           gap 0.10
#   ECE = 4/6 x 0.0875 + 2/6 x 0.10 = 0.058333 + 0.033333 = 0.091667
#   Brier = (0.05² + 0.15² + 0.85² + 0.30² + 0.15² + 0.05²) / 6 = 0.8625 / 6 = 0.14375
CAL_SCORES = [0.05, 0.15, 0.15, 0.30, 0.85, 0.95]
CAL_LABELS = [0, 0, 1, 0, 1, 1]


def test_reliability_curve_by_hand() -> None:
    curve = reliability_curve(CAL_LABELS, CAL_SCORES, bins=2)
    assert [(b.low, b.high, b.n) for b in curve.bins] == [(0.0, 0.5, 4), (0.5, 1.0, 2)]
    assert curve.bins[0].mean_score == pytest.approx(0.1625)
    assert curve.bins[0].observed_rate == pytest.approx(0.25)
    assert curve.bins[1].mean_score == pytest.approx(0.9)
    assert curve.bins[1].observed_rate == pytest.approx(1.0)
    assert curve.ece == pytest.approx(0.091666666667)
    assert curve.brier == pytest.approx(0.14375)


def test_calibration_sentence_and_boundary() -> None:
    ev = check_calibration(CAL_LABELS, CAL_SCORES, tolerance=0.1, bins=2, source=SRC)
    assert ev.passed is True
    assert ev.sentence == ("Where the model predicts a chance, what happened differs from it by 9.17 percentage "
                           "points on average (over 2 bands of predicted chance, weighted by cases); the story allows "
                           "up to 10. The Brier score is 0.144 (0 is perfect; always saying 50% would score 0.25).")
    assert check_calibration(CAL_LABELS, CAL_SCORES, tolerance=0.0916666666667, bins=2, source=SRC).passed is True
    assert check_calibration(CAL_LABELS, CAL_SCORES, tolerance=0.09, bins=2, source=SRC).passed is False
    assert check_calibration([], [], source=SRC).passed is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calibration_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random(500), 2)  # two decimals put many scores exactly on the band edges
    scores[:6] = [0.0, 0.1, 0.2, 0.5, 0.9, 1.0]
    labels = rng.random(500) < scores
    curve = reliability_curve(labels, scores, bins=10)
    prob_true, prob_pred = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    filled = [b for b in curve.bins if b.n]
    np.testing.assert_allclose(np.array([b.observed_rate for b in filled], dtype=float), prob_true)
    np.testing.assert_allclose(np.array([b.mean_score for b in filled], dtype=float), prob_pred)
    assert curve.brier == pytest.approx(brier_score_loss(labels, scores))


def test_reliability_curve_refuses_scores_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        reliability_curve([0, 1], [0.5, 1.2])


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


# --- data checks ---------------------------------------------------------------------------------------


def test_class_balance_sentence_and_boundary() -> None:
    labels = [1, 1, 1] + [0] * 9  # 3 of 12 positive: 25%
    ev = check_class_balance(labels, min_share=0.25, source=SRC)
    assert ev.passed is True
    assert ev.sentence == ("25% of cases are positive (3 of 12); the rarer outcome makes up 25%, and the story asks "
                           "for at least 25%.")
    assert check_class_balance(labels, min_share=0.26, source=SRC).passed is False
    assert check_class_balance([], source=SRC).passed is None


def _banded() -> tuple[list[int], pd.Series]:
    """a: 40 rows, 10 positive; b: 40 rows, 2 positive; c: 5 rows, 1 positive."""
    labels = [1] * 10 + [0] * 30 + [1] * 2 + [0] * 38 + [1] + [0] * 4
    groups = pd.Series(["a"] * 40 + ["b"] * 40 + ["c"] * 5, name="band")
    return labels, groups


def test_label_rates_sentence() -> None:
    labels, groups = _banded()
    ev = check_label_rates(labels, groups, min_size=30, min_per_class=5, source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("Share of cases who are positive, by band: a 25% (10 of 40), b 1 in 20 (2 of 40). Fewer "
                           "than 5 of one outcome, too few to measure the model on: b. Too small to judge (fewer than "
                           "30 rows): c (5).")
    assert check_label_rates(labels, groups, min_size=30, min_per_class=2, source=SRC).passed is True
    assert check_label_rates(labels, groups, min_size=50, source=SRC).passed is None


def test_small_slices_sentence() -> None:
    _, groups = _banded()
    ev = check_small_slices(groups, min_size=30, source=SRC)
    assert ev.passed is False
    assert ev.sentence == "1 of 3 band groups has fewer than 30 rows, too few to judge: c (5)."
    fine = check_small_slices(groups, min_size=5, source=SRC)
    assert fine.passed is True
    assert fine.sentence == "Every band group has at least 5 rows: a (40), b (40), c (5)."


def _missing_table() -> tuple[pd.DataFrame, pd.Series]:
    """40 rows in two bands of 20. age: 2 missing (one per band); income: none; city: 8, all in "small"."""
    age = [np.nan] + [30.0] * 19 + [np.nan] + [40.0] * 19
    city = ["x"] * 20 + [None] * 8 + ["y"] * 12
    frame = pd.DataFrame({"age": age, "income": [1.0] * 40, "city": city})
    return frame, pd.Series(["big"] * 20 + ["small"] * 20, name="band")


def test_missing_sentence_and_boundary() -> None:
    frame, groups = _missing_table()
    # city overall 8 of 40 = 20%; age 2 of 40 = 1 in 20; within small, city 8 of 20 = 40%.
    ev = check_missing(frame, groups, tolerance=0.05, min_size=20, source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("2 of 3 columns have missing values: city 20% (8 of 40), age 1 in 20 (2 of 40). Most "
                           "missing within one group: city where band is small, 40% (8 of 20). The story allows up to "
                           "5% missing in any column or group.")
    assert check_missing(frame, groups, tolerance=0.4, min_size=20, source=SRC).passed is True
    # Groups under min_size do not count: then the worst share is city overall, 20%.
    assert check_missing(frame, groups, tolerance=0.2, min_size=21, source=SRC).passed is True
    clean = check_missing(frame[["income"]], source=SRC)
    assert clean.passed is True and clean.sentence == "No values are missing in 1 column (40 rows)."


def test_duplicates_on_a_known_table() -> None:
    training = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "z", None], "id": [10, 11, 12, 13]})
    # Evaluation row 0 equals training row 1 over (a, b); row 1 equals training row 3 (missing b matches missing b)
    # with a read as float; the id column is not compared. The other 10 rows are new.
    evaluation = pd.DataFrame({
        "a": [2.0, 4.0] + [float(v) for v in range(100, 110)],
        "b": ["y", None] + ["x"] * 10,
        "id": list(range(50, 62)),
    })
    shared = duplicated_rows(training, evaluation, ["a", "b"])
    assert shared.tolist() == [True, True] + [False] * 10
    ev = check_duplicates(training, evaluation.iloc[1:], ["a", "b"], source=SRC)
    assert ev.passed is False
    assert ev.sentence == "1 in 11 evaluation rows also appears in training (1 of 11 rows)."
    # 2 of 12 is 1 in 6; a tolerance of exactly 2/12 lets it pass.
    assert check_duplicates(training, evaluation, ["a", "b"], tolerance=2 / 12, source=SRC).passed is True
    half = check_duplicates(training, evaluation.iloc[:4], ["a", "b"], source=SRC)
    assert half.sentence == "50% of evaluation rows also appear in training (2 of 4 rows)."
    none = check_duplicates(training, evaluation.iloc[2:], ["a", "b"], source=SRC)
    assert none.passed is True and none.sentence == "No evaluation row also appears in training (0 of 10 rows)."


def test_psi_by_hand() -> None:
    # Training 1..10 with 2 bins: the median 5.5 splits it 5 / 5. Production has 6 of 8 at or under 5.5.
    # PSI = (0.75 - 0.5) ln(0.75 / 0.5) + (0.25 - 0.5) ln(0.25 / 0.5) = 0.101366 + 0.173287 = 0.274653
    training = pd.Series(range(1, 11), name="x")
    production = pd.Series([1, 2, 3, 4, 5, 5, 9, 10], name="x")
    shift = psi(training, production, bins=2)
    assert shift.labels == ("≤ 5.50", "> 5.50")
    assert shift.expected == (0.5, 0.5) and shift.actual == (0.75, 0.25)
    assert shift.psi == pytest.approx(0.25 * math.log(1.5) + 0.25 * math.log(2))
    assert shift.psi == pytest.approx(0.274653, abs=1e-6)
    assert shift.size == "major"
    assert psi(training, training, bins=4).psi == pytest.approx(0.0)


def test_psi_categories_and_missing() -> None:
    # Categories a, b from training, plus "(other)": expected 0.5 0.5 0, actual 0.75 0 0.25.
    # Zero shares become 0.0001.
    shift = psi(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "a", "a", "c"]))
    assert shift.labels == ("a", "b", "(other)")
    e, a = [0.5, 0.5, 1e-4], [0.75, 1e-4, 0.25]
    assert shift.psi == pytest.approx(sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True)))
    with_missing = psi(pd.Series([1.0, 2.0, 3.0, np.nan]), pd.Series([1.0, 2.0, 3.0, 4.0]), bins=2)
    assert with_missing.labels[-1] == "(missing)" and with_missing.expected[-1] == 0.25


def test_shift_names_the_features_that_moved() -> None:
    training = pd.DataFrame({"x": range(1, 11), "y": range(1, 11)})
    production = pd.DataFrame({"x": [1, 2, 3, 4, 5, 5, 9, 10], "y": [1, 2, 3, 4, 7, 8, 9, 10]})
    ev = check_shift(training, production, bins=2, source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("Production inputs have moved away from the training data in 1 of 2 features: x changed a "
                           "lot (PSI 0.27).")
    calm = check_shift(training, production, ["y"], bins=2, source=SRC)
    assert calm.passed is True
    assert calm.sentence == ("Production inputs look like the training data in the one feature compared (no "
                             "feature's Population Stability Index reaches 0.1).")
    assert check_shift(training, production.iloc[:0], source=SRC).passed is None
    with pytest.raises(ValueError, match="z"):
        check_shift(training, production, ["z"], source=SRC)


# --- system checks -------------------------------------------------------------------------------------

MEAN_PREDICTION = [(step, MARCH_1 + step * DAY, value) for step, value in enumerate([0.30, 0.32, 0.46, 0.31, 0.10])]


def test_guardrails_name_the_first_break() -> None:
    ev = check_guardrails(list(reversed(MEAN_PREDICTION)), lower=0.2, upper=0.4, name="the mean prediction",
                          source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("The mean prediction first broke its guardrails (0.20 to 0.40) on 3 March 2024, reading "
                           "0.46; 2 of 5 readings were outside.")
    assert ev.figures["first_break_ms"] == MARCH_1 + 2 * DAY
    held = check_guardrails(MEAN_PREDICTION, lower=0.1, upper=0.46, name="the mean prediction", source=SRC)
    assert held.passed is True  # bounds are inclusive
    assert held.sentence == ("The mean prediction stayed within its guardrails (0.10 to 0.46) in all 5 readings from "
                             "1 March 2024 to 5 March 2024.")
    assert check_guardrails([(0, MARCH_1, math.nan)], upper=1.0, name="x", source=SRC).passed is False
    assert check_guardrails([], lower=0.0, name="x", source=SRC).passed is None
    with pytest.raises(ValueError):
        check_guardrails(MEAN_PREDICTION, name="x", source=SRC)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_change_found_at_a_known_break(seed: int) -> None:
    # 30 readings around 0.30 then 30 around 0.50, noise sd 0.05: a shift of 4 standard deviations at index 30.
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.normal(0.30, 0.05, 30), rng.normal(0.50, 0.05, 30)])
    found = detect_change(values)
    assert found.judged and found.changed
    assert found.index is not None and abs(found.index - 30) <= 1
    assert found.before_mean == pytest.approx(0.30, abs=0.03)
    assert found.after_mean == pytest.approx(0.50, abs=0.03)
    assert found.p_value == pytest.approx(1 / 1000)  # no shuffle comes close


@pytest.mark.parametrize("seed", range(8))
def test_no_change_on_a_stationary_series(seed: int) -> None:
    values = np.random.default_rng(seed).normal(0.30, 0.05, 60)
    found = detect_change(values)
    assert found.judged and not found.changed and found.index is None
    assert found.p_value is not None and found.p_value > 0.01


def test_false_alarms_on_stationary_series_are_about_alpha() -> None:
    # At alpha = 0.01 about 1 steady series in 100 is flagged (seed 12 of the generator above is one: its last
    # 6 readings happen to sit high). Over 200 steady series, allow up to 3%.
    flagged = sum(detect_change(np.random.default_rng(seed).normal(0.30, 0.05, 60), rounds=199).changed
                  for seed in range(1000, 1200))
    assert flagged <= 6


def test_change_is_deterministic_and_handles_short_and_flat_series() -> None:
    values = np.random.default_rng(7).normal(0.0, 1.0, 40)
    assert detect_change(values, seed=3) == detect_change(values, seed=3)
    short = detect_change([1.0] * 9, min_segment=5)
    assert not short.judged and short.index is None
    flat = detect_change([2.0] * 20)
    assert flat.judged and not flat.changed and flat.p_value == 1.0


def test_change_sentences() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.30, 0.05, 30), rng.normal(0.50, 0.05, 30)])
    series = [(i, MARCH_1 + i * DAY, float(v)) for i, v in enumerate(values)]
    found = detect_change(values)
    ev = check_change(series, name="the mean prediction", source=SRC)
    assert ev.passed is False
    assert ev.figures["index"] == found.index and ev.figures["timestamp_ms"] == MARCH_1 + (found.index or 0) * DAY
    assert ev.sentence == (f"The mean prediction changed on 31 March 2024: about {found.before_mean:.2f} on average "
                           f"before, about {found.after_mean:.2f} after (60 readings; a change this clear would turn "
                           "up by chance in no more than 0.1 in 100 steady series).")
    steady = check_change(series[:30], name="the mean prediction", source=SRC)
    assert steady.passed is True
    assert steady.sentence == ("The mean prediction has held steady over 30 readings from 1 March 2024 to 30 March "
                               "2024: no change stands out from ordinary variation.")
    short = check_change(series[:6], name="the mean prediction", source=SRC)
    assert short.passed is None
    assert short.sentence == ("Only 6 readings of the mean prediction so far: too few to tell a change from ordinary "
                              "variation (at least 10 are needed).")


def test_deployment_history() -> None:
    versions = [ModelVersion(3, MARCH_1 + 9 * DAY, ("challenger",)), ModelVersion(1, MARCH_1),
                ModelVersion(2, MARCH_1 + 3 * DAY, ("champion",))]
    ev = check_deployments(versions, source="registered model cancer-screening")
    assert ev.passed is True
    assert ev.sentence == ("3 versions registered since 1 March 2024; the version in use (it carries the alias "
                           "\"champion\") is version 2, registered on 4 March 2024. 1 newer version (3) does not "
                           "carry it.")
    orphan = check_deployments(versions[:2], source=SRC)
    assert orphan.passed is False
    assert orphan.sentence == ("2 versions registered since 1 March 2024, but none carries the alias \"champion\" that "
                               "marks the version in use (the aliases there are: \"challenger\" on version 3), so "
                               "the story cannot tell which one serves. If another alias marks it, say so with "
                               "model.in_use_alias in story.yaml or in_use_alias in storybook.yaml.")
    assert check_deployments([], source=SRC).passed is None
    # A registry whose serving alias is "production": no alias name is assumed.
    served = [ModelVersion(1, MARCH_1, ("production",)), ModelVersion(2, MARCH_1 + 3 * DAY, ("candidate",))]
    assert check_deployments(served, in_use="production", source=SRC).sentence == (
        "2 versions registered since 1 March 2024; the version in use (it carries the alias \"production\") is "
        "version 1, registered on 1 March 2024. 1 newer version (2) does not carry it.")
    unset = check_deployments(served, source=SRC)
    assert unset.passed is False
    assert "(the aliases there are: \"production\" on version 1, \"candidate\" on version 2)" in unset.sentence
    with pytest.raises(ValueError, match="more than one"):
        check_deployments([ModelVersion(1, 0, ("champion",)), ModelVersion(2, 0, ("champion",))], source=SRC)


# --- levels --------------------------------------------------------------------------------------------


def _ev(check: str, passed: bool | None, area: str = "model") -> Evidence:
    return Evidence(area, check, f"{check} said something.", passed, {}, SRC)  # type: ignore[arg-type]


SIGNED = Attestation("Dr A. Khan", "clinical lead", "2024-03-04", "I reviewed the slices.", "model.slice_gaps")


def test_no_evidence_no_level() -> None:
    result = level_for([], area="model")
    assert result.level is Level.NONE
    assert result.rule == "None: no check has passed and no one has attested; without evidence there is no level."
    assert result.to_raise[0].startswith("Run 1 more different model check; not run yet: how well the model does")
    assert result.to_raise[-1] == ("Or: ask a person responsible for the model to attest to it (name, role, date and "
                                   "statement).")
    assert level_for([_ev("model.held_out", False)], area="model").level is Level.NONE
    assert level_for([_ev("model.held_out", None)], area="model").level is Level.NONE


def test_emerging_boundary() -> None:
    assert level_for([_ev("model.held_out", True)], area="model").level is Level.EMERGING
    assert level_for([], [SIGNED], area="model").level is Level.EMERGING
    mixed = level_for([_ev("model.held_out", True), _ev("model.calibration", True), _ev("model.slice_gaps", False)],
                      area="model")
    assert mixed.level is Level.EMERGING
    assert mixed.rule == "Emerging: at least one check passed, or a named person attested to the work."
    assert mixed.to_raise == ("Make this check pass (how far apart the model's results are between groups): "
                              "model.slice_gaps said something.",)
    # The same check twice is one different check: still short of established.
    twice = level_for([_ev("model.held_out", True), _ev("model.held_out", True)], area="model")
    assert twice.level is Level.EMERGING and twice.checks_ran == 1


def test_established_boundary() -> None:
    two = level_for([_ev("model.held_out", True), _ev("model.calibration", True)], area="model")
    assert two.level is Level.ESTABLISHED
    assert two.rule == "Established: at least 2 different checks ran and every check that ran passed."
    # A check that could not run does not block established, but it does block strong.
    three_and_gap = level_for([_ev("model.held_out", True), _ev("model.calibration", True),
                               _ev("model.slice_gaps", True), _ev("model.fold_stability", None)], [SIGNED],
                              area="model")
    assert three_and_gap.level is Level.ESTABLISHED
    assert three_and_gap.to_raise == ("Give this check what it needs to run (how steady the model is across "
                                      "cross-validation folds): model.fold_stability said something.",)
    # Two checks and an attestation: one check short of strong.
    short = level_for([_ev("model.held_out", True), _ev("model.calibration", True)], [SIGNED], area="model")
    assert short.level is Level.ESTABLISHED
    assert short.to_raise[0].startswith("Run 1 more different model check; not run yet: how steady the model is")


def test_strong_boundary() -> None:
    three = [_ev("model.held_out", True), _ev("model.calibration", True), _ev("model.slice_gaps", True)]
    unsigned = level_for(three, area="model")
    assert unsigned.level is Level.ESTABLISHED
    assert unsigned.to_raise == ("Ask a person responsible for the model to attest to it (name, role, date and "
                                 "statement).",)
    strong = level_for(three, [SIGNED], area="model")
    assert strong.level is Level.STRONG and strong.to_raise == ()
    assert strong.rule == ("Strong: every check ran and passed, at least 3 different checks ran, and a named person "
                           "attested to the work.")
    assert strong.checks_ran == 3 and strong.checks_passed == 3 and strong.attested == 1
    # Evidence and attestations of other areas do not count.
    data_signed = Attestation("B", "data steward", "2024-03-04", "Checked.", "data.missing")
    assert level_for(three, [data_signed], area="model").level is Level.ESTABLISHED
    assert level_for([*three, _ev("data.missing", False, "data")], [SIGNED], area="model").level is Level.STRONG


def test_levels_for_every_area() -> None:
    results = levels_for([_ev("system.guardrails", True, "system")])
    assert [r.area for r in results] == ["model", "data", "system"]
    assert [r.level for r in results] == [Level.NONE, Level.NONE, Level.EMERGING]
    assert Level.NONE < Level.EMERGING < Level.ESTABLISHED < Level.STRONG
    assert Level.STRONG.label == "strong" and Level.NONE.meaning


def test_attestation_dates_and_areas() -> None:
    with pytest.raises(ValueError, match="ISO date"):
        Attestation("A", "lead", "4 March 2024", "x", "infra-1")
    assert Attestation("A", "lead", "2024-03-04", "x", "infra-1").area == "system"
    assert Attestation("A", "lead", "2024-03-04", "x", "monitor-7").area == "system"
    assert Attestation("A", "lead", "2024-03-04", "x", "data-5").area == "data"
    assert Attestation("A", "lead", "2024-03-04", "x", "model.calibration").area == "model"
    assert Attestation("A", "lead", "2024-03-04", "x", "infra-9").area is None


# --- the ML Test Score rubric --------------------------------------------------------------------------


def test_rubric_has_28_tests_seven_per_section() -> None:
    assert len(RUBRIC) == 28
    assert len({t.id for t in RUBRIC}) == 28
    for section, prefix in [("data", "data"), ("model", "model"), ("infrastructure", "infra"),
                            ("monitoring", "monitor")]:
        tests = [t for t in RUBRIC if t.section == section]
        assert [t.id for t in tests] == [f"{prefix}-{i}" for i in range(1, 8)]


@pytest.mark.parametrize(("score", "band"), [
    (0.0, 0), (0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2), (2.5, 3), (3.0, 3), (3.5, 4), (5.0, 4), (5.5, 5), (7.0, 5),
])
def test_bands_at_their_boundaries(score: float, band: int) -> None:
    assert rubric_band(score) == BANDS[band][1]


def test_final_score_is_the_minimum_of_section_sums() -> None:
    def att(test: str, automated: bool = False) -> Attestation:
        return Attestation("C", "engineer", "2024-03-04", "Done.", test, automated)

    evidence = [
        _ev("data.shift", False, "data"),          # ran (and failed): monitor-3 gets 1 point
        _ev("system.guardrails", None, "system"),  # did not run: monitor-7 gets nothing from it
        _ev("model.slice_gaps", True),             # model-6: 1
    ]
    attestations = [
        att("data-1"), att("data-2", automated=True), att("data-5"),            # data: 0.5 + 1 + 0.5 = 2
        att("model-1"), att("model-6"),                                         # model: 0.5 + max(1, 0.5) = 1.5
        *(att(f"infra-{i}", automated=True) for i in (1, 2, 3)),                # infrastructure: 3
        att("monitor-3"),                                                       # monitoring: max(1, 0.5) = 1
    ]
    scored = score_rubric(evidence, attestations)
    assert scored.sections == {"data": 2.0, "model": 1.5, "infrastructure": 3.0, "monitoring": 1.0}
    assert scored.score == 1.0 and scored.weakest == ("monitoring",)
    assert scored.band == BANDS[1][1]
    by_id = {i.test.id: i for i in scored.items}
    assert by_id["monitor-3"].points == 1.0 and by_id["monitor-3"].basis.startswith("automatic check: shift")
    assert by_id["monitor-7"].points == 0.0 and by_id["monitor-7"].basis == "not done"
    assert by_id["data-1"].basis == "attested by C (engineer) on 2024-03-04: done by hand and documented"
    assert scored.sentence == ("ML Test Score 1 out of 7, the lowest of its four sections (data 2, model 1.5, "
                               "infrastructure 3, monitoring 1): not totally untested, but it is worth considering the "
                               "possibility of serious holes in reliability.")
    assert score_rubric([]).score == 0.0 and score_rubric([]).band == BANDS[0][1]
    with pytest.raises(ValueError, match="infra-8"):
        score_rubric([], checks={"data.shift": "infra-8"})


def test_a_low_end_just_short_of_the_minimum_never_prints_as_the_minimum() -> None:
    short = check_held_out(Estimate(0.8, 0.6996, 0.9, 120), 0.7, kind="recall", source=SRC)
    assert short.passed is False
    assert "the low end of its range, 69.96 in 100, does not" in short.sentence
    met = check_held_out(Estimate(0.8, 0.7003, 0.9, 120), 0.7, kind="recall", source=SRC)
    assert met.passed is True and "even the low end of the range, 70.03 in 100, meets that" in met.sentence
    exact = check_held_out(Estimate(0.8, 0.7, 0.9, 120), 0.7, kind="recall", source=SRC)
    assert exact.passed is True and "even the low end of the range, 70 in 100, meets that" in exact.sentence
