"""evaluation: (sources/schema/evaluation.py): evaluation.task decides which keys, metric kinds and claims a story may
have, each refused on its line. The costs each task takes are tested in test_cost.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storybook.errors import SourceError
from storybook.sources.loader import load_story
from tests.stores import story, write_project

REGRESSION = {"task": "regression", "target_means": "the score a year later", "amount_unit": "points"}
MULTICLASS = {"task": "multiclass", "classes": [{"value": v, "means": f"need {v}"} for v in ("a", "b", "c")],
              "prediction_column": "called"}


def _load(tmp_path: Path, evaluation: dict[str, Any], kind: str = "other", **more: Any) -> Any:
    root = write_project(tmp_path, {"s": story("m", "champion", [{"key": "k", "label": "K", "kind": kind}],
                                               evaluation, **more)})
    return load_story(root, root / "stories" / "s")


def _refused(tmp_path: Path, match: str, text: str, evaluation: dict[str, Any], **more: Any) -> None:
    with pytest.raises(SourceError, match=match) as caught:
        _load(tmp_path, evaluation, **more)
    lines = (tmp_path / "stories" / "s" / "story.yaml").read_text().splitlines()
    assert caught.value.location is not None
    assert text in lines[(caught.value.location.line or 0) - 1]


def test_binary_is_the_default_and_needs_its_plain_words(tmp_path: Path) -> None:
    _refused(tmp_path, "needs positive_means", "evaluation", {"negative_means": "no"})


def test_a_regression_story_loads_with_its_keys(tmp_path: Path) -> None:
    loaded = _load(tmp_path, REGRESSION, kind="mae")
    assert loaded.config.task == "regression" and loaded.config.evaluation.forecast_column == "prediction"


def test_a_binary_key_in_a_regression_story_is_refused_on_its_line(tmp_path: Path) -> None:
    _refused(tmp_path, "threshold belongs to a binary story", "threshold", {**REGRESSION, "threshold": 0.5})


def test_a_metric_kind_of_another_task_is_refused_on_its_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not fit a regression story") as caught:
        _load(tmp_path, REGRESSION, kind="recall")
    assert caught.value.location is not None
    lines = (tmp_path / "stories" / "s" / "story.yaml").read_text().splitlines()
    assert "kind" in lines[(caught.value.location.line or 0) - 1]


def test_multiclass_needs_three_classes(tmp_path: Path) -> None:
    _refused(tmp_path, "at least three classes", "classes",
             {**MULTICLASS, "classes": MULTICLASS["classes"][:2]})


def test_a_slice_claim_on_a_binary_share_in_a_regression_story_is_refused_on_its_line(tmp_path: Path) -> None:
    # every section is told for every task now; a slice claim compares a regression story's groups on their
    # average miss, never on a binary share it does not have
    claim = {"id": "c1", "says": "Women fare no worse.", "slice": "sex", "group": "F", "no_worse_than": "M"}
    _refused(tmp_path, "a slice claim of a regression story compares groups on mae, not 'recall'", "rate: recall",
             REGRESSION, claims=[{**claim, "rate": "recall"}])
    loaded = _load(tmp_path, REGRESSION, claims=[claim])
    assert loaded.config.claims[0].rate_for("regression") == "mae"
