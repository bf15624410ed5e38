"""storybook.analyse.decision_judge: how a ground's interval is judged against its bound (holds, fails, cannot
tell, exactly at the bound), the difference of two shares against Newcombe's published intervals, points told
the way the reader adds them, and the cost difference between two versions by bootstrap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from storybook.analyse.classification import Estimate, proportion
from storybook.analyse.costs import CostModel
from storybook.analyse.decision_judge import (
    Scored,
    cost_difference,
    difference,
    judge,
    judge_within,
    points_of,
    told_points,
)


@pytest.mark.parametrize(("low", "high", "at_least", "outcome"), [
    (0.70, 0.90, 0.70, "holds"),            # the low end exactly at the bound: reached
    (0.70 - 1e-13, 0.90, 0.70, "holds"),    # within floating-point rounding
    (0.69, 0.90, 0.70, "cannot tell"),      # straddles
    (0.50, 0.70, 0.70, "cannot tell"),      # the high end exactly at the bound: not clearly short
    (0.50, 0.6999, 0.70, "fails"),
    (None, 0.9, 0.70, "cannot tell"),       # no interval
])
def test_at_least(low: float | None, high: float, at_least: float, outcome: str) -> None:
    assert judge(low, high, at_least=at_least) == outcome


@pytest.mark.parametrize(("low", "high", "outcome"), [
    (0.10, 0.30, "holds"),        # the high end exactly at the bound
    (0.10, 0.3001, "cannot tell"),
    (0.30, 0.50, "cannot tell"),  # the low end exactly at the bound: not clearly over
    (0.3001, 0.50, "fails"),
])
def test_at_most(low: float, high: float, outcome: str) -> None:
    assert judge(low, high, at_most=0.30) == outcome


def test_judge_refuses_two_bounds_or_a_reversed_interval() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        judge(0.1, 0.2, at_least=0.1, at_most=0.3)
    with pytest.raises(ValueError, match="above its high end"):
        judge(0.3, 0.2, at_least=0.1)


@pytest.mark.parametrize(("low", "high", "outcome"), [
    (-0.20, 0.20, "holds"),        # both ends exactly at the tolerance
    (-0.05, 0.21, "cannot tell"),
    (0.20, 0.40, "cannot tell"),   # starts exactly at the tolerance: not clearly beyond
    (0.2001, 0.40, "fails"),
    (-0.40, -0.2001, "fails"),     # clearly beyond on the other side
    (None, None, "cannot tell"),
])
def test_within_a_tolerance(low: float | None, high: float | None, outcome: str) -> None:
    assert judge_within(low, high, 0.20) == outcome


@pytest.mark.parametrize(("first", "second", "low", "high"), [
    # Newcombe (1998), "Interval estimation for the difference between independent proportions", Table II,
    # method 10 (hybrid score), examples (a) to (d).
    ((56, 70), (48, 80), 0.0524, 0.3339),
    ((9, 10), (3, 10), 0.1705, 0.8090),
    ((6, 7), (2, 7), 0.0582, 0.8062),
    ((5, 56), (0, 29), -0.0381, 0.1926),
])
def test_difference_matches_newcombes_published_intervals(first: tuple[int, int], second: tuple[int, int],
                                                          low: float, high: float) -> None:
    result = difference(proportion(*first), proportion(*second))
    assert result.value == pytest.approx(first[0] / first[1] - second[0] / second[1])
    assert result.low == pytest.approx(low, abs=5e-5)
    assert result.high == pytest.approx(high, abs=5e-5)


def test_points_round_halves_up_so_a_difference_reads_like_its_parts() -> None:
    # 60/64 - 52/64 = 0.125: told as 94 and 81 in 100, so the difference must read 13, not round()'s 12.
    assert (points_of(60 / 64), points_of(52 / 64), points_of(60 / 64 - 52 / 64)) == (94, 81, 13)
    assert told_points(-0.125, up="better", down="worse") == "13 points worse"   # halves away from zero
    assert told_points(0.004, up="better", down="worse") == "no different"
    # The end of a range reads "anywhere from no difference to 3 points better", not "from no different".
    assert told_points(0.004, up="better", down="worse", noun=True) == "no difference"


def test_difference_without_an_interval_has_none() -> None:
    assert difference(Estimate(0.8, None, None, 10), proportion(5, 10)) == Estimate(0.8 - 0.5, None, None, 20)


def _scored(labels: list[bool], scores: list[float], name: str = "v") -> Scored:
    return Scored(name=name, labels=np.array(labels), scores=np.array(scores, dtype=np.float64), threshold=0.5,
                  groups=None, source=name)


def test_cost_difference_with_a_constant_gap_has_no_spread() -> None:
    # 50 negatives: the first version flags all of them (1 hour each), the second none. Every resample of
    # the same cases differs by exactly 1 hour per case, 1,000 per 1,000.
    ids = np.array([f"c{i}" for i in range(50)], dtype=np.str_)   # one label only: the ids say the same cases
    first = replace(_scored([False] * 50, [0.9] * 50), ids=ids)
    second = replace(_scored([False] * 50, [0.1] * 50), ids=ids)
    estimate, paired = cost_difference(CostModel(cost_fp=1, cost_fn=10), first, second, rounds=200, seed=3, per=1000)
    assert paired
    assert (estimate.value, estimate.low, estimate.high) == (1000.0, 1000.0, 1000.0)


def test_cost_difference_resamples_sets_of_other_cases_on_their_own() -> None:
    first = _scored([True, False, False, True], [0.9, 0.9, 0.1, 0.1])   # FP 1, FN 1: 11 hours in 4 cases
    second = _scored([False, True, False], [0.1, 0.9, 0.1])              # nothing wrong: 0
    estimate, paired = cost_difference(CostModel(cost_fp=1, cost_fn=10), first, second, rounds=500, seed=0, per=4)
    assert not paired
    assert estimate.value == pytest.approx(11.0)
    assert estimate.low is not None and estimate.high is not None
    assert 0.0 <= estimate.low < 11.0 < estimate.high <= 40.0   # at most 4 misses in 4 cases
    again, _ = cost_difference(CostModel(cost_fp=1, cost_fn=10), first, second, rounds=500, seed=0, per=4)
    assert again == estimate   # seeded
    none, _ = cost_difference(CostModel(cost_fp=1, cost_fn=10), first, second, rounds=0, seed=0, per=4)
    assert (none.low, none.high) == (None, None)
