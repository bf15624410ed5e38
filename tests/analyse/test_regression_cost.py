"""A regression story's cost of error (analyse/regression_cost.py) on hand-worked sets: the cost-minimising
adjustment, natural frequencies, the share of the cost each group carries, ranges, and too few cases."""

from __future__ import annotations

import pytest

from storybook.analyse import plain
from storybook.analyse.regression_cost import analyse_regression_cost
from storybook.metrics.binary import Estimate
from storybook.sources.schema import CostOfError, SliceSpec
from tests.analyse.test_regression import RULES, WORDS, _set


def test_cost_hand_worked() -> None:
    # Residuals (actual - forecast): -2, 1, 0, -4, 3, -2; too low costs 3 a point, too high 1: the costs ask for
    # at least 3/4 of outcomes at or below the plan: k = ceil(6 * 0.75) = 5, the 5th smallest residual is 1.
    scored = _set([10, 12, 8, 6, 14, 9], [12, 11, 8, 10, 11, 11], ward=["a", "a", "a", "b", "b", "b"])
    spec = CostOfError(unit="minutes", owner="the ward manager", over_forecast=1, under_forecast=3, tolerance=1.5,
                       population=100, bootstrap_rounds=200)
    found = analyse_regression_cost(spec, scored, [SliceSpec(column="ward", label="Ward")], WORDS, RULES)
    assert found.adjustment.adjustment.value == 1.0
    text = " ".join(found.sentences)
    assert text.startswith("Costs as stated by the ward manager (in minutes): a forecast that is too high costs 1 "
                           "for each of the points it is over, and one that is too low costs 3")
    # Residuals at or below 1: -2, 1, 0, -4, -2 -> 5 of 6 = 83 in 100, at least the 75 in 100 asked for.
    assert "the forecast plus 1 points: then 83 in 100 outcomes in the evaluation set fall at or below the plan, " \
           "where these costs ask for at least 75 in 100" in text
    # |error| <= 1.5: -1, 0 -> 2; too high by more: 2, 4, 2 -> 3; too low by more: -3 -> 1. Out of 100: 33, 50, 17.
    assert found.frequencies is not None
    assert (found.frequencies.within, found.frequencies.too_high, found.frequencies.too_low) == (33, 50, 17)
    assert ("Out of 100 forecasts as made, 33 are within 1.5 points of what happened, 50 are more than 1.5 points "
            "too high and 17 more than 1.5 points too low.") in text
    # Cost as forecast: too high 2+4+2 (ward a: 2; ward b: 4+2) at 1; too low 1+3 (a: 1; b: 3) at 3 -> a: 2 + 3 = 5,
    # b: 6 + 9 = 15, of 20 in all.
    ward_a, ward_b = found.slices[0].groups
    assert ward_a.share_of_cost == pytest.approx(0.25) and ward_b.share_of_cost == pytest.approx(0.75)
    assert ward_a.share_of_over_cost == pytest.approx(0.25) and ward_a.share_of_under_cost == pytest.approx(0.25)
    assert ward_b.cost_per == pytest.approx(5.0)
    assert found.slices[0].sentence == "By ward: the group 'b' carries 75% of the cost of the errors, with 50% of " \
                                       "the patients."


def test_cost_without_rounds_has_no_ranges_and_says_so() -> None:
    scored = _set([10, 12, 8, 6, 14, 9], [12, 11, 8, 10, 11, 11])
    spec = CostOfError(unit="minutes", owner="Planning", over_forecast=1, under_forecast=3, bootstrap_rounds=0)
    found = analyse_regression_cost(spec, scored, [], WORDS, RULES)
    text = " ".join(found.sentences)
    assert "(No range: set cost_of_error.bootstrap_rounds above 0 to allow for chance.)" in text
    assert "between" not in text


def test_a_saving_whose_range_reaches_below_zero_is_told_as_a_possible_loss() -> None:
    from storybook.analyse.regression_cost import _saving

    rules = plain.WordingRules()
    told = _saving(Estimate(500, -100, 2000, 100), "minutes", rules)
    assert told == "between 100 minutes lost and 2,000 minutes saved"
    assert _saving(Estimate(500, 100, 2000, 100), "minutes", rules) == "a saving of between 100 and 2,000 minutes"


def test_too_few_cases_to_tell_the_cost() -> None:
    scored = _set([10, 12, 8], [12, 11, 8])
    spec = CostOfError(unit="minutes", owner="Planning", over_forecast=1, under_forecast=3, tolerance=1)
    found = analyse_regression_cost(spec, scored, [], WORDS, plain.WordingRules(min_count=10))
    assert found.sentences[1:] == ("Too few cases to say what the forecasts cost or how to adjust them: only 3 "
                                   "patients were in the evaluation, and at least 10 are needed.",)
    assert found.frequencies is None  # no icon array either


def test_the_row_of_many_small_groups_is_never_named_as_carrying_the_cost() -> None:
    # 25 single-row groups with big misses beside one large group with small ones: past 20 groups, the smallest
    # are counted together in one row, which carries most of the cost but is not one group.
    actual = [10.0] * 45
    predicted = [11.0] * 20 + [40.0] * 25
    scored = _set(actual, predicted, shop=["big"] * 20 + [f"s{i:02d}" for i in range(25)])
    spec = CostOfError(unit="minutes", owner="Planning", over_forecast=1, under_forecast=1, bootstrap_rounds=50)
    found = analyse_regression_cost(spec, scored, [SliceSpec(column="shop", label="Shop")], WORDS, RULES)
    table = found.slices[0]
    assert table.merged > 0 and table.groups[-1].value.startswith("(")
    assert "(" not in table.sentence.split("carries")[0], table.sentence
