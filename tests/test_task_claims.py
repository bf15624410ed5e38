"""Checked claims in regression and multiclass stories: metric claims on the logged figure with the card's
range, slice claims comparing the task's own slice figures (a regression story's average miss per group, a
multiclass story's share of right calls per group), each recomputed here by hand from the scored set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import mean_absolute_error
from typer.testing import CliRunner

from storybook.analyse.plain import format_number, format_percent, verdict
from storybook.analyse.story import analyse_story
from storybook.cli import app
from storybook.metrics.binary import proportion
from storybook.resolve.mlflow_source import MlflowSource
from storybook.sources.loader import StorySource, load_story
from tests.stores import (
    log_multiclass_run,
    log_regression_run,
    multiclass_evaluation,
    regression_evaluation,
    story,
    tracking_uri,
    write_project,
)

runner = CliRunner()


def _load(root: Path, model: str, metrics: list[dict[str, object]], evaluation: dict[str, object],
          slice_column: str, claims: list[dict[str, object]]) -> StorySource:
    write_project(root, {"s": story(model, "champion", metrics, evaluation, claims=claims,
                                    slices=[{"column": slice_column, "label": "Group"}])})
    return load_story(root, root / "stories" / "s")


def test_regression_claims_compare_the_average_miss_of_two_groups(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    run = log_regression_run(uri)
    mae = mean_absolute_error(run.truth, run.frame["predicted"])
    claims = [{"id": "older-no-worse", "says": "Older patients' forecasts miss no more than younger ones'.",
               "slice": "age_band", "group": "older", "no_worse_than": "younger"},
              {"id": "miss-small", "says": "The forecasts miss by at most 60 points on average.",
               "metric": "test_mae", "at_most": 60},
              {"id": "miss-tiny", "says": "The forecasts miss by at most 30 points on average.",
               "metric": "test_mae", "at_most": 30}]
    loaded = _load(tmp_path, "progression", [{"key": "test_mae", "label": "Average miss", "kind": "mae"}],
                   regression_evaluation(), "age_band", claims)
    analysis = analyse_story(loaded, MlflowSource(uri, tmp_path / ".cache").resolve(loaded))
    results = {c.spec.id: c for c in analysis.claims}
    assert results["miss-small"].status == "holds" and results["miss-tiny"].status == "fails"
    assert f"The run logged {format_number(mae, 3)}" in results["miss-small"].evidence
    # the groups' average misses, by hand, and the ranges the regression slice table gives them
    assert analysis.regression is not None
    groups = {g.value: g for g in analysis.regression.slices[0].groups}
    for name in ("older", "younger"):
        rows = run.frame["age_band"] == name
        by_hand = mean_absolute_error(run.frame.loc[rows, "actual"], run.frame.loc[rows, "predicted"])
        assert groups[name].mae.value is not None and abs(groups[name].mae.value - by_hand) < 1e-9
        assert groups[name].n == int(rows.sum())
        assert f"{name}: {format_number(by_hand)} points (between" in results["older-no-worse"].evidence
    judged = verdict(groups["older"].mae, groups["younger"].mae, higher_is_better=False)
    assert results["older-no-worse"].status == ("fails" if judged == "worse" else "holds")
    assert results["older-no-worse"].source == "the average miss by 'age_band' in the scored evaluation set"
    result = runner.invoke(app, ["build", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output


def test_multiclass_claims_compare_the_share_of_right_calls_of_two_groups(tmp_path: Path) -> None:
    uri = tracking_uri(tmp_path)
    run = log_multiclass_run(uri)
    claims = [{"id": "deep-no-worse", "says": "Deep wines are called right no less often than light ones.",
               "slice": "colour_band", "group": "deep", "no_worse_than": "light"}]
    loaded = _load(tmp_path, "cultivar", [{"key": "test_accuracy", "label": "Right calls",
                                           "kind": "multiclass_accuracy"}], multiclass_evaluation(), "colour_band",
                   claims)
    analysis = analyse_story(loaded, MlflowSource(uri, tmp_path / ".cache").resolve(loaded))
    (result,) = analysis.claims
    estimates = {}
    for name in ("deep", "light"):
        rows = (run.frame["colour_band"] == name).to_numpy()
        right = int(np.sum(run.frame["label"].to_numpy()[rows] == run.frame["predicted"].to_numpy()[rows]))
        estimates[name] = proportion(right, int(rows.sum()))
        told = estimates[name]
        assert (f"{name}: {format_percent(told.value)} (between {format_percent(told.low)} and "
                f"{format_percent(told.high)}, from {int(rows.sum()):,} cases)") in result.evidence
    judged = verdict(estimates["deep"], estimates["light"], higher_is_better=True)
    assert result.status == ("fails" if judged == "worse" else "holds")
    assert result.source == "the share of calls that are right by 'colour_band' in the scored evaluation set"
