"""Performance before labels arrive: expected counts against an independent computation, the 95% ranges against
labels drawn from the scores over many seeds, the refusals, the guardrails and the sentences, and (when NannyML
is installed) the estimate beside NannyML's CBPE on the same data."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from storybook.analyse.costs import CostModel
from storybook.analyse.label_free import MAX_ECE, EstimateGuard, estimate_windows
from storybook.analyse.label_free_words import (
    cost_sentence,
    guard_sentence,
    method_sentence,
    refusal,
    window_sentence,
)
from storybook.analyse.plain import Vocabulary
from storybook.metrics.label_free import (
    ThresholdInsideBin,
    WindowBins,
    expected_class_confusion,
    expected_confusion,
)

K = 1000
WORDS = Vocabulary(unit="patients", positive="have cancer", negative="do not have cancer", flagged="flagged")
Floats = npt.NDArray[np.float64]


def window_rows(name: str, scores: Floats, labels: npt.NDArray[np.bool_] | None = None, bins: int = K,
                ) -> pd.DataFrame:
    """A window as resolve hands it to the analysis: rows per (label, equal-width score bin)."""
    which = np.minimum(np.floor(scores * bins), bins - 1).astype(int)
    label = np.full(scores.size, np.nan) if labels is None else labels.astype(float)
    frame = pd.DataFrame({"window": name, "label": label, "bin": which, "s": scores})
    grouped = frame.groupby(["window", "label", "bin"], dropna=False).agg(
        n=("s", "size"), score_sum=("s", "sum")).reset_index()
    grouped["bin_low"] = grouped["bin"] / bins
    grouped["bin_high"] = (grouped["bin"] + 1) / bins
    return grouped


@pytest.fixture(scope="module")
def calibrated() -> tuple[npt.NDArray[np.bool_], Floats]:
    """An evaluation set whose labels are drawn from its scores: calibrated by construction."""
    rng = np.random.default_rng(7)
    scores = rng.beta(2, 3, 3000)
    return rng.random(3000) < scores, scores


def test_expected_counts_match_sums_of_scores_worked_out_directly() -> None:
    rng = np.random.default_rng(1)
    scores = rng.beta(2, 2, 2500)
    threshold = 0.42  # a bin edge (420 / 1000)
    flagged = scores >= threshold
    rows = window_rows("w", scores)
    bins = WindowBins(n=rows["n"].to_numpy(np.int64), score_sum=rows["score_sum"].to_numpy(np.float64),
                      low=rows["bin_low"].to_numpy(np.float64), high=rows["bin_high"].to_numpy(np.float64))
    expected = expected_confusion(bins, threshold)
    assert expected.tp == pytest.approx(scores[flagged].sum(), rel=1e-12)
    assert expected.fp == pytest.approx((1 - scores[flagged]).sum(), rel=1e-12)
    assert expected.fn == pytest.approx(scores[~flagged].sum(), rel=1e-12)
    assert expected.tn == pytest.approx((1 - scores[~flagged]).sum(), rel=1e-12)
    assert expected.n == pytest.approx(2500)
    # One bin per distinct score (low = high) gives the same counts at any threshold between them.
    exact = WindowBins(n=np.ones(2500, dtype=np.int64), score_sum=scores, low=scores, high=scores)
    assert expected_confusion(exact, 0.4231).tp == pytest.approx(scores[scores >= 0.4231].sum(), rel=1e-12)


def test_a_threshold_inside_a_bin_that_holds_cases_is_refused() -> None:
    bins = WindowBins(n=np.array([3, 2]), score_sum=np.array([0.3, 1.5]), low=np.array([0.0, 0.5]),
                      high=np.array([0.5, 1.0]))
    with pytest.raises(ThresholdInsideBin, match=r"0\.7 falls inside the score bin \[0\.5, 1\)"):
        expected_confusion(bins, 0.7)
    assert expected_confusion(bins, 0.5).tp == pytest.approx(1.5)


def test_expected_multiclass_counts_match_a_loop_over_cases() -> None:
    rng = np.random.default_rng(3)
    chances = rng.dirichlet([1, 2, 3], 400)
    called = chances.argmax(axis=1)
    by_hand = np.zeros((3, 3))
    for row, call in zip(chances, called, strict=True):
        for true_class in range(3):
            by_hand[true_class, call] += row[true_class]
    assert np.allclose(expected_class_confusion(chances, called), by_hand)
    assert expected_class_confusion(chances, called).sum() == pytest.approx(400)


def test_realised_recall_falls_inside_the_95_range_about_95_times_in_100(
        calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    """40 windows of 400 cases; for each, 200 label sets drawn from the scores (labels ~ Bernoulli(score),
    vectorised): the realised recall lies inside the window's 95% range at about the stated rate."""
    rng = np.random.default_rng(11)
    windows = [rng.beta(2, 2.7 + 0.2 * (i % 4), 400) for i in range(40)]  # spread like the evaluation set
    frame = pd.concat([window_rows(f"w{i:02d}", s) for i, s in enumerate(windows)], ignore_index=True)
    report = estimate_windows(frame, threshold=0.5, metric="recall", evaluation_labels=calibrated[0],
                              evaluation_scores=calibrated[1], draws=1000)
    assert report.estimated and len(report.windows) == 40
    inside = []
    for scores, told in zip(windows, report.windows, strict=True):
        assert told.interval is not None
        labels = rng.random((200, scores.size)) < scores
        flagged = scores >= 0.5
        recall = (labels & flagged).sum(axis=1) / labels.sum(axis=1)
        inside.append((recall >= told.interval[0] - 1e-12) & (recall <= told.interval[1] + 1e-12))
    coverage = float(np.mean(np.concatenate(inside)))
    assert 0.93 <= coverage <= 0.975, coverage


