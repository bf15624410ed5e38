"""A regression model's versions are compared case by case only when storybook can tell they scored the same
cases: by the story's id column whatever the rows' order, never by position when the rows are in another
order and there are no ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.analyse.story import analyse_story
from storybook.resolve.mlflow_source import MlflowSource
from storybook.sources.loader import load_story
from tests.stores import _log_task_run, log_regression_run, regression_evaluation, story, tracking_uri, write_project


@pytest.mark.parametrize(("ids", "told"), [(True, "both versions scored the same cases, resampled together"),
                                           (False, "each version scored its own cases")])
def test_versions_in_another_row_order_are_paired_by_their_ids_only(tmp_path: Path, ids: bool, told: str) -> None:
    uri = tracking_uri(tmp_path)
    old = log_regression_run(uri, columns=["bmi", "s5"], alias="previous")
    new = log_regression_run(uri, columns=["bmi", "s5", "bp"], alias="champion", experiment="other")
    # version 3: version 2's model and set, the patients listed in reverse order
    _log_task_run(uri, new.model, new.frame.iloc[::-1].reset_index(drop=True), new.features,
                  {"test_mae": float((new.frame["predicted"] - new.frame["actual"]).abs().mean())},
                  experiment="progression", name="progression", alias="champion")
    evaluation = regression_evaluation(**({"id_column": "patient_id"} if ids else {}))
    write_project(tmp_path, {"s": story("progression", "champion",
                                        [{"key": "test_mae", "label": "Average miss", "kind": "mae"}], evaluation,
                                        history={"compare_with": "previous"})})
    loaded = load_story(tmp_path, tmp_path / "stories" / "s")
    report = analyse_story(loaded, MlflowSource(uri, tmp_path / ".cache").resolve(loaded)).history
    assert report is not None and report.side_by_side is not None
    assert (report.side_by_side.left.version, report.side_by_side.right.version) == (3, 1)
    _spec, left, right, _verdict, sentence = report.side_by_side.rows[0]
    assert left.estimate is not None and right.estimate is not None
    assert left.value == pytest.approx(float((new.frame["predicted"] - new.frame["actual"]).abs().mean()))
    assert old.frame["patient_id"].tolist() == new.frame["patient_id"].tolist()  # the same patients
    assert told in sentence
