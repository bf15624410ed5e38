"""Stories on MLflow stores the storybook team did not make, built end to end (issue 17, classes 1, 5, 6, 11, 9).

One real sqlite store holds: a ``mlflow.sklearn.autolog()`` run (training_* metrics, a dataset with context
``train``), a ``mlflow.models.evaluate`` run read by a story whose positive class is 0 (evaluate's recall is of
class 1), a run with cross-validation metrics beside test metrics, a regression set and a three-class set each
declared as a binary story. The site is really built; the sentences are read back from the pages, and the figures
checked against scikit-learn on the logged scored sets.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import recall_score, roc_auc_score
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.check import check_project
from storybook.sources.loader import StorySource, load_project
from tests import stores

runner = CliRunner()
TUMOURS = {"unit": "patients", "positive_means": "have a malignant tumour", "negative_means": "have a harmless tumour",
           "threshold": 0.5}


@dataclass(frozen=True)
class Built:
    root: Path
    output: str
    exit_code: int
    autolog_run: str
    test_recall: float
    evaluate_run: str


def _cv_run(uri: str) -> tuple[str, float, float]:
    """Cross-validated ROC AUC on the training split (cv_roc_auc) beside the test split's (test_roc_auc)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    x_train, x_test, y_train, y_test = stores.breast_cancer(seed=1)
    columns = ["mean radius", "mean texture"]  # a weaker model, so the figures differ
    model = LogisticRegression(max_iter=1000)
    cv_auc = float(cross_val_score(model, x_train[columns], y_train, cv=5, scoring="roc_auc").mean())
    scores = model.fit(x_train[columns], y_train).predict_proba(x_test[columns])[:, 1]
    test_auc = float(roc_auc_score(y_test, scores))
    run = stores.log_scored_run(uri, stores.scored_frame(y_test, scores),
                                metrics={"cv_roc_auc": cv_auc, "test_roc_auc": test_auc})
    return run, cv_auc, test_auc


def _regression_run(uri: str) -> str:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    data = load_diabetes(as_frame=True)
    predictions = LinearRegression().fit(data.data, data.target).predict(data.data)
    return stores.log_scored_run(uri, stores.scored_frame(data.target, predictions), metrics={"r2": 0.52})


def _iris_run(uri: str) -> str:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris(as_frame=True)
    names = pd.Series(np.asarray(data.target_names)[data.target])
    model = LogisticRegression(max_iter=1000).fit(data.data, names)
    return stores.log_scored_run(uri, stores.scored_frame(names, model.predict_proba(data.data)[:, 2]),
                                 metrics={"recall_virginica": 0.96, "roc_auc": 0.9978})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("varied") / "project"
    root.mkdir()
    uri = stores.tracking_uri(root)
    autolog, test_recall = stores.autolog_run(uri)
    stores.register(uri, autolog, "tumours-autolog", "production")
    evaluated = stores.evaluate_run(uri)
    stores.register(uri, evaluated, "tumours-evaluated", "candidate")
    cv, _, _ = _cv_run(uri)
    regression = _regression_run(uri)
    iris = _iris_run(uri)
    stories = {
        "autolog": stores.story("tumours-autolog", "production", [
            {"key": "training_recall_score", "label": "Malignant tumours found in training", "kind": "recall"},
            {"key": "training_roc_auc", "label": "Ranking in training", "kind": "roc_auc"},
            {"key": "test_recall", "label": "Malignant tumours found", "kind": "recall"}], TUMOURS),
        "evaluate": stores.story("tumours-evaluated", "candidate", [
            {"key": "recall_score", "label": "Harmless tumours recognised", "kind": "recall"},
            {"key": "roc_auc", "label": "Ranking quality", "kind": "roc_auc"},
            {"key": "accuracy_score", "label": "Right calls", "kind": "accuracy"}],
            TUMOURS | {"positive_value": "0", "positive_means": "have a harmless tumour",
                       "negative_means": "have a malignant tumour"}),
        "cv": stores.story("x", "y", [
            {"key": "cv_roc_auc", "label": "Ranking in cross-validation", "kind": "roc_auc"},
            {"key": "test_roc_auc", "label": "Ranking on the test set", "kind": "roc_auc"}],
            {"positive_means": "are malignant", "negative_means": "are harmless", "threshold": 0.5}),
        "regression": stores.story("x", "y", [{"key": "r2", "label": "Fit", "kind": "other"}],
                                   {"positive_means": "progress a lot", "negative_means": "do not", "threshold": 0.5}),
        "iris": stores.story("x", "y", [{"key": "recall_virginica", "label": "Virginica flowers found",
                                         "kind": "recall"}],
                             {"positive_value": "virginica", "positive_means": "are virginica",
                              "negative_means": "are another species", "threshold": 0.5}),
    }
    for slug, run_id in (("cv", cv), ("regression", regression), ("iris", iris)):
        stories[slug]["model"] = {"run_id": run_id}
    stores.write_project(root, stories)
    result = runner.invoke(app, ["build", str(root), "--no-pdf"])
    return Built(root=root, output=result.output, exit_code=result.exit_code, autolog_run=autolog,
                 test_recall=test_recall, evaluate_run=evaluated)


def _page(built: Built, slug: str) -> str:
    return (built.root / "site" / f"{slug}.html").read_text()


def _sentences(page: str) -> dict[str, str]:
    """The metric sentences by label, as text."""
    found = re.findall(r"<li><strong>(.*?):</strong> (.*?)</li>", page.split('class="metric-sentences"', 1)[1]
                       .split("</ul>", 1)[0], re.DOTALL)
    return {_text(label): _text(text) for label, text in found}


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _location(root: Path, slug: str, path: tuple[str | int, ...]) -> int | None:
    story = next(s for s in load_project(root).stories if s.slug == slug)
    assert isinstance(story, StorySource)
    return story.yaml.location(path).line