def test_scores_squashed_toward_a_half_are_refused_with_the_figure() -> None:
    rng = np.random.default_rng(5)
    truth_chance = rng.beta(2, 3, 3000)
    labels = rng.random(3000) < truth_chance
    squashed = 0.5 + (truth_chance - 0.5) * 0.3
    frame = window_rows("w", 0.5 + (rng.beta(2, 3, 500) - 0.5) * 0.3)
    report = estimate_windows(frame, threshold=0.5, metric="recall", evaluation_labels=labels,
                              evaluation_scores=squashed)
    assert not report.estimated and report.windows[0].figure is None and report.windows[0].interval is None
    assert report.calibration.ece is not None and report.calibration.ece > MAX_ECE
    said = refusal(report.calibration)
    assert said is not None
    assert said.startswith("storybook does not estimate how the model does before the labels are in")
    assert f"{report.calibration.ece * 100:.3g} percentage points" in said
    assert "needs at most 5" in said


def test_too_few_evaluation_cases_or_a_stricter_story_tolerance_refuse(
        calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    labels, scores = calibrated
    frame = window_rows("w", scores[:300])
    few = estimate_windows(frame, threshold=0.5, metric="recall", evaluation_labels=labels[:60],
                           evaluation_scores=scores[:60])
    said = refusal(few.calibration)
    assert said is not None and "has 60 scored cases" in said and "at least 100" in said
    strict = estimate_windows(frame, threshold=0.5, metric="recall", evaluation_labels=labels,
                              evaluation_scores=scores, calibration_tolerance=0.001)
    said = refusal(strict.calibration)
    assert said is not None and "the story's own limit" in said


def test_labels_once_in_sit_beside_the_estimate_counted_by_hand(
        calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    rng = np.random.default_rng(21)
    first, second, third = rng.beta(2, 3, 800), rng.beta(2, 3.4, 800), rng.beta(2, 3.4, 600)
    first_labels = rng.random(800) < first
    partial = window_rows("2026-11-16", third[:200], rng.random(200) < third[:200])
    frame = pd.concat([window_rows("2026-11-02", first, first_labels), window_rows("2026-11-09", second),
                       partial, window_rows("2026-11-16", third[200:])], ignore_index=True)
    report = estimate_windows(frame, threshold=0.5, metric="recall", evaluation_labels=calibrated[0],
                              evaluation_scores=calibrated[1], costs=CostModel(cost_fp=1, cost_fn=5),
                              cost_unit="hours of specialist time", population=1000)
    labelled, waiting, part = report.windows
    tp = int((first_labels & (first >= 0.5)).sum())
    positives = int(first_labels.sum())
    assert labelled.realised is not None and labelled.realised.tp == tp and labelled.realised.positives == positives
    assert labelled.realised_figure == pytest.approx(tp / positives)
    fp = int((~first_labels & (first >= 0.5)).sum())
    assert labelled.realised_cost == pytest.approx((fp * 1 + (positives - tp) * 5) / 800 * 1000)
    flagged = second >= 0.5
    assert waiting.cost == pytest.approx(((1 - second[flagged]).sum() + 5 * second[~flagged].sum()) / 800 * 1000)
    assert waiting.realised is None and part.realised is None and part.labelled == 200 and part.cases == 600

    said = window_sentence(labelled, report, WORDS)
    assert said.startswith("In window 2026-11-02, the estimate was that of the patients who have cancer, ")
    assert f"the labels, now in, show {round(tp / positives * 100)} in 100 ({tp} of {positives} patients who " \
           "have cancer)." in said
    waiting_said = window_sentence(waiting, report, WORDS)
    assert "probably" in waiting_said and waiting_said.endswith(
        "from the scores of 800 patients; their labels are not in yet.")
    assert "labels for only 200 of them are in" in window_sentence(part, report, WORDS)
    assert "hours of specialist time per 1,000 patients" in (cost_sentence(waiting, report, WORDS) or "")
    assert "20 cases" not in method_sentence(report, WORDS)
    assert "3,000 patients of the evaluation set" in method_sentence(report, WORDS)


def test_guardrails_on_the_estimate_and_on_the_labels(calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    rng = np.random.default_rng(4)
    good = rng.beta(2.5, 2.5, 1000)  # recall near 0.7
    bad = rng.beta(2, 4, 1000)  # after "the scanner change": scores fall, recall near 0.35
    good_labels = rng.random(1000) < good
    frame = pd.concat([window_rows("before", good, good_labels), window_rows("after", bad)], ignore_index=True)
    on_estimate = EstimateGuard("estimated", lower=0.5)
    on_labels = EstimateGuard("realised", lower=0.5)
    report = estimate_windows(frame, threshold=0.5, metric="recall", evaluation_labels=calibrated[0],
                              evaluation_scores=calibrated[1], guards=(on_estimate, on_labels))
    before, after = report.windows
    assert [o.status for o in before.guards] == ["holds", "holds"]
    assert [o.status for o in after.guards] == ["broken", "not known"]
    assert after.interval is not None and after.interval[1] < 0.5
    said = guard_sentence(on_estimate, report, WORDS)
    assert said == ("The story asks that the estimated share of cases found be at least 50 in 100: broken in 1 of 2 "
                    "windows (after); kept in 1 of 2 windows.")
    assert guard_sentence(on_labels, report, WORDS) == (
        "The story asks that the share of cases found, as the labels show it, be at least 50 in 100: kept in 1 of 2 "
        "windows; not known yet in 1 of 2 windows (after).")
    # A range that reaches past the bound is "may be broken", never "broken".
    assert before.interval is not None
    inside = sum(before.interval) / 2
    middling = estimate_windows(window_rows("w", good), threshold=0.5, metric="recall",
                                evaluation_labels=calibrated[0], evaluation_scores=calibrated[1],
                                guards=(EstimateGuard("estimated", lower=inside),))
    told = middling.windows[0]
    assert told.interval == before.interval  # the same scores and seed give the same range
    assert told.guards[0].status == "may be broken"


def test_a_window_whose_scores_moved_away_from_the_evaluation_set_is_not_estimated(
        calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    """After a unit change every score is near 1: the evaluation set's calibration says nothing about such cases,
    so the window is told as not estimated (with its stability index), while its labels still count once in."""
    rng = np.random.default_rng(9)
    usual, moved = rng.beta(2, 3, 800), rng.uniform(0.97, 1.0, 800)
    moved_labels = rng.random(800) < 0.35
    frame = pd.concat([window_rows("usual", usual), window_rows("moved", moved, moved_labels)], ignore_index=True)
    guard = EstimateGuard("estimated", lower=0.5)
    report = estimate_windows(frame, threshold=0.5, metric="precision", evaluation_labels=calibrated[0],
                              evaluation_scores=calibrated[1], guards=(guard,))
    kept, dropped = report.windows
    assert kept.comparable and kept.shift < 0.1 and kept.interval is not None
    # By hand: shares of the evaluation set in ten bands against the moved window's (all in the top band).
    expected = np.histogram(np.minimum(calibrated[1], 0.999999), bins=10, range=(0, 1))[0] / calibrated[1].size
    actual = np.zeros(10)
    actual[9] = 1.0
    e, a = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    assert dropped.shift == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)
    assert not dropped.comparable and dropped.figure is None and dropped.interval is None
    assert dropped.guards[0].status == "not known"
    assert dropped.realised is not None and dropped.realised_figure == pytest.approx(moved_labels.mean())
    said = window_sentence(dropped, report, WORDS)
    assert said.startswith("In window moved, storybook does not estimate the share of flags that are right: the "
                           "scores of its 800 patients are spread unlike the evaluation set's")
    assert f"(population stability index {dropped.shift:.2f}; above 0.25 the two differ a lot)" in said
    assert "the labels, now in, show" in said
    # the same moved window with a part of its labels in: never "not in yet" while some are
    some = pd.concat([window_rows("usual", usual), window_rows("moved", moved[:300], moved_labels[:300]),
                      window_rows("moved", moved[300:])], ignore_index=True)
    partly = estimate_windows(some, threshold=0.5, metric="precision", evaluation_labels=calibrated[0],
                              evaluation_scores=calibrated[1]).windows[1]
    assert not partly.comparable and partly.realised is None and partly.labelled == 300
    told = window_sentence(partly, report, WORDS)
    assert told.endswith("; labels for only 300 of its 800 patients are in, too few of the window to tell what "
                         "they show.")
    assert "not in yet" not in told


def test_a_figure_not_made_of_counts_is_not_estimated(calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    with pytest.raises(ValueError, match="roc_auc"):
        estimate_windows(window_rows("w", calibrated[1][:100]), threshold=0.5, metric="roc_auc",
                         evaluation_labels=calibrated[0], evaluation_scores=calibrated[1])


def test_the_estimate_agrees_with_nannyml_cbpe(monkeypatch: pytest.MonkeyPatch) -> None:
    """NannyML's CBPE on the same reference and analysis data: the same expected recall per chunk (NannyML fits
    its own calibration on the reference set when the scores need it; these do not)."""
    monkeypatch.setenv("NML_DISABLE_USAGE_LOGGING", "1")
    nml = pytest.importorskip("nannyml")
    rng = np.random.default_rng(2)
    reference_scores = rng.beta(2, 3, 20000)
    reference_labels = rng.random(20000) < reference_scores
    chunks = [rng.beta(2, 3 + 0.2 * (i % 3), 1000) for i in range(6)]  # NannyML warns below 6 chunks
    analysis = np.concatenate(chunks)
    reference = pd.DataFrame({"y_pred_proba": reference_scores, "y_pred": (reference_scores >= 0.5).astype(int),
                              "y_true": reference_labels.astype(int)})
    frame = pd.DataFrame({"y_pred_proba": analysis, "y_pred": (analysis >= 0.5).astype(int)})
    estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", metrics=["recall"],
                         chunk_size=1000, problem_type="classification_binary")
    estimator.fit(reference)
    estimated = estimator.estimate(frame).to_df()
    theirs = estimated.loc[estimated[("chunk", "period")] == "analysis", ("recall", "value")].to_numpy()
    ours = estimate_windows(pd.concat([window_rows(f"w{i}", c) for i, c in enumerate(chunks)]), threshold=0.5,
                            metric="recall", evaluation_labels=reference_labels, evaluation_scores=reference_scores)
    mine = np.array([w.figure for w in ours.windows], dtype=np.float64)
    assert theirs.shape == (6,)
    # On calibrated reference scores NannyML keeps them as they are, and its expected counts are ours.
    assert np.allclose(mine, theirs, rtol=0, atol=1e-9), (mine, theirs)
    assert os.environ["NML_DISABLE_USAGE_LOGGING"] == "1"


def test_an_evaluation_set_told_from_an_aggregate_gives_the_same_estimates_as_its_rows(
        calibrated: tuple[npt.NDArray[np.bool_], Floats]) -> None:
    """A story told from an aggregate (issue 22) hands the cells: bins' lower edges, cases and sums."""
    from storybook.analyse.trust_checks.statistics import counted_reliability_curve

    labels, scores = calibrated
    frame = pd.DataFrame({"label": labels, "bin": np.minimum(np.floor(scores * K), K - 1).astype(int), "s": scores})
    cells = frame.groupby(["label", "bin"]).agg(n=("s", "size"), total=("s", "sum"), low=("s", "min"),
                                                high=("s", "max"), squares=("s", lambda s: float((s * s).sum())))
    cells = cells.reset_index()
    curve = counted_reliability_curve(cells["label"], cells["n"], cells["total"], cells["squares"], cells["low"],
                                      cells["high"])
    assert curve is not None
    rng = np.random.default_rng(3)
    windows = pd.concat([window_rows("a", rng.beta(2, 3, 700)), window_rows("b", rng.beta(2, 3.6, 700))],
                        ignore_index=True)
    from_rows = estimate_windows(windows, threshold=0.5, metric="recall", evaluation_labels=labels,
                                 evaluation_scores=scores)
    from_cells = estimate_windows(windows, threshold=0.5, metric="recall", evaluation_labels=cells["label"],
                                  evaluation_scores=cells["bin"] / K, evaluation_weights=cells["n"],
                                  evaluation_curve=curve)
    assert from_cells.calibration.ece == pytest.approx(from_rows.calibration.ece, abs=1e-12)
    assert from_cells.calibration.cases == from_rows.calibration.cases == 3000
    assert from_rows.estimated and from_cells.estimated
    for row_window, cell_window in zip(from_rows.windows, from_cells.windows, strict=True):
        assert cell_window.shift == pytest.approx(row_window.shift, abs=1e-12)
        assert cell_window.figure == pytest.approx(row_window.figure)
        assert cell_window.interval == row_window.interval
