"""The trust: and decision: keys that depend on the story's task (sources/schema/task_fit.py), checked directly on
the parsed sections: each refusal names the key at fault (the loader turns that path into the key's line)."""

from __future__ import annotations

from typing import Any

import pytest

from storybook.metrics.kinds import Task
from storybook.sources.schema.common import KeyedValueError
from storybook.sources.schema.decision import DecisionSpec
from storybook.sources.schema.task_fit import check_decision_fits, check_trust_fits, judged_kinds
from storybook.sources.schema.trust import TrustSpec


def _trust(model: dict[str, Any] | None) -> TrustSpec:
    return TrustSpec.model_validate({"owner": "Analytics"} | ({"model": model} if model is not None else {}))


def _decision(kind: str, ground: dict[str, Any]) -> DecisionSpec:
    return DecisionSpec.model_validate({"question": "Switch?", "options": {"go": "switch", "no_go": "keep"},
                                        "criteria": [{"id": "c", kind: ground}]})


def _refused(check: Any, section: Any, task: Task) -> KeyedValueError:
    with pytest.raises(KeyedValueError) as caught:
        check(section, task)
    return caught.value


def test_judged_kinds_are_the_task_s_own_kinds_with_a_range_and_a_direction() -> None:
    assert judged_kinds("regression") == ("mae", "rmse", "median_absolute_error", "r2")
    assert judged_kinds("multiclass") == ("multiclass_accuracy", "balanced_accuracy")
    binary = judged_kinds("binary")
    assert "recall" in binary and "roc_auc" in binary and "mae" not in binary


def test_a_binary_story_keeps_its_default_recall_and_minimum() -> None:
    check_trust_fits(_trust(None), "binary")
    check_trust_fits(_trust({"metric": "precision", "minimum": 0.7}), "binary")


@pytest.mark.parametrize(("model", "message", "path"), [
    ({"metric": "mae", "maximum": 3}, "trust.model.metric is 'mae', a regression figure", ("trust", "model", "metric")),
    ({"maximum": 0.3}, "maximum is for multiclass and regression stories", ("trust", "model", "maximum")),
])
def test_a_binary_story_refuses_another_task_s_trust_keys(model: dict[str, Any], message: str,
                                                          path: tuple[str, ...]) -> None:
    error = _refused(check_trust_fits, _trust(model), "binary")
    assert message in str(error) and error.path == path


def test_a_regression_story_reads_a_lower_is_better_figure_against_a_maximum() -> None:
    check_trust_fits(_trust({"metric": "mae", "maximum": 4.5}), "regression")
    check_trust_fits(_trust({"metric": "r2", "minimum": 0.3}), "regression")   # higher is better: a minimum


@pytest.mark.parametrize(("model", "task", "message", "path"), [
    (None, "regression", "a regression story's trust needs model.metric: the figure the held-out check reads, one "
     "of mae, rmse, median_absolute_error, r2", ("trust",)),
    ({"metric": "recall"}, "multiclass", "trust.model.metric is 'recall', which a multiclass story cannot judge",
     ("trust", "model", "metric")),
    ({"metric": "mae"}, "regression", "for mae, lower is better: give maximum", ("trust", "model")),
    ({"metric": "mae", "maximum": 4, "minimum": 0.5}, "regression", "give maximum, not minimum",
     ("trust", "model", "minimum")),
    ({"metric": "balanced_accuracy", "maximum": 0.5}, "multiclass",
     "for balanced_accuracy, higher is better: give minimum, not maximum", ("trust", "model", "maximum")),
])
def test_trust_that_does_not_fit_the_task_is_refused_on_its_key(model: dict[str, Any] | None, task: Task,
                                                                message: str, path: tuple[str, ...]) -> None:
    error = _refused(check_trust_fits, _trust(model), task)
    assert message in str(error) and error.path == path


def test_a_regression_amount_may_have_a_margin_above_one_but_a_share_may_not() -> None:
    check_decision_fits(_decision("version_comparison", {"metric": "mae", "margin": 2.5}), "regression")
    error = _refused(check_decision_fits, _decision("version_comparison", {"metric": "recall", "margin": 2}),
                     "binary")
    assert "margin 2 is more than 1, and recall is a share" in str(error)
    assert error.path == ("decision", "criteria", 0, "version_comparison", "margin")


@pytest.mark.parametrize(("kind", "ground", "task", "message", "path"), [
    ("version_comparison", {"margin": 0.01}, "multiclass", "a multiclass story's version_comparison needs metric: "
     "one of multiclass_accuracy, balanced_accuracy", ("decision", "criteria", 0, "version_comparison")),
    ("version_comparison", {"metric": "mae"}, "binary", "the metric compared is 'mae', a regression figure",
     ("decision", "criteria", 0, "version_comparison", "metric")),
    ("slice_gap", {"slice": "site", "tolerance": 0.5}, "regression",
     "a regression story's results per group hold mae: give metric: mae", ("decision", "criteria", 0, "slice_gap")),
    ("slice_gap", {"slice": "site", "metric": "recall", "tolerance": 0.1}, "multiclass",
     "results per group hold multiclass_accuracy", ("decision", "criteria", 0, "slice_gap", "metric")),
    ("slice_gap", {"slice": "site", "metric": "mae", "tolerance": 2, "version": "compared"}, "regression",
     "told for its own version only; remove version: compared", ("decision", "criteria", 0, "slice_gap", "version")),
    ("slice_gap", {"slice": "site", "metric": "mae", "tolerance": 2}, "binary",
     "'mae' is not a figure of a binary story", ("decision", "criteria", 0, "slice_gap", "metric")),
    ("slice_gap", {"slice": "site", "tolerance": 1.5}, "binary", "tolerance 1.5 is more than 1, and recall is a share",
     ("decision", "criteria", 0, "slice_gap", "tolerance")),
])
def test_decision_grounds_that_do_not_fit_the_task_are_refused_on_their_key(
        kind: str, ground: dict[str, Any], task: Task, message: str, path: tuple[str | int, ...]) -> None:
    error = _refused(check_decision_fits, _decision(kind, ground), task)
    assert message in str(error) and error.path == path


def test_a_regression_slice_gap_on_the_average_miss_may_tolerate_more_than_one_unit() -> None:
    check_decision_fits(_decision("slice_gap", {"slice": "site", "metric": "mae", "tolerance": 3}), "regression")
