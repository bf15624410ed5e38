"""``storybook init`` and ``storybook new`` against real sqlite MLflow stores logged in different styles.

Binary stories (hand-logged; ``mlflow.sklearn.autolog()``; ``mlflow.models.evaluate``) are drafted, refused by the
build and by ``check`` while their placeholders stand, then filled in as a person would and built; their figures
are checked against what MLflow logged. Regression and multiclass runs are drafted, filled in and built the same way.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from typer.testing import CliRunner

from storybook.analyse.reconcile import measured_on_default
from storybook.cli import app
from storybook.commands.new import metric_kind
from storybook.review.check import check_project
from storybook.sources.loader import StorySource, load_project
from storybook.sources.placeholders import PLACEHOLDER
from tests import stores
from tests.stores import MODEL_REQUIREMENTS

runner = CliRunner()

FILL = {"title": "Which scans should a specialist see first?", "summary": "A model ranks scans for reading.",
        "audience": "Screening programme managers", "owner": "Screening analytics team",
        "primary": "Put likely malignant scans first in the reading queue.", "unit": "patients",
        "positive_means": "have a malignant tumour", "negative_means": "have a harmless tumour",
        "flagged_means": "put at the front of the queue", "target_means": "the progression score a year later",
        "amount_unit": "points", "means": "are of this kind"}
_QUOTED = re.compile(r'"\[storybook: to write\][^"]*"')


def _fill(text: str) -> str:
    """The draft as a person finishes it: each marked value written, each marked comment deleted."""
    lines = []
    for line in text.splitlines():
        if PLACEHOLDER in line:
            if _QUOTED.search(line):
                key = line.split(":", 1)[0].strip(" -") if ":" in line.split('"', 1)[0] else "-"
                line = _QUOTED.sub('"' + FILL.get(key, "Written by the screening team") + '"', line)
            else:
                line = line.split("#", 1)[0].rstrip()
        lines.append(line)
    return "\n".join(lines) + "\n"


def _fill_story(story: Path) -> None:
    for path in [story / "story.yaml", *story.glob("*.md")]:
        if path.suffix == ".md":
            path.write_text("Written by the people who answer for this model.\n")
        else:
            path.write_text(_fill(path.read_text()))


def _init(root: Path) -> None:
    result = runner.invoke(app, ["init", str(root), "--title", "Our models", "--tracking-uri",
                                 "sqlite:///mlflow.db", "--yes"])
    assert result.exit_code == 0, result.output


def _new(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["new", *args, "--project", str(root)])
    return result.exit_code, result.output


def _draft(root: Path, slug: str) -> dict[str, Any]:
    data = yaml.safe_load((root / "stories" / slug / "story.yaml").read_text())
    assert isinstance(data, dict)
    return data


# -- init ---------------------------------------------------------------------------------------------------


def test_init_writes_a_project_that_loads_and_asks_nothing_with_flags(tmp_path: Path) -> None:
    root = tmp_path / "project"
    result = runner.invoke(app, ["init", str(root), "--title", "Clinic models", "--tracking-uri",
                                 "sqlite:///mlflow/mlflow.db"])
    assert result.exit_code == 0, result.output
    config = (root / "storybook.yaml").read_text()
    assert config.startswith("# yaml-language-server: $schema=docs/schema/storybook.schema.json\n")
    project = load_project(root)
    assert project.config.title == "Clinic models" and project.config.tracking_uri == "sqlite:///mlflow/mlflow.db"
    assert project.stories == [] and (root / "stories").is_dir()
    ignored = (root / ".gitignore").read_text().splitlines()
    assert "site/" in ignored and ".storybook/" in ignored
    workflow = yaml.safe_load((root / ".github/workflows/storybook.yml").read_text())
    commands = [step.get("run", "") for step in workflow["jobs"]["storybook"]["steps"]]
    assert any(c.startswith("storybook check") for c in commands)
    assert any(c.startswith("storybook build") for c in commands)
    assert any("storybook review --base" in c for c in commands)
    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert hooks[0]["entry"] == "storybook check"
    # The schema the yaml-language-server line names is there, and the file it heads is valid by it.
    schema = json.loads((root / "docs/schema/storybook.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(config), schema)


def test_init_never_replaces_a_file_and_writes_nothing_then(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    result = runner.invoke(app, ["init", str(tmp_path), "--yes"])
    assert result.exit_code == 1
    assert ".gitignore" in result.output and "nothing was written" in result.output
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n"
    assert not (tmp_path / "storybook.yaml").exists() and not (tmp_path / ".github").exists()


def test_init_keeps_credentials_out_of_storybook_yaml(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path), "--yes", "--tracking-uri",
                                 "https://ana:s3cret@mlflow.example.org"])
    assert result.exit_code == 2 and "s3cret" not in result.output
    assert not (tmp_path / "storybook.yaml").exists()


def test_init_with_yes_reads_the_tracking_uri_from_the_environment(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert load_project(tmp_path).config.tracking_uri is None


# -- metric names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "task", "kind"), [
    ("test_recall", "binary", "recall"), ("recall_score", "binary", "recall"),
    ("training_precision_score", "binary", "precision"), ("roc_auc", "binary", "roc_auc"),
    ("cv_recall", "binary", "recall"), ("test_brier", "binary", "brier"), ("training_score", "binary", None),
    ("precision_recall_auc", "binary", None), ("log_loss", "binary", None), ("true_positives", "binary", None),
    ("accuracy_score", "multiclass", "multiclass_accuracy"), ("test_log_loss", "multiclass", "log_loss"),
    ("mean_absolute_error", "regression", "mae"), ("root_mean_squared_error", "regression", "rmse"),
    ("r2_score", "regression", "r2"), ("test_mean_error", "regression", "mean_error"),
    ("mean_squared_error", "regression", None), ("max_error", "regression", None),
])
def test_metric_names_map_to_the_kinds_of_the_task(key: str, task: Any, kind: str | None) -> None:
    assert metric_kind(key, task) == kind


# -- new: binary, hand-logged ------------------------------------------------------------------------------


def _hand_logged(root: Path) -> dict[str, float]:
    """Two versions of a breast-cancer model (champion, challenger), each with test metrics at its threshold
    param, a scored set with a site column, and a production series on the champion."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    uri = stores.tracking_uri(root)
    x_train, x_test, y_train, y_test = stores.breast_cancer()
    site = pd.DataFrame({"site": np.where(np.arange(len(x_test)) % 2 == 0, "North", "South")})
    logged: dict[str, float] = {}
    for alias, columns in (("champion", list(x_train.columns)), ("challenger", ["mean radius", "mean texture"])):
        model = LogisticRegression(max_iter=5000).fit(x_train[columns], y_train)
        scores = model.predict_proba(x_test[columns])[:, 1]
        metrics = {"test_recall": float(recall_score(y_test, scores >= 0.5)),
                   "test_precision": float(precision_score(y_test, scores >= 0.5)),
                   "test_roc_auc": float(roc_auc_score(y_test, scores))}
        run_id = stores.log_scored_run(uri, stores.scored_frame(y_test, scores, site), metrics=metrics,
                                       params={"threshold": "0.5"})
        if alias == "champion":
            logged = metrics
            with mlflow.start_run(run_id=run_id):
                for step, value in enumerate((0.31, 0.33, 0.30, 0.35)):
                    mlflow.log_metric("production_mean_score", value, step=step)
                for fold, value in enumerate((0.91, 0.93, 0.88)):
                    mlflow.log_metric("cv_recall", value, step=fold)
        with mlflow.start_run(run_id=run_id):  # a model to register
            mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                     name="model", input_example=x_test[columns].head(2))
        stores.register(uri, run_id, "screening", alias)
    return logged


