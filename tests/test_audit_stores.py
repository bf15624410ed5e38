"""Pages built from a real MLflow store shaped the way a team's store can be and the example's is not: two versions
tested on different splits of the same size and balance, each scored set written sorted by its label (no id
column), and a version that flags no case at the story's threshold, whose run logged scikit-learn's precision of
0 for it. The page must not call the two splits "the same cases", nor tell the 0 as a share of flagged cases."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import precision_score, recall_score
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.check import check_project
from tests import stores

THRESHOLD = 0.95


def _sorted_split(seed: int, top: float) -> pd.DataFrame:
    """60 cases, 20 positive, sorted by label as some teams write them; scores below ``top``."""
    rng = np.random.default_rng(seed)
    labels = np.array([0] * 40 + [1] * 20)
    scores = np.clip(0.35 * labels + rng.random(60) * 0.6, 0, 1) * top
    return pd.DataFrame({"label": labels, "score": scores.round(4)})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("audit") / "project"
    root.mkdir()
    uri = stores.tracking_uri(root)
    for seed, alias, top in ((1, "champion", 1.0), (2, "challenger", 0.9)):
        frame = _sorted_split(seed, top)
        flagged = frame["score"].to_numpy() >= THRESHOLD
        metrics = {"test_recall": float(recall_score(frame["label"], flagged)),
                   "test_precision": float(precision_score(frame["label"], flagged, zero_division=0))}
        run_id = stores.log_scored_run(uri, frame, metrics=metrics)
        client = MlflowClient(uri, uri)
        if seed == 1:
            client.create_registered_model("churn")
        version = client.create_model_version("churn", f"runs:/{run_id}/evaluation", run_id=run_id)
        client.set_registered_model_alias("churn", alias, version.version)
    evaluation = {"artifact": "evaluation/scored.csv", "positive_means": "leave", "negative_means": "stay",
                  "flagged_means": "called", "unit": "customers", "threshold": THRESHOLD}
    metrics = [{"key": "test_recall", "label": "Leavers found", "kind": "recall"},
               {"key": "test_precision", "label": "Calls that were right", "kind": "precision"}]
    stores.write_project(root, {"churn": stores.story(
        "churn", "challenger", metrics, evaluation,
        trust={"owner": "Analytics", "model": {"metric": "recall", "minimum": 0.0, "compare_with": "champion"}})})
    result = CliRunner().invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = html.unescape(re.sub(r"<[^>]+>", "", (root / "site" / "churn.html").read_text()))
    return root, re.sub(r"\s+", " ", page)


def test_two_splits_sorted_by_label_are_not_told_as_the_same_cases(built: tuple[Path, str]) -> None:
    _, page = built
    assert "both versions scored the same cases" not in page
    assert "(each version scored its own cases)" in page


def test_a_precision_with_no_case_flagged_is_not_told_as_a_share(built: tuple[Path, str]) -> None:
    root, page = built
    assert ("Calls that were right: There are no customers who are called in the evaluation, so this figure cannot "
            "be told. The run logged 0.0000, but there was nothing to count it among.") in page
    assert "Of the customers who are called, 0 in 100" not in page
    report = check_project(root, online=True)
    assert [(f.code, f.severity) for f in report.findings if f.code.startswith("figure-")] == [
        ("figure-untold", "error")]


@pytest.mark.parametrize(("value", "told"), [(float("nan"), "NaN (not a number)"), (float("inf"), "an infinity")])
def test_a_metric_logged_as_no_number_fails_its_story_on_its_line(tmp_path: Path, value: float, told: str) -> None:
    """A run whose figure came out as NaN (or an infinity, which MLflow's sqlite store keeps as the largest float):
    the page told "The value is nan." (or 1.8e+308); the story now fails with the metric's line and a fix."""
    root = tmp_path / "project"
    root.mkdir()
    uri = stores.tracking_uri(root)
    run_id = stores.log_scored_run(uri, _sorted_split(3, 1.0), metrics={"test_recall": 0.5, "test_lift": value})
    logged = MlflowClient(uri, uri).get_run(run_id).data.metrics["test_lift"]
    assert logged != logged or logged > 1e308   # what the store gives back
    metrics = [{"key": "test_recall", "label": "Found", "kind": "recall"},
               {"key": "test_lift", "label": "Lift", "kind": "other"}]
    evaluation = {"artifact": "evaluation/scored.csv", "positive_means": "leave", "negative_means": "stay",
                  "threshold": 0.5}
    story = stores.story("m", "champion", metrics, evaluation) | {"model": {"run_id": run_id}}
    stores.write_project(root, {"s": story})
    result = CliRunner().invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 1
    line = next(number for number, text in enumerate((root / "stories/s/story.yaml").read_text().splitlines(), 1)
                if text.strip() == "- key: test_lift")
    assert (f"stories/s/story.yaml:{line}: metric 'test_lift' is logged as {told} on run {run_id}: there is no "
            "figure to tell") in result.output


def test_a_regression_group_too_small_to_tell_shows_no_figure_in_its_table(tmp_path: Path) -> None:
    """A clinic with 4 patients: the sentence said "too few cases to say" while the table beside it gave its
    average miss with a 95% range resampled from those 4 patients."""
    root = tmp_path / "project"
    root.mkdir()
    rng = np.random.default_rng(5)
    actual = rng.normal(150, 50, 64).round(1)
    frame = pd.DataFrame({"actual": actual, "prediction": (actual + rng.normal(0, 40, 64)).round(1),
                          "clinic": ["North"] * 30 + ["South"] * 30 + ["Island"] * 4})
    run_id = stores.log_scored_run(stores.tracking_uri(root), frame, metrics={"test_mae": 30.0})
    evaluation = {"task": "regression", "artifact": "evaluation/scored.csv", "actual_column": "actual",
                  "prediction_column": "prediction", "unit": "patients", "target_means": "the score",
                  "amount_unit": "points"}
    story = stores.story("m", "champion", [{"key": "test_mae", "label": "Average miss", "kind": "mae",
                                            "higher_is_better": False, "measured_on": "other"}], evaluation,
                         slices=[{"column": "clinic", "label": "Clinic"}]) | {"model": {"run_id": run_id}}
    stores.write_project(root, {"r": story})
    result = CliRunner().invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (root / "site" / "r.html").read_text()
    row = page.split('data-group-mae="Island">', 1)[1].split("</tr>", 1)[0]
    assert row == "too few cases to say</td><td>too few cases to say</td>"
    assert "Island: too few cases to say (4 patients; at least 10 are needed)." in page
    # The evaluation-data section, empty before for a regression story without prose of its own.
    assert "<p>The model was tested on 64 patients whose outcome is known.</p>" in page
    north = page.split('data-group-mae="North">', 1)[1].split("</td>", 1)[0]
    assert north.startswith(f"{(frame['prediction'] - frame['actual']).abs()[:30].mean():.2f}")
