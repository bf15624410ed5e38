"""The multiclass cost of error (storybook.analyse.multiclass_cost) on small sets worked out by hand: the cost
matrix from the story, costs without probabilities, unstated cells, a rule that changes nothing, a limit kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.multiclass import analyse_multiclass
from storybook.analyse.multiclass_cost import cost_matrix
from storybook.sources.schema import CostOfError
from tests.analyse.test_multiclass import CLASSES, COSTS, WORDS, _frame, _set, _story


def test_the_cost_matrix_is_read_in_the_story_class_order(tmp_path: Path) -> None:
    source = _story(tmp_path, cost={"matrix": COSTS})
    spec = source.config.cost_of_error
    assert isinstance(spec, CostOfError) and source.config.evaluation is not None
    matrix = cost_matrix(spec, tuple(source.config.evaluation.classes or ()))
    assert matrix.tolist() == [[0, 10, 8], [2, 0, 3], [1, 1, 0]]
    assert tuple(c.value for c in source.config.evaluation.classes or ()) == CLASSES
    assert np.diagonal(matrix).tolist() == [0, 0, 0]


def test_without_probabilities_the_calls_are_costed_as_made(tmp_path: Path) -> None:
    source = _story(tmp_path, chances=False, cost={"matrix": COSTS})
    frame = pd.DataFrame({"label": ["support"] * 10 + ["neither"] * 10,
                          "predicted": ["support"] * 8 + ["neither"] * 2 + ["neither"] * 9 + ["support"]})
    result = analyse_multiclass(source, _set(source, frame), WORDS)
    cost = result.cost
    assert cost is not None and cost.rule is None
    # By hand: 2 students who need support taken for neither (8 each), 1 who needs neither for support (1): 17
    # hours over 20 students, 850 per 1,000.
    assert cost.calls_cost.value == pytest.approx(850.0)
    assert "cannot choose calls by expected cost" in cost.comparison[0]
    assert [c.by_rule for c in cost.counts] == [None, None, None]
    assert [c.most_likely for c in cost.counts] == [450, 0, 550]
    assert result.performance.log_loss is None and result.performance.calibration == ()


def test_unstated_mistakes_counted_free_are_said_to_be(tmp_path: Path) -> None:
    source = _story(tmp_path, cost={"matrix": {"support": {"neither": 8}}, "unstated": "zero"})
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("neither", 0.2, 0.1, 0.7)] * 12
    cost = analyse_multiclass(source, _set(source, _frame(rows)), WORDS).cost
    assert cost is not None
    assert "When the model says students who need extra support need neither, each costs 8." in cost.prices
    assert ("When the model says students who need neither need extra support, each costs nothing (not stated; "
            "the story counts unstated mistakes as free).") in cost.prices


def test_each_price_is_told_from_the_true_class_to_the_call_in_the_cost_unit(tmp_path: Path) -> None:
    source = _story(tmp_path, cost={"matrix": COSTS})
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("neither", 0.2, 0.1, 0.7)] * 12
    cost = analyse_multiclass(source, _set(source, _frame(rows)), WORDS).cost
    assert cost is not None
    # COSTS: a student who needs extra challenge said to need extra support costs 2; the other way round, 10.
    assert cost.prices == (
        "When the model says students who need extra support need extra challenge, each costs 10.",
        "When the model says students who need extra support need neither, each costs 8.",
        "When the model says students who need extra challenge need extra support, each costs 2.",
        "When the model says students who need extra challenge need neither, each costs 3.",
        "When the model says students who need neither need extra support, each costs 1.",
        "When the model says students who need neither need extra challenge, each costs 1.",
    )


def test_a_rule_that_changes_no_call_saves_nothing(tmp_path: Path) -> None:
    zero_one = {t: {c: 1 for c in CLASSES if c != t} for t in CLASSES}
    source = _story(tmp_path, cost={"matrix": zero_one})
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("neither", 0.2, 0.1, 0.7)] * 10 + [("neither", 0.5, 0.2, 0.3)] * 2
    cost = analyse_multiclass(source, _set(source, _frame(rows)), WORDS).cost
    assert cost is not None and cost.rule is not None
    assert cost.rule.calls.tolist() == cost.rule.most_likely.tolist()
    assert "Here both ways make the same calls: choosing by expected cost saves nothing." in cost.comparison
    # The cost of the most likely class: 2 of 24 calls wrong, 1 hour each.
    assert cost.calls_cost.value == pytest.approx(2 / 24 * 1000)


def test_a_limit_the_most_likely_class_keeps_is_not_said_to_be_broken(tmp_path: Path) -> None:
    source = _story(tmp_path, cost={"matrix": COSTS, "class_capacity": {"support": 600}})
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("neither", 0.2, 0.1, 0.7)] * 12
    cost = analyse_multiclass(source, _set(source, _frame(rows)), WORDS).cost
    assert cost is not None
    assert cost.counts[0].limit == 600 and cost.counts[0].most_likely == 500
    # By hand: one who needs neither, with chances (.2, .1, .7), expects .1 x 2 + .7 x 1 = 0.9 hours if taken for
    # support and .2 x 8 + .1 x 3 = 1.9 if not: the rule takes as many as the limit allows, 14 of 24 (0.6 x 24).
    assert cost.rule is not None and cost.rule.calls_per_class == (14, 0, 10)
    assert cost.capacity == ("The model may say at most 600 of every 1,000 students need extra support (the "
                             "story's limit). Taking the most likely class says so of 500; choosing by expected "
                             "cost within the limit says so of 583.",)
    assert not any("breaks the limit" in line for line in cost.comparison)


def test_who_carries_the_cost_per_group_worked_out_by_hand(tmp_path: Path) -> None:
    source = _story(tmp_path, cost={"matrix": COSTS}, slices=[{"column": "school", "label": "School"}])
    # North: 12 who need support, 4 of them taken for neither (8 hours each): 32 / 12 x 1,000 = 2,667 per 1,000.
    # South: 12 who need neither, all right: 0. Both below the default min_slice_size of 30: shown, not compared.
    rows = [("support", 0.8, 0.1, 0.1)] * 8 + [("support", 0.3, 0.1, 0.6)] * 4 + [("neither", 0.1, 0.1, 0.8)] * 12
    frame = _frame(rows, ["North"] * 12 + ["South"] * 12)
    cost = analyse_multiclass(source, _set(source, frame), WORDS).cost
    assert cost is not None and cost.rule is not None
    (table,) = cost.slices
    north, south = table.groups
    assert (north.value, north.n, north.small) == ("North", 12, True)
    assert north.as_made.value == pytest.approx(32 / 12 * 1000) and south.as_made.value == 0.0
    # The rule takes the four (.3, .1, .6) students for support: .1 x 2 + .6 x 1 = 0.8 hours expected, against
    # .3 x 8 + .1 x 3 = 2.7 if left in neither; so it costs them nothing on their true class.
    assert north.by_rule is not None and north.by_rule.value == 0.0
    assert table.sentence == ("Fewer than 2 school groups have at least 30 students, so storybook does not compare "
                              "what their calls cost.")


def test_limits_too_costly_to_place_exactly_are_refused_on_their_line(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from storybook.errors import SourceError
    from storybook.metrics import multiclass

    source = _story(tmp_path, cost={"matrix": COSTS, "class_capacity": {"support": 100, "challenge": 100}})
    rows = [("support", 0.6, 0.1, 0.3)] * 12 + [("challenge", 0.2, 0.7, 0.1)] * 12
    monkeypatch.setattr(multiclass, "PLACED_AT_MOST", 5)
    with pytest.raises(SourceError, match="cannot be worked out exactly") as caught:
        analyse_multiclass(source, _set(source, _frame(rows)), WORDS)
    lines = (source.directory / "story.yaml").read_text().splitlines()
    assert caught.value.location is not None and "class_capacity:" in lines[caught.value.location.line - 1]