def test_new_drafts_a_binary_story_that_builds_once_written_and_matches_mlflow(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    logged = _hand_logged(root)
    code, output = _new(root, "screening", "--model", "screening@champion")
    assert code == 0, output
    story = root / "stories" / "screening"
    assert sorted(p.name for p in story.iterdir()) == ["caveats-and-recommendations.md",
                                                       "ethical-considerations.md", "story.yaml"]
    text = (story / "story.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../docs/schema/story.schema.json\n")
    draft = _draft(root, "screening")
    assert draft["model"] == {"name": "screening", "alias": "champion"}
    assert {m["key"]: m["kind"] for m in draft["metrics"]} == {
        "cv_recall": "recall", "test_precision": "precision", "test_recall": "recall", "test_roc_auc": "roc_auc"}
    assert draft["metrics"][0]["label"] == "Share of positive cases the model finds (in cross-validation)"
    assert '# Logged per cross-validation fold (trust.model.folds can read one): "cv_recall"' in text
    evaluation = draft["evaluation"]
    assert (evaluation["task"], evaluation["artifact"], evaluation["label_column"], evaluation["score_column"],
            evaluation["positive_value"], evaluation["threshold_param"]) == (
        "binary", "evaluation/scored.csv", "label", "score", "1", "threshold")
    assert draft["slices"] == [{"column": "site", "label": "Site"}]
    assert draft["series"] == [{"key": "production_mean_score", "label": "Production mean score"}]
    assert draft["history"] == {"compare_with": "challenger"}

    # While the marks stand, the build and check both refuse, each on the first marked line.
    first_mark = next(n for n, line in enumerate(text.splitlines(), 1) if PLACEHOLDER in line)
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 1 and f"story.yaml:{first_mark}: story.yaml still holds a placeholder" in result.output
    report = check_project(root)
    marked = sorted((f.file.rsplit("/", 1)[-1], f.line) for f in report.findings if f.code == "placeholder")
    expected = sorted([("story.yaml", n) for n, line in enumerate(text.splitlines(), 1) if PLACEHOLDER in line]
                      + [("caveats-and-recommendations.md", 1), ("ethical-considerations.md", 1)])
    assert marked == expected and not report.ok

    _fill_story(story)
    schema = json.loads((root / "docs/schema/story.schema.json").read_text())  # the file its first line names
    jsonschema.validate(_draft(root, "screening"), schema)
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (root / "site" / "screening.html").read_text()
    for key, value in {**logged, "cv_recall": 0.88}.items():  # a fold history's summary is its last reading
        row = page.split(f'data-metric="{key}">', 1)[1].split("</tr>", 1)[0]
        assert row.startswith(f"{value:.4f}"), (key, row[:200])
    online = check_project(root, online=True)
    assert not [f for f in online.findings if f.code in ("figure-mismatch", "placeholder")], online.findings


def test_new_never_replaces_a_story_and_refuses_a_model_mlflow_lacks(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    _hand_logged(root)
    code, output = _new(root, "screening", "--model", "screening@nobody")
    assert code == 1 and "screening@nobody is not in the model registry" in output
    assert "champion" in output and not (root / "stories" / "screening").exists()
    (root / "stories" / "screening").mkdir(parents=True)
    (root / "stories" / "screening" / "ethical-considerations.md").write_text("Ours.\n")
    code, output = _new(root, "screening", "--model", "screening", "--version", "1")
    assert code == 1 and "ethical-considerations.md" in output and "nothing was written" in output
    assert (root / "stories" / "screening" / "ethical-considerations.md").read_text() == "Ours.\n"
    assert not (root / "stories" / "screening" / "story.yaml").exists()


# -- new: autolog and evaluate -----------------------------------------------------------------------------


def test_new_drafts_an_autolog_run_with_its_training_figures_told_as_training(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    run_id, recall = stores.autolog_run(stores.tracking_uri(root))
    code, output = _new(root, "autolog", "--run", run_id)
    assert code == 0, output
    draft = _draft(root, "autolog")
    assert draft["model"] == {"run_id": run_id}
    metrics = {m["key"]: m for m in draft["metrics"]}
    assert metrics["test_recall"]["kind"] == "recall" and "training" not in metrics["test_recall"]["label"]
    assert metrics["training_accuracy_score"]["kind"] == "accuracy"
    assert metrics["training_accuracy_score"]["label"].endswith("(on the training data)")
    # autolog's recall, precision and F1 average both classes weighted by their counts (its weighted recall is
    # its accuracy): told as the positive class's figures they would be wrong, so they are not drafted.
    logged = MlflowClient(stores.tracking_uri(root), stores.tracking_uri(root)).get_run(run_id).data.metrics
    assert logged["training_recall_score"] == pytest.approx(logged["training_accuracy_score"])
    assert not {"training_recall_score", "training_precision_score", "training_f1_score"} & set(metrics)
    assert "# Not drafted: training_f1_score, training_precision_score, training_recall_score" in (
        root / "stories/autolog/story.yaml").read_text()
    assert "training_log_loss" not in metrics and "training_score" not in metrics
    assert draft["evaluation"]["positive_value"] == "1" and "history" not in draft
    # No threshold param: the draft asks for the threshold instead of assuming one.
    line = next(line for line in (root / "stories/autolog/story.yaml").read_text().splitlines()
                if line.strip().startswith("threshold:"))
    assert PLACEHOLDER in line

    _fill_story(root / "stories" / "autolog")
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    page = (root / "site" / "autolog.html").read_text()
    assert page.split('data-metric="test_recall">', 1)[1].startswith(f"{recall:.4f}")
    report = check_project(root, online=True)
    assert not [f for f in report.findings if f.code == "figure-mismatch"], report.findings


def test_new_asks_which_value_is_positive_when_the_score_falls_with_it(tmp_path: Path) -> None:
    """evaluate_run logs the chance of class 0 as its score: the draft does not take 1 as the positive value."""
    root = tmp_path / "project"
    _init(root)
    run_id = stores.evaluate_run(stores.tracking_uri(root))
    code, output = _new(root, "evaluate", "--run", run_id)
    assert code == 0, output
    draft = _draft(root, "evaluate")
    assert draft["evaluation"]["positive_value"].startswith(PLACEHOLDER)
    kinds = {m["key"]: m["kind"] for m in draft["metrics"]}
    assert kinds == {"accuracy_score": "accuracy", "f1_score": "f1", "precision_score": "precision",
                     "recall_score": "recall", "roc_auc": "roc_auc"}


def test_new_drafts_an_evaluate_run_that_builds_and_matches_mlflow(tmp_path: Path) -> None:
    """mlflow.models.evaluate's figures of class 1, beside a scored set whose score is the chance of class 1."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    root = tmp_path / "project"
    _init(root)
    uri = stores.tracking_uri(root)
    x_train, x_test, y_train, y_test = stores.breast_cancer()
    model = LogisticRegression(max_iter=5000).fit(x_train, y_train)
    stores.use_experiment(uri, "evaluate")
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        info = mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                        name="model", input_example=x_test.head(3))
        data = x_test.assign(label=y_test.to_numpy())
        result = mlflow.models.evaluate(  # type: ignore[no-untyped-call]
            info.model_uri, data, targets="label", model_type="classifier", evaluators="default",
            evaluator_config={"log_model_explainability": False})
        path = Path(folder) / "scored.csv"
        stores.scored_frame(y_test, model.predict_proba(x_test)[:, 1]).to_csv(path, index=False)
        mlflow.log_artifact(str(path), "evaluation")
    code, output = _new(root, "evaluate", "--run", run.info.run_id)
    assert code == 0, output
    draft = _draft(root, "evaluate")
    assert draft["evaluation"]["positive_value"] == "1"
    _fill_story(root / "stories" / "evaluate")
    built = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert built.exit_code == 0, built.output
    page = (root / "site" / "evaluate.html").read_text()
    assert page.split('data-metric="recall_score">', 1)[1].startswith(f"{result.metrics['recall_score']:.4f}")
    report = check_project(root, online=True)
    assert not [f for f in report.findings if f.code == "figure-mismatch"], report.findings


def _builds_with_mlflow_figures(root: Path, slug: str, run_id: str) -> None:
    """The filled-in story builds; each metric's row on the page starts with the value MLflow holds, and check
    finds no figure the scored set contradicts."""
    from mlflow.tracking import MlflowClient

    story = load_project(root).stories[0]
    assert isinstance(story, StorySource), story
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    assert result.exit_code == 0, result.output
    uri = stores.tracking_uri(root)
    logged = MlflowClient(uri, uri).get_run(run_id).data.metrics
    page = (root / "site" / f"{slug}.html").read_text()
    for metric in story.config.metrics:
        row = page.split(f'data-metric="{metric.key}">', 1)[1].split("</tr>", 1)[0]
        assert row.startswith(f"{logged[metric.key]:.4f}"), (metric.key, row[:200])
    report = check_project(root, online=True)
    assert not [f for f in report.findings if f.code in ("figure-mismatch", "placeholder")], report.findings


# -- new: regression and multiclass ------------------------------------------------------------------------


def test_new_drafts_a_regression_story_from_a_regression_run(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    run = stores.log_regression_run(stores.tracking_uri(root))
    code, output = _new(root, "progression", "--model", "progression", "--version", str(run.version))
    assert code == 0, output
    draft = _draft(root, "progression")
    assert draft["model"] == {"name": "progression", "version": run.version}
    assert {m["key"]: m["kind"] for m in draft["metrics"]} == {
        "test_mae": "mae", "test_mean_error": "mean_error", "test_r2": "r2", "test_rmse": "rmse"}
    assert all(m.get("higher_is_better") is False for m in draft["metrics"] if m["kind"] in ("mae", "rmse"))
    evaluation = draft["evaluation"]
    assert (evaluation["task"], evaluation["actual_column"], evaluation["prediction_column"]) == (
        "regression", "actual", "predicted")
    assert evaluation["target_means"].startswith(PLACEHOLDER) and evaluation["amount_unit"].startswith(PLACEHOLDER)
    assert draft["slices"] == [{"column": "age_band", "label": "Age band"}]  # not patient_id: one row each
    assert draft["history"] == {}

    _fill_story(root / "stories" / "progression")
    _builds_with_mlflow_figures(root, "progression", run.run_id)


def test_new_drafts_a_multiclass_story_from_a_multiclass_run(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    run = stores.log_multiclass_run(stores.tracking_uri(root))
    code, output = _new(root, "cultivar", "--model", "cultivar@champion")
    assert code == 0, output
    draft = _draft(root, "cultivar")
    assert {m["key"]: m["kind"] for m in draft["metrics"]} == {
        "test_accuracy": "multiclass_accuracy", "test_log_loss": "log_loss"}
    evaluation = draft["evaluation"]
    assert evaluation["task"] == "multiclass" and evaluation["label_column"] == "label"
    assert [(c["value"], c["probability_column"]) for c in evaluation["classes"]] == [
        (value, f"p_{value}") for value in sorted(stores.WINE_CLASSES)]
    assert evaluation["prediction_column"] == "predicted"
    assert draft["slices"] == [{"column": "colour_band", "label": "Colour band"}]

    _fill_story(root / "stories" / "cultivar")
    _builds_with_mlflow_figures(root, "cultivar", run.run_id)


def test_new_reads_the_roles_log_scored_set_recorded(tmp_path: Path) -> None:
    """Columns named unlike any convention are found through the tag storybook.log_scored_set writes."""
    import mlflow

    import storybook

    root = tmp_path / "project"
    _init(root)
    uri = stores.tracking_uri(root)
    stores.use_experiment(uri, "tagged")
    hostile = 'ward"\nmodel: {run_id: deadbeef}\n# x'  # a column name is MLflow content: written, never obeyed
    frame = pd.DataFrame({"went_to_hospital": [0, 1, 0, 1, 1, 0] * 5,
                          "risk": [0.1, 0.8, 0.3, 0.6, 0.9, 0.2] * 5,
                          hostile: ["A", "B", "A", "B", "C", "C"] * 5})
    with mlflow.start_run() as run:
        mlflow.log_metric("test_recall", 1.0)
        storybook.log_scored_set(frame, label="went_to_hospital", score="risk", slices=[hostile])
    code, output = _new(root, "tagged", "--run", run.info.run_id)
    assert code == 0, output
    draft = _draft(root, "tagged")
    assert (draft["evaluation"]["label_column"], draft["evaluation"]["score_column"]) == ("went_to_hospital", "risk")
    assert draft["slices"][0]["column"] == hostile and draft["model"] == {"run_id": run.info.run_id}


def test_new_drafts_a_multiclass_set_that_logged_only_the_called_class(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    stores.log_multiclass_run(stores.tracking_uri(root), chances=False)
    code, output = _new(root, "cultivar", "--model", "cultivar@champion")
    assert code == 0, output
    evaluation = _draft(root, "cultivar")["evaluation"]
    assert evaluation["prediction_column"] == "predicted"
    assert [set(c) for c in evaluation["classes"]] == [{"value", "means"}] * 3


def test_new_says_what_it_could_not_find_and_the_story_waits_for_people(tmp_path: Path) -> None:
    """A run with no scored set and no metric storybook knows: the draft says so, and marks the metric to name."""
    import mlflow

    root = tmp_path / "project"
    _init(root)
    (root / "docs/schema/story.schema.json").unlink()  # a project made before storybook schema existed
    stores.use_experiment(stores.tracking_uri(root), "bare")
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 0.3)
    code, output = _new(root, "bare", "--run", run.info.run_id)
    assert code == 0, output
    text = (root / "stories/bare/story.yaml").read_text()
    assert "# No scored evaluation set found among the run's artifacts (the run has no CSV or Parquet table)." in text
    assert "evaluation" not in yaml.safe_load(text) and "storybook.log_scored_set" in text
    assert yaml.safe_load(text)["metrics"][0]["key"].startswith(PLACEHOLDER)
    assert json.loads((root / "docs/schema/story.schema.json").read_text())["title"]  # written again, being absent
    report = check_project(root)
    assert not report.ok and {f.code for f in report.errors} == {"placeholder"}


def test_new_refuses_a_model_named_two_ways_before_reading_mlflow(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _init(root)
    for args, words in ((["x", "--model", "m@champion", "--version", "2"], "not both"),
                        (["x", "--model", "m@champion", "--run", "0123abcd"], "one of them"),
                        (["x"], "one of them"), (["x", "--model", "m"], "which version of m?"),
                        (["Not A Slug", "--model", "m@champion"], "is not a story name"),
                        (["x", "--run", "not-hex"], "is not an MLflow run id")):
        code, output = _new(root, *args)
        assert code == 2 and words in output, (args, output)
    assert not (root / "mlflow.db").exists()  # nothing asked of MLflow


def test_new_never_shows_the_tracking_servers_credentials(tmp_path: Path) -> None:
    """A server that does not answer: the message names it without the password storybook.yaml points at."""
    root = tmp_path / "project"
    _init(root)
    config = (root / "storybook.yaml").read_text().replace(
        "tracking_uri: sqlite:///mlflow.db", "tracking_uri: http://ana:${SECRET}@127.0.0.1:9\ntracking_timeout: 1\n"
        "tracking_retries: 0")
    (root / "storybook.yaml").write_text(config)
    result = runner.invoke(app, ["new", "x", "--model", "m@champion", "--project", str(root)],
                           env={"SECRET": "s3cret-token"})
    assert result.exit_code == 1, result.output
    assert "MLflow at http://127.0.0.1:9 could not be reached" in result.output
    assert "s3cret-token" not in result.output
    assert not (root / "stories" / "x").exists()


def test_new_drafts_an_evaluate_regressor_run_whose_mean_names_are_its_evaluation_set(tmp_path: Path) -> None:
    """evaluate's mean_absolute_error starts with 'mean' but is measured on the data evaluate was given (not an
    average over folds): the built page reconciles it with the scored set."""
    import mlflow
    import mlflow.sklearn
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    import storybook

    root = tmp_path / "project"
    _init(root)
    uri = stores.tracking_uri(root)
    data = load_diabetes(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=0)
    model = Ridge(alpha=0.1).fit(x_train, y_train)
    stores.use_experiment(uri, "evaluate-regressor")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, pip_requirements=MODEL_REQUIREMENTS,
                                        name="model", input_example=x_test.head(3))
        result = mlflow.models.evaluate(  # type: ignore[no-untyped-call]
            info.model_uri, x_test.assign(progression=y_test.to_numpy()), targets="progression",
            model_type="regressor", evaluators="default", evaluator_config={"log_model_explainability": False})
        scored = pd.DataFrame({"actual": y_test.to_numpy(), "prediction": model.predict(x_test),
                               "sex_group": np.where(x_test["sex"].to_numpy() > 0, "one", "other")})
        storybook.log_scored_set(scored, task="regression", actual="actual", prediction="prediction")
    code, output = _new(root, "progression", "--run", run.info.run_id)
    assert code == 0, output
    draft = _draft(root, "progression")
    metrics = {m["key"]: m for m in draft["metrics"]}
    assert sorted(metrics) == ["mean_absolute_error", "r2_score", "root_mean_squared_error"]
    assert metrics["mean_absolute_error"]["kind"] == "mae"
    assert measured_on_default("mean_absolute_error") == measured_on_default("mean_error") == "evaluation"
    assert measured_on_default("mean_test_score") == "cross_validation"  # sklearn's search: an average over folds
    assert "(in cross-validation)" not in metrics["mean_absolute_error"]["label"]
    assert draft["evaluation"]["task"] == "regression"
    assert result.metrics["mean_absolute_error"] == pytest.approx(
        float(np.mean(np.abs(scored["actual"] - scored["prediction"]))))
    _fill_story(root / "stories" / "progression")
    _builds_with_mlflow_figures(root, "progression", run.info.run_id)


def test_new_leaves_out_a_metric_logged_as_no_number(tmp_path: Path) -> None:
    """A figure logged as NaN fails the story that reports it (storybook.resolve.readings.check_figures), so the
    draft does not offer it."""
    root = tmp_path / "project"
    _init(root)
    frame = pd.DataFrame({"label": [1, 0, 1, 0, 1, 0], "score": [0.9, 0.2, 0.7, 0.4, 0.6, 0.1]})
    run_id = stores.log_scored_run(stores.tracking_uri(root), frame,
                                   metrics={"test_recall": 1.0, "test_roc_auc": float("nan")})
    code, output = _new(root, "nan", "--run", run_id)
    assert code == 0, output
    assert [m["key"] for m in _draft(root, "nan")["metrics"]] == ["test_recall"]
