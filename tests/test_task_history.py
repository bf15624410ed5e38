"""The history of a regression or multiclass model: each version's figures with their ranges recomputed from
its own scored set (checked against scikit-learn), the versions compared on the task's figures (paired when both
scored the same cases), and the side by side told in the story's units."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from typer.testing import CliRunner

from storybook.analyse.story import analyse_story
from storybook.analyse.task_versions import told_value
from storybook.cli import app
from storybook.errors import SourceError
from storybook.metrics.binary import proportion
from storybook.resolve.mlflow_source import MlflowSource
from storybook.sources.loader import StorySource, load_story
from tests.stores import (
    _log_task_run,
    log_multiclass_run,
    log_regression_run,
    multiclass_evaluation,
    regression_evaluation,
    story,
    tracking_uri,
    write_project,
)

runner = CliRunner()


def _load(root: Path, model: str, metrics: list[dict[str, object]], evaluation: dict[str, object]) -> StorySource:
    write_project(root, {"s": story(model, "champion", metrics, evaluation, history={"compare_with": "previous"})})
    return load_story(root, root / "stories" / "s")


def _side_by_side_text(root: Path) -> str:
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (root / "site" / "s.html").read_text()
    body = page[page.index('<section id="history"'):]
    body = body[:body.index("</section>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_a_regression_models_versions_are_compared_on_the_average_miss(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    old = log_regression_run(uri, columns=["bmi", "s5"], alias="previous")
    new = log_regression_run(uri, alias="champion")
    loaded = _load(tmp_path, "progression", [{"key": "test_mae", "label": "Average miss", "kind": "mae"},
                                             {"key": "test_r2", "label": "Gain over the average", "kind": "r2"},
                                             {"key": "test_mean_error", "label": "Lean", "kind": "mean_error"}],
                   regression_evaluation())
    resolved = MlflowSource(uri, tmp_path / ".cache").resolve(loaded)
    assert resolved.history is not None and resolved.history.scored is not None
    assert set(resolved.history.scored["version"]) == {1, 2}
    report = analyse_story(loaded, resolved).history
    assert report is not None
    rows = {r.version: r for r in report.rows}
    maes = {1: mean_absolute_error(old.truth, old.frame["predicted"]),
            2: mean_absolute_error(new.truth, new.frame["predicted"])}
    for version in (1, 2):
        mae, r2, _lean = rows[version].figures
        assert mae.estimate is not None and mae.estimate.value == pytest.approx(maes[version], abs=1e-9)
        assert mae.estimate.low is not None and mae.estimate.high is not None
        assert mae.estimate.low < maes[version] < mae.estimate.high
        assert r2.estimate is not None and r2.estimate.value == pytest.approx(
            r2_score((old if version == 1 else new).truth, (old if version == 1 else new).frame["predicted"]))
    lean = rows[2].figures[2]  # a bias is worse either way off 0: told, never called better or worse
    assert lean.estimate is not None and lean.verdict is None
    assert lean.sentence.endswith("neither way is better in itself for this figure.")
    assert lean.sentence.startswith("Compared with version 1, the figure 'Lean' of version 2 is ")
    step = rows[2].figures[0]
    # the same patients in the same order: paired; version 2 minus version 1, lower is better for a miss
    assert "both versions scored the same cases, resampled together" in step.sentence
    assert f"the figure 'Average miss' is {told_value('mae', maes[2], 'points')} " in step.sentence
    assert f"for version 1, {told_value('mae', maes[1], 'points')} " in step.sentence
    gain = maes[1] - maes[2]
    assert told_value("mae", abs(gain), "points") + (" better" if gain > 0 else " worse") in step.sentence
    side = report.side_by_side
    assert side is not None and (side.left.version, side.right.version) == (2, 1)
    spec, left, right, verdict, sentence = side.rows[0]
    assert (left.value, right.value) == (pytest.approx(maes[2]), pytest.approx(maes[1]))
    assert verdict in ("better", "worse", "no clear difference")
    assert spec.key == "test_mae" and "For version 2 (champion" in sentence and "for version 1 (previous" in sentence
    text = _side_by_side_text(tmp_path)
    assert "Version 2 (champion) beside version 1 (previous)" in text
    assert f"the figure 'Average miss' is {told_value('mae', maes[2], 'points')}" in text


def test_a_multiclass_models_versions_are_compared_on_accuracy(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    old = log_multiclass_run(uri, columns=["alcohol", "ash"], alias="previous")
    new = log_multiclass_run(uri, alias="champion")
    loaded = _load(tmp_path, "cultivar", [{"key": "test_accuracy", "label": "Right calls",
                                           "kind": "multiclass_accuracy"}], multiclass_evaluation())
    resolved = MlflowSource(uri, tmp_path / ".cache").resolve(loaded)
    report = analyse_story(loaded, resolved).history
    assert report is not None
    rows = {r.version: r for r in report.rows}
    for version, run in ((1, old), (2, new)):
        right = int(np.sum(run.truth.to_numpy() == run.frame["predicted"].to_numpy()))
        assert right / len(run.truth) == pytest.approx(accuracy_score(run.truth, run.frame["predicted"]))
        estimate = rows[version].figures[0].estimate
        assert estimate is not None
        wilson = proportion(right, len(run.truth))
        assert (estimate.value, estimate.low, estimate.high) == pytest.approx((wilson.value, wilson.low, wilson.high))
    step = rows[2].figures[0]
    assert step.verdict in ("better", "no clear difference")  # thirteen measurements never call worse than two
    assert "both versions scored the same cases, resampled together" in step.sentence
    text = _side_by_side_text(tmp_path)
    assert "the figure 'Right calls' is" in text and "Version 2 (champion) beside version 1 (previous)" in text


def test_a_version_whose_set_lacks_the_forecasts_is_named_on_the_storys_line(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    old = log_regression_run(uri, alias="previous")
    renamed = old.frame.rename(columns={"predicted": "forecast"})
    _log_task_run(uri, old.model, renamed, old.features, {"test_mae": 1.0}, experiment="progression",
                  name="progression", alias="previous")  # version 2: the forecasts under another name
    log_regression_run(uri, alias="champion")  # version 3, the story's
    loaded = _load(tmp_path, "progression", [{"key": "test_mae", "label": "Average miss", "kind": "mae"}],
                   regression_evaluation())
    wanted = "prediction_column 'predicted' is not a column of the evaluation set 'evaluation/scored.csv' of version 2"
    with pytest.raises(SourceError, match=re.escape(wanted)) as caught:
        MlflowSource(uri, tmp_path / ".cache").resolve(loaded)
    lines = (tmp_path / "stories" / "s" / "story.yaml").read_text().splitlines()
    assert caught.value.location is not None
    assert "prediction_column: predicted" in lines[(caught.value.location.line or 0) - 1]
    assert "every version the history shows needs the same columns" in str(caught.value.hint)
