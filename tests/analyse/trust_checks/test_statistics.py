"""storybook.analyse.trust_checks.statistics: the statistics behind the trust checks, against hand arithmetic and
scikit-learn: the reliability curve (calibration bands, ECE, Brier), the population stability index and the change
test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from storybook.analyse.trust_checks.statistics import detect_change, psi, reliability_curve

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
