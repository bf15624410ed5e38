"""The example's other stories, trained by `storybook example` into the same store as the screening one: a
regression on scikit-learn's diabetes data (with a production series that jumps by three orders of magnitude) and
a three-way student-support model on simulated students. Figures are recomputed from the logged sets with
scikit-learn, the page's and MLflow's."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    median_absolute_error,
    r2_score,
)
from typer.testing import CliRunner

from storybook import example_diabetes, example_students
from storybook.cli import app
from tests.conftest import REPO, copy_example_project

runner = CliRunner()
DIABETES = "diabetes-progression"
STUDENTS = "student-support"


def _client(project: Path) -> MlflowClient:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def _scored(client: MlflowClient, model: str) -> tuple[str, pd.DataFrame]:
    run_id = str(client.get_model_version_by_alias(model, "champion").run_id)
    return run_id, pd.read_csv(client.download_artifacts(run_id, "evaluation/scored.csv"))


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


@pytest.mark.parametrize("slug", [DIABETES, STUDENTS])
def test_the_repository_example_holds_the_story_with_its_human_sections(slug: str) -> None:
    assert (REPO / "stories" / slug / "story.yaml").is_file()
    for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
        assert len((REPO / "stories" / slug / name).read_text().split()) > 40, name


def test_the_diabetes_story_builds_and_its_figures_equal_sklearn(project_copy: Path) -> None:
    shutil.copytree(REPO / "stories" / DIABETES, project_copy / "stories" / DIABETES)
    result = runner.invoke(app, ["build", str(project_copy), "--story", DIABETES, "--pdf"])
    assert result.exit_code == 0, result.output
    page = _text((project_copy / "site" / f"{DIABETES}.html").read_text())

    client = _client(project_copy)
    run_id, scored = _scored(client, example_diabetes.MODEL_NAME)
    metrics = client.get_run(run_id).data.metrics
    actual, forecast = scored["actual"].to_numpy(), scored["prediction"].to_numpy()
    mae = mean_absolute_error(actual, forecast)
    # The logged figures are the logged set's own (forecasts to 2 decimals in both), so the page's "Logged value"
    # and "On the evaluation set" columns never show two numbers for one figure.
    assert metrics["test_mae"] == pytest.approx(mae, rel=1e-12)
    assert metrics["test_median_absolute_error"] == pytest.approx(median_absolute_error(actual, forecast), rel=1e-12)
    assert metrics["test_mean_error"] == pytest.approx(float((forecast - actual).mean()), rel=1e-9)
    median = median_absolute_error(actual, forecast)
    assert f"{median:.4f} the evaluation set {median:.4f} (" in page  # logged value, then the set's, in one row
    assert f"Average miss (MAE) {mae:.4f}" in page
    assert f"Median miss {median_absolute_error(actual, forecast):.4f}" in page
    assert f"R², against always forecasting the average {r2_score(actual, forecast):.4f}" in page
    inside = (actual >= scored["lower"]) & (actual <= scored["upper"])
    assert metrics["test_interval_coverage"] == pytest.approx(inside.mean())
    assert f"{inside.mean():.4f}" in page
    # The story's {{ evaluation.size | count }} counts the regression set's rows (not a binary set's).
    assert f"{round(inside.mean() * 100)}% of the {len(scored)} patients in testing" in page
    # The unit bug: the guardrail and the change detector both name the day the new scales arrived.
    shift = (example_diabetes.START + timedelta(days=example_diabetes.SHIFT_DAY - 1)).strftime("%-d %B %Y")
    assert re.search(rf"first broke its guardrails \(100 to 220\) on {shift}, reading [\d,]+;", page), page
    assert re.search(rf"changed on {shift}: about 1\d\d on average before, about [\d,]+ after", page)
    assert re.search(r"The model leans most on [a-z ()-]+: shuffling it raises the average miss by", page)
    pdf = project_copy / "site" / f"{DIABETES}.pdf"
    from pypdf import PdfReader

    assert "How far will each patient" in " ".join((PdfReader(pdf).pages[0].extract_text() or "").split())


def test_the_production_series_jumps_by_orders_of_magnitude_on_the_shift_day(trained_project: Path) -> None:
    client = _client(trained_project)
    run_id = str(client.get_model_version_by_alias(example_diabetes.MODEL_NAME, "champion").run_id)
    history = sorted(client.get_metric_history(run_id, "production_prediction_mean"), key=lambda m: m.step)
    assert [m.step for m in history] == list(range(1, example_diabetes.DAYS + 1))
    before = [m.value for m in history if m.step < example_diabetes.SHIFT_DAY]
    after = [m.value for m in history if m.step >= example_diabetes.SHIFT_DAY]
    assert min(before) > 100 and max(before) < 220  # within the story's guardrails until the new scales
    assert min(after) > 100 * max(before)
    day_ms = 24 * 3600 * 1000
    assert history[1].timestamp - history[0].timestamp == day_ms
    assert history[0].timestamp == int(example_diabetes.START.timestamp() * 1000)


def test_the_student_support_model_is_logged_in_the_shape_a_multiclass_story_reads(trained_project: Path) -> None:
    client = _client(trained_project)
    run_id, scored = _scored(client, example_students.MODEL_NAME)
    metrics = client.get_run(run_id).data.metrics
    classes = list(example_students.CLASSES)
    assert set(scored["label"]) == set(classes)
    chances = scored[[f"p_{c}" for c in classes]].to_numpy()
    assert np.allclose(chances.sum(axis=1), 1, rtol=0, atol=1e-12)
    called = np.asarray(classes)[chances.argmax(axis=1)]
    assert (scored["predicted"] == called).all()
    truth = scored["label"].to_numpy()
    assert metrics["test_accuracy"] == pytest.approx(accuracy_score(truth, called))
    assert metrics["test_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, called))
    assert metrics["test_macro_f1"] == pytest.approx(f1_score(truth, called, average="macro"))
    # sklearn orders the chance columns by sorted class name; the logged set keeps the story's order.
    order = sorted(classes)
    expected = log_loss(truth, scored[[f"p_{c}" for c in order]].to_numpy(), labels=order)
    assert metrics["test_log_loss"] == pytest.approx(expected)
    # Every group of the story's slices has enough students to say something about it.
    for column in ("school", "year_group"):
        assert scored[column].value_counts().min() >= 30, column
    assert {k: int(v) for k, v in client.get_registered_model(example_students.MODEL_NAME).aliases.items()} == {
        "champion": 1}


def test_the_student_support_story_builds_and_its_figures_equal_sklearn(project_copy: Path) -> None:
    shutil.copytree(REPO / "stories" / STUDENTS, project_copy / "stories" / STUDENTS)
    result = runner.invoke(app, ["build", str(project_copy), "--story", STUDENTS, "--pdf"])
    assert result.exit_code == 0, result.output
    html = (project_copy / "site" / f"{STUDENTS}.html").read_text()
    page = _text(html)
    assert "Which students need extra support, extra challenge, or neither?" in page
    client = _client(project_copy)
    run_id, scored = _scored(client, example_students.MODEL_NAME)
    metrics = client.get_run(run_id).data.metrics
    assert run_id in html
    truth, called = scored["label"].to_numpy(), scored["predicted"].to_numpy()
    # The prose's references: the model against always saying "neither", out of the evaluation's students.
    accuracy, baseline = accuracy_score(truth, called), float(np.mean(truth == "neither"))
    assert metrics["baseline_accuracy"] == pytest.approx(baseline)
    assert (f"right path for {accuracy:.0%} of the {len(scored)} students in testing, against {baseline:.0%} for "
            'always saying "neither"') in page
    # The confusion matrix, told per true class, equals scikit-learn's.
    from sklearn.metrics import confusion_matrix

    classes = list(example_students.CLASSES)
    counts = confusion_matrix(truth, called, labels=classes)
    means = {"support": "need extra support", "challenge": "need extra challenge", "neither": "need neither"}
    for i, name in enumerate(classes):
        row = " ".join(str(n) for n in counts[i])
        assert re.search(rf"{means[name]} {row} ", page), (name, row)
    # The cost matrix and the capacity the story states are told, and the rule that follows them saves time.
    assert "When the model says students who need extra support need neither, each costs 8." in page
    assert "The model may say at most 300 of every 1,000 students need extra support" in page
    assert re.search(r"Choosing by expected cost saves between [\d,]+ and [\d,]+ weeks of lost learning", page)
    assert re.search(r"The model leans most on [a-z ()-]+: shuffling it costs [\d.]+ points of accuracy", page)
    from pypdf import PdfReader

    pdf = project_copy / "site" / f"{STUDENTS}.pdf"
    assert "Which students need extra support" in " ".join((PdfReader(pdf).pages[0].extract_text() or "").split())


def test_storybook_example_trains_and_builds_every_story(tmp_path: Path) -> None:
    """What a user runs (and CI): one command trains the three models into one store and builds every story,
    page and PDF."""
    project = copy_example_project(tmp_path / "project", every_story=True)
    slugs = sorted(p.name for p in (REPO / "stories").iterdir() if (p / "story.yaml").is_file())
    assert {DIABETES, STUDENTS, "breast-cancer-screening"} <= set(slugs)
    result = runner.invoke(app, ["example", str(project)])
    assert result.exit_code == 0, result.output
    assert f"{len(slugs)} built, 0 failed, {len(slugs)} PDFs" in result.output, result.output
    client = _client(project)
    for model in ("breast-cancer-screening", example_students.MODEL_NAME, example_diabetes.MODEL_NAME):
        assert "champion" in client.get_registered_model(model).aliases, model
    index = (project / "site" / "index.html").read_text()
    for slug in slugs:
        assert f'href="{slug}.html"' in index, slug
        assert (project / "site" / f"{slug}.pdf").stat().st_size > 10_000, slug
