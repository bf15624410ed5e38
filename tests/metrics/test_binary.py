"""storybook.metrics.binary (and the shares of storybook.metrics.kinds): confusion counts, Wilson intervals,
ROC AUC with its Hanley-McNeil interval, Brier score, against hand arithmetic and scikit-learn.

The hand table (10 rows, 4 positives; scores 0.7 and 0.4 each appear twice, once per class):

    row    0    1    2    3    4    5    6    7    8    9
    score  0.95 0.7  0.7  0.6  0.4  0.4  0.3  0.2  0.1  0.05
    label  1    1    0    0    1    0    0    1    0    0

At threshold 0.5 (flag when score >= 0.5) rows 0-3 are flagged:
    tp = rows 0, 1        = 2      fp = rows 2, 3             = 2
    fn = rows 4, 7        = 2      tn = rows 5, 6, 8, 9       = 4
At threshold 0.7 (ties at 0.7 are flagged): rows 0-2 flagged: tp 2, fp 1, fn 2, tn 5.
At threshold 0.4 (ties at 0.4 flagged): rows 0-5 flagged: tp 3, fp 3, fn 1, tn 3.

ROC AUC by counting the 4 x 6 = 24 (positive, negative) pairs, a tie counting one half:
    positive 0.95 beats all 6 negatives                                    6
    positive 0.7  beats 0.6, 0.4, 0.3, 0.1, 0.05 and ties 0.7              5.5
    positive 0.4  beats 0.3, 0.1, 0.05 and ties 0.4                        3.5
    positive 0.2  beats 0.1, 0.05                                          2
    total 17 of 24                                                         AUC = 17/24 = 0.708333...

Brier score: squared gaps (score - label)^2
    0.0025 0.09 0.49 0.36 0.36 0.16 0.09 0.64 0.01 0.0025   sum 2.205   mean 0.2205
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, confusion_matrix, roc_auc_score

from storybook.metrics.binary import (
    Confusion,
    auc_estimate,
    brier_score,
    confusion_at,
    proportion,
    roc_auc,
    wilson_interval,
)
from storybook.metrics.kinds import rate

SCORES = np.array([0.95, 0.7, 0.7, 0.6, 0.4, 0.4, 0.3, 0.2, 0.1, 0.05])
LABELS = np.array([1, 1, 0, 0, 1, 0, 0, 1, 0, 0], dtype=bool)


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0.5, Confusion(tp=2, fp=2, tn=4, fn=2)),
        (0.7, Confusion(tp=2, fp=1, tn=5, fn=2)),
        (0.4, Confusion(tp=3, fp=3, tn=3, fn=1)),
        (0.0, Confusion(tp=4, fp=6, tn=0, fn=0)),
        (1.0, Confusion(tp=0, fp=0, tn=6, fn=4)),
    ],
)
def test_confusion_on_the_hand_table(threshold: float, expected: Confusion) -> None:
    assert confusion_at(LABELS, SCORES, threshold) == expected


def test_confusion_totals() -> None:
    c = confusion_at(LABELS, SCORES, 0.5)
    assert (c.n, c.positives, c.negatives, c.flagged) == (10, 4, 6, 4)


def _sklearn_counts(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Confusion:
    tn, fp, fn, tp = confusion_matrix(labels, scores >= threshold, labels=[False, True]).ravel()
    return Confusion(tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_agrees_with_sklearn_including_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 200).astype(bool)
    scores = np.round(rng.random(200), 1)  # one decimal: many ties, and thresholds that hit them exactly
    for threshold in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1):
        assert confusion_at(labels, scores, threshold) == _sklearn_counts(labels, scores, threshold)


def test_rates_from_the_hand_table() -> None:
    c = confusion_at(LABELS, SCORES, 0.5)
    assert rate("recall", c).value == pytest.approx(2 / 4)
    assert rate("precision", c).value == pytest.approx(2 / 4)
    assert rate("specificity", c).value == pytest.approx(4 / 6)
    assert rate("accuracy", c).value == pytest.approx(6 / 10)
    assert rate("false_positive_rate", c).value == pytest.approx(2 / 6)
    assert rate("false_negative_rate", c).value == pytest.approx(2 / 4)
    assert rate("specificity", c).n == 6 and rate("specificity", c).successes == 4
    with pytest.raises(ValueError, match="not a proportion"):
        rate("roc_auc", c)


# Wilson by hand, z = 1.959964 (z^2 = 3.841459):
#   8/10: p = 0.8, z^2/n = 0.384146, denominator 1.384146
#         centre = (0.8 + 0.192073) / 1.384146 = 0.716739
#         half   = 1.959964 * sqrt(0.8 * 0.2 / 10 + 3.841459 / 400) / 1.384146
#                = 1.959964 * sqrt(0.016 + 0.009604) / 1.384146 = 0.226576
#         interval (0.490162, 0.943315)
#   1/2:  p = 0.5, z^2/n = 1.920729, denominator 2.920729, centre = 0.5 (symmetric)
#         half = 1.959964 * sqrt(0.125 + 0.240182) / 2.920729 = 0.405553 -> (0.094531, 0.905469)
@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(8, 10, 0.4902, 0.9433), (1, 2, 0.0945, 0.9055), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (0, 0, 0.0, 1.0)],
)
def test_wilson_interval_against_hand_values(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, n)
    assert round(got_low, 4) == low
    assert round(got_high, 4) == high


def test_wilson_bounds_are_exact_at_the_extremes() -> None:
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(1, 1)[1] == 1.0


def test_proportion_with_nothing_counted() -> None:
    estimate = proportion(0, 0)
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (None, None, None, 0)
    assert estimate.width is None
    assert proportion(8, 10).width == pytest.approx(0.943315 - 0.490162, abs=1e-5)


def test_roc_auc_on_the_hand_table() -> None:
    assert roc_auc(LABELS, SCORES) == pytest.approx(17 / 24)
    assert roc_auc(LABELS, SCORES) == pytest.approx(roc_auc_score(LABELS, SCORES))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_agrees_with_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300).astype(bool)
    scores = np.round(rng.random(300) * 0.5 + labels * 0.3, 1)
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_roc_auc_all_tied_is_one_half() -> None:
    assert roc_auc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)


@pytest.mark.parametrize("labels", [[1, 1, 1], [0, 0, 0], []])
def test_roc_auc_is_none_without_both_classes(labels: list[int]) -> None:
    assert roc_auc(labels, [0.5] * len(labels)) is None
    estimate = auc_estimate(labels, [0.5] * len(labels))
    assert estimate.value is None and estimate.n == len(labels)


def test_auc_estimate_hanley_mcneil_by_hand() -> None:
    # A = 17/24 = 0.708333, A^2 = 0.501736, n_pos = 4, n_neg = 6
    # Q1 = A / (2 - A) = 0.548387          (n_pos - 1)(Q1 - A^2) = 3 * 0.046651 = 0.139953
    # Q2 = 2 A^2 / (1 + A) = 0.587398      (n_neg - 1)(Q2 - A^2) = 5 * 0.085662 = 0.428312
    # A (1 - A) = 0.206597
    # variance = (0.206597 + 0.139953 + 0.428312) / 24 = 0.032286; sqrt 0.179683; half = 1.959964 * 0.179683
    #          = 0.352172 -> low 0.356161, high 1.060505 clipped to 1
    estimate = auc_estimate(LABELS, SCORES)
    assert estimate.value == pytest.approx(17 / 24)
    assert estimate.low == pytest.approx(0.356161, abs=1e-5)
    assert estimate.high == 1.0
    assert estimate.n == 10


def test_brier_score_by_hand_and_against_sklearn() -> None:
    assert brier_score(LABELS, SCORES) == pytest.approx(0.2205)
    assert brier_score(LABELS, SCORES) == pytest.approx(brier_score_loss(LABELS, SCORES))
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 100)
    scores = rng.random(100)
    assert brier_score(labels, scores) == pytest.approx(brier_score_loss(labels, scores))
    assert brier_score([], []) is None
