"""A review diff of a regression story names what its analysis concluded differently: the cost-minimising
adjustment, the cost of the forecasts as they are, and each slice group's average miss (review/outcomes.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from storybook.analyse.card import ModelCard
from storybook.analyse.plain import Vocabulary, WordingRules
from storybook.analyse.regression import analyse_regression
from storybook.analyse.regression_cost import analyse_regression_cost
from storybook.analyse.story import StoryAnalysis
from storybook.metrics.regression import RegressionScores
from storybook.resolve.scored_regression import RegressionSet
from storybook.review.outcomes import analysis_outcomes
from storybook.sources.schema import CostOfError, SliceSpec

WORDS = Vocabulary(unit="patients", amount_unit="points")
RULES = WordingRules(min_count=3)
SLICES = [SliceSpec(column="ward", label="Ward")]
COSTS = CostOfError(unit="minutes", owner="Planning", over_forecast=1, under_forecast=3, bootstrap_rounds=200)


def _analysis(shift: float) -> StoryAnalysis:
    rng = np.random.default_rng(4)
    actual = rng.normal(100, 20, size=120)
    predicted = actual + rng.normal(0, 5, size=120) + shift
    scored = RegressionSet(RegressionScores(actual, predicted),
                           pd.DataFrame({"ward": np.where(np.arange(120) % 2, "a", "b")}))
    card = ModelCard(words=WORDS, threshold=None, threshold_source="", metrics=(), overall=None, slices=(),
                     training_data=(), evaluation_data=(), caveats=())
    return StoryAnalysis(card=card, cost=None,
                         regression=analyse_regression(scored, SLICES, WORDS, RULES, target_means="x",
                                                       min_slice_size=10),
                         regression_cost=analyse_regression_cost(COSTS, scored, SLICES, WORDS, RULES))


def test_a_forecast_that_moved_is_an_outcome_beyond_uncertainty() -> None:
    before, after = _analysis(0.0), _analysis(-30.0)  # the new forecasts run 30 points low
    changes = {c.what: c for c in analysis_outcomes(before, after)}
    moved = changes["cost-minimising adjustment of the forecast"]
    assert moved.kind == "outcome" and moved.beyond_uncertainty is True
    assert moved.old is not None and moved.new is not None and float(moved.new.split()[0]) > 25
    assert changes["cost per forecast as forecast (minutes)"].beyond_uncertainty is True
    assert changes["slice ward = a: average miss"].beyond_uncertainty is True
    assert "slice ward = a: cases" not in changes  # the same 60 patients
    assert analysis_outcomes(before, _analysis(0.0)) == []  # the same set tells nothing new
