"""cost_of_error: (sources/schema/cost.py): the task a story's costs are stated for, the two ways of stating binary
costs, and costs of mixed kinds or missing halves refused on the key at fault (and so on its line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from storybook.sources.schema.common import KeyedValueError
from storybook.sources.schema.cost import CostOfError
from tests.sources.schema.test_evaluation import MULTICLASS, REGRESSION, _load, _refused

OWNED = {"unit": "hours", "owner": "Head of clinic"}


def _refusal(costs: dict[str, Any]) -> tuple[str, tuple[str | int, ...] | None]:
    """The message of the one error ``costs`` raises, and the key path it names (None: the whole section)."""
    with pytest.raises(ValidationError) as caught:
        CostOfError.model_validate({**OWNED, **costs})
    (error,) = caught.value.errors()
    cause = error.get("ctx", {}).get("error")
    return error["msg"], cause.path if isinstance(cause, KeyedValueError) else None


@pytest.mark.parametrize(("costs", "shape"), [
    ({"false_positive": 1, "false_negative": 5}, "binary"),
    ({"ratio": 4}, "binary"),
    ({"over_forecast": 2, "under_forecast": 3, "tolerance": 5}, "regression"),
    ({"matrix": {"a": {"b": 1}}}, "multiclass"),
])
def test_the_shape_is_the_task_the_costs_are_stated_for(costs: dict[str, Any], shape: str) -> None:
    assert CostOfError.model_validate({**OWNED, **costs}).shape == shape


def test_a_ratio_counts_a_false_positive_as_one_and_a_false_negative_as_the_ratio() -> None:
    ratio = CostOfError.model_validate({**OWNED, "ratio": 4})
    assert (ratio.cost_fp, ratio.cost_fn) == (1.0, 4.0)
    stated = CostOfError.model_validate({**OWNED, "false_positive": 2, "false_negative": 7.5})
    assert (stated.cost_fp, stated.cost_fn) == (2.0, 7.5)


@pytest.mark.parametrize(("costs", "message", "path"), [
    ({"over_forecast": 1, "under_forecast": 2, "false_positive": 3},
     "false_positive states a binary cost, and these costs are regression ones", ("false_positive",)),
    ({"matrix": {"a": {"b": 1}}, "capacity": 10}, "capacity states a binary cost, and these costs are multiclass",
     ("capacity",)),
    ({"false_positive": 1, "false_negative": 2, "tolerance": 3},
     "tolerance states a regression cost, and these costs are binary ones", ("tolerance",)),
    ({"over_forecast": 1}, "give under_forecast: the cost of each unit a forecast is too low", ("under_forecast",)),
    ({"under_forecast": 1}, "give over_forecast: the cost of each unit a forecast is too high", ("over_forecast",)),
    ({"ratio": 3, "false_positive": 1}, "give either ratio, or false_positive and false_negative costs, not both",
     None),
    ({"false_positive": 1}, "give the cost of a false_positive and of a false_negative (or a ratio)", None),
    ({"ratio": 3, "capacity": 1001}, "capacity 1001 is more than the population 1000", None),
])
def test_costs_that_cannot_be_told_are_refused_on_the_key_at_fault(costs: dict[str, Any], message: str,
                                                                   path: tuple[str, ...] | None) -> None:
    said, named = _refusal(costs)
    assert message in said
    assert named == path


def test_a_capacity_equal_to_the_population_is_allowed() -> None:
    assert CostOfError.model_validate({**OWNED, "ratio": 3, "population": 500, "capacity": 500}).capacity == 500


def test_a_cost_of_another_kind_is_refused_on_its_own_line(tmp_path: Path) -> None:
    _refused(tmp_path, "false_positive states a binary cost", "false_positive", REGRESSION,
             cost_of_error={**OWNED, "over_forecast": 1, "under_forecast": 2, "false_positive": 3})


def test_an_unstated_wrong_call_is_refused_unless_said_to_cost_nothing(tmp_path: Path) -> None:
    cost = {"unit": "hours", "owner": "Head", "matrix": {"a": {"b": 1, "c": 2}, "b": {"a": 1, "c": 1}}}
    _refused(tmp_path, "calling one who is 'c' 'a' is not stated", "matrix", MULTICLASS, cost_of_error=cost)
    loaded = _load(tmp_path, MULTICLASS, cost_of_error={**cost, "unstated": "zero"})
    assert loaded.config.cost_of_error.shape == "multiclass"


def test_binary_costs_in_a_regression_story_are_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "binary costs and the story's task is regression", "cost_of_error", REGRESSION,
             cost_of_error={"unit": "pounds", "owner": "Finance", "false_positive": 1, "false_negative": 5})