def _scored(built: Built, run_id: str) -> pd.DataFrame:
    uri = stores.tracking_uri(built.root)
    path = MlflowClient(uri, uri).download_artifacts(run_id, "evaluation/scored.csv", str(built.root / run_id))
    return pd.read_csv(path)


def test_the_good_stories_build_and_the_wrong_shapes_fail_alone(built: Built) -> None:
    assert built.exit_code == 1, built.output
    for slug in ("autolog", "evaluate", "cv"):
        assert (built.root / "site" / f"{slug}.html").is_file(), built.output


def test_autolog_training_figures_are_told_as_training(built: Built) -> None:
    page = _page(built, "autolog")
    told = _sentences(page)
    training = told["Malignant tumours found in training"]
    assert training.startswith("On the training data (the patients the model learnt from), of the patients who have "
                               "a malignant tumour, ")
    assert "This is not a test on new patients" in training and "(measured on" not in training
    assert told["Ranking in training"].startswith("On the training data")
    # The figure measured on the test set keeps its interval and its count, and agrees with scikit-learn.
    scored = _scored(built, built.autolog_run)
    positives = int(scored["label"].sum())
    assert f"(measured on {positives:,} patients who have a malignant tumour)" in told["Malignant tumours found"]
    assert recall_score(scored["label"], scored["score"] >= 0.5) == pytest.approx(built.test_recall)
    # autolog logs its training data with context "train": the card names it.
    assert "The run did not record its training data" not in page
    assert "The model learned from the dataset logged as <strong>dataset</strong>" in page
    assert page.count("<td>the training data</td>") == 2


def test_evaluate_class_1_recall_in_a_class_0_story_is_reconciled(built: Built) -> None:
    uri = stores.tracking_uri(built.root)
    logged = MlflowClient(uri, uri).get_run(built.evaluate_run).data.metrics
    scored = _scored(built, built.evaluate_run)
    benign = scored["label"] == 0
    class_0 = float(recall_score(benign, scored["score"] >= 0.5))
    assert logged["recall_score"] == pytest.approx(float(recall_score(scored["label"], scored["score"] < 0.5)))
    told = _sentences(_page(built, "evaluate"))
    sentence = told["Harmless tumours recognised"]
    assert (f"The run logged {logged['recall_score']:.4f} for this figure, but the evaluation set gives "
            f"{class_0:.4f}; the likely cause is another positive class") in sentence
    assert sentence.startswith("Of the patients who have a harmless tumour, ")
    # The figures evaluate computes the same for either class agree, and keep their interval.
    assert roc_auc_score(benign, scored["score"]) == pytest.approx(logged["roc_auc"], abs=0.005)
    assert f"(measured on {len(scored):,} patients)" in told["Ranking quality"]
    assert "The run logged" not in told["Right calls"]
    # The table never gives the logged value a range it lies outside of.
    page = _page(built, "evaluate")
    row = page.split('data-metric="recall_score">', 1)[1].split("</tr>", 1)[0]
    assert row.startswith(f"{logged['recall_score']:.4f}<")
    assert f"{class_0:.4f} (" in row and "does not match the logged value" in row

    report = check_project(built.root, online=True, only=["evaluate"])
    mismatches = [f for f in report.findings if f.code == "figure-mismatch"]
    assert len(mismatches) == 1 and mismatches[0].severity == "error" and not report.ok
    assert mismatches[0].line == _location(built.root, "evaluate", ("metrics", 0))
    assert mismatches[0].file.endswith("stories/evaluate/story.yaml")
    assert f"logged as {logged['recall_score']:.4f}, but the evaluation set gives {class_0:.4f}" in \
        mismatches[0].message and "another positive class" in mismatches[0].message


def test_cross_validation_figure_beside_the_test_figure(built: Built) -> None:
    page = _page(built, "cv")
    told = _sentences(page)
    cv = told["Ranking in cross-validation"]
    assert cv.startswith("In cross-validation on the training data, given one of the cases who are malignant")
    assert "(measured on" not in cv and "This was not measured on the evaluation set." in cv
    assert "(measured on" in told["Ranking on the test set"]
    row = page.split('data-metric="cv_roc_auc">', 1)[1].split("</tr>", 1)[0]
    assert "<td>cross-validation</td>" in row and 'data-recomputed="cv_roc_auc">\u2013</td>' in row
    # Nothing on the page says "people" about tumours: the default unit is neutral.
    assert " people " not in page


def test_a_regression_set_in_a_binary_story_is_a_located_refusal(built: Built) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    data = load_diabetes(as_frame=True)
    predictions = LinearRegression().fit(data.data, data.target).predict(data.data)
    line = _location(built.root, "regression", ("evaluation", "score_column"))
    output = " ".join(built.output.split())
    assert f"regression/story.yaml:{line}: column 'score' of the evaluation set 'evaluation/scored.csv' holds " \
           f"values from {predictions.min():g} to {predictions.max():g}, not chances between 0 and 1; this looks " \
           "like a regression set" in output
    assert not (built.root / "site" / "regression.html").exists()


def test_a_three_class_set_in_a_binary_story_is_a_located_refusal(built: Built) -> None:
    line = _location(built.root, "iris", ("evaluation", "label_column"))
    output = " ".join(built.output.split())
    assert f"iris/story.yaml:{line}: column 'label' of the evaluation set 'evaluation/scored.csv' holds 3 " \
           "different labels ('setosa', 'versicolor', 'virginica'), not two" in output
    assert not (built.root / "site" / "iris.html").exists()
