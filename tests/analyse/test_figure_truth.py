"""Every figure is told only from what it really measured (issue 17, classes 1, 5, 6, 11 and part of 9).

The rules are in storybook/analyse/reconcile.py and storybook/resolve/scored.py; the figures are checked against
scikit-learn and numbers worked out by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from storybook.analyse.classification import PROPORTION_KINDS, SliceRow, confusion_at, rate
from storybook.analyse.model_card import analyse_model_card
from storybook.analyse.plain import Vocabulary, metric_sentence, point_share
from storybook.analyse.reconcile import likely_cause, measured_on_default, recompute
from storybook.analyse.story import analyse_story
from storybook.errors import SourceError
from storybook.resolve.resolved import (
    ComparedVersion,
    DatasetRecord,
    Figure,
    ModelVersionRecord,
    Provenance,
    ResolvedRun,
    ResolvedStory,
)
from storybook.resolve.scored import ScoredSet, scored_set
from storybook.sources.loader import StorySource, load_project
from tests.stores import story, write_project

RUN = "a" * 32
DEFAULT_METRIC = {"key": "test_auc", "label": "Ranking", "kind": "other"}
OTHER = "b" * 32


def _story(tmp_path: Path, metrics: list[dict[str, Any]] | None = None, **evaluation: Any) -> StorySource:
    spec = {"positive_means": "are positive", "negative_means": "are negative", "threshold": 0.5} | evaluation
    spec = {k: v for k, v in spec.items() if v is not None}
    write_project(tmp_path, {"s": story("m", "production", metrics or [DEFAULT_METRIC], spec)})
    loaded = load_project(tmp_path).stories[0]
    assert isinstance(loaded, StorySource), loaded
    return loaded


def _line(loaded: StorySource, key: str) -> int | None:
    index = next(i for i, m in enumerate(loaded.config.metrics) if m.key == key)
    return loaded.yaml.location(("metrics", index)).line


def _frame(seed: int = 1, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.4).astype(int)
    scores = np.clip(0.3 * labels + rng.random(n) * 0.7, 0, 1).round(3)
    return pd.DataFrame({"label": labels, "score": scores})


def _resolved(frame: pd.DataFrame, metrics: dict[str, float], params: dict[str, str] | None = None,
              datasets: tuple[DatasetRecord, ...] = (), compared: pd.DataFrame | None = None) -> ResolvedStory:
    figures = {k: Figure(k, v, Provenance("sqlite:///m.db", RUN, "metric", k)) for k, v in metrics.items()}
    run = ResolvedRun(RUN, "run", "exp", 0, None, figures, params or {}, {}, datasets)
    other = None
    if compared is not None:
        other = ComparedVersion(model=ModelVersionRecord("m", 2, OTHER, 0, ("candidate",)),
                                run=ResolvedRun(OTHER, "other", "exp", 0, None, {}, params or {}, {}),
                                evaluation=compared)
    return ResolvedStory(source="sqlite:///m.db", run=run, model=ModelVersionRecord("m", 1, RUN, 0, ("production",)),
                         evaluation=frame, compared=other)


# --- 5. where a figure was measured, by MLflow's conventions -------------------------------------------------


@pytest.mark.parametrize(("key", "where"), [
    ("training_recall_score", "training"), ("training_roc_auc", "training"), ("train_accuracy", "training"),
    ("cv_roc_auc", "cross_validation"), ("roc_auc_cv", "cross_validation"), ("mean_test_score", "cross_validation"),
    ("fold_3_recall", "cross_validation"), ("recall_fold2", "cross_validation"),
    ("test_recall", "evaluation"), ("recall_score", "evaluation"), ("roc_auc", "evaluation"),
    ("production_mean_score", "evaluation"), ("retrained_recall", "evaluation"),
])
def test_where_a_key_was_measured_follows_mlflow_naming(key: str, where: str) -> None:
    assert measured_on_default(key) == where


def test_a_training_figure_is_told_as_training_without_interval_or_count(tmp_path: Path) -> None:
    frame = _frame()
    loaded = _story(tmp_path, [{"key": "training_recall_score", "label": "Found", "kind": "recall"}])
    card = analyse_model_card(loaded, _resolved(frame, {"training_recall_score": 0.99}))
    line = card.metrics[0]
    assert line.measured_on == "training" and line.estimate is None and line.mismatch is None
    assert line.sentence == ("On the training data (the cases the model learnt from), of the cases who are positive, "
                             "99 in 100 are flagged. This is not a test on new cases: expect it to do less well on "
                             "them.")
    assert "(measured on" not in line.sentence


def test_autolog_dataset_contexts_count_as_training_and_evaluation(tmp_path: Path) -> None:
    datasets = (DatasetRecord("dataset", "d1", "train", "code", 398), DatasetRecord("held", "d2", "eval", "code", 171),
                DatasetRecord("val", "d3", "Validation", "code", 50), DatasetRecord("x", "d4", "other", "code", 5))
    loaded = _story(tmp_path)
    resolved = _resolved(_frame(), {"test_auc": 0.7})
    resolved = ResolvedStory(source=resolved.source, run=ResolvedRun(RUN, "r", "e", 0, None, resolved.run.metrics, {},
                                                                     {}, datasets),
                             evaluation=resolved.evaluation)
    card = analyse_model_card(loaded, resolved)
    assert [d.digest for d in card.training_data] == ["d1"]
    assert [d.digest for d in card.evaluation_data] == ["d2", "d3"]


# --- 1 and 11. recompute, and reconcile -----------------------------------------------------------------------


def test_recomputed_figures_equal_scikit_learn(tmp_path: Path) -> None:
    frame = _frame()
    scored = scored_set(_story(tmp_path), frame, {}, RUN)
    truth, predicted = frame["label"].to_numpy(), frame["score"].to_numpy() >= 0.5
    confusion = confusion_at(scored.labels, scored.scores, 0.5)
    overall = SliceRow("all", confusion.n, confusion.positives, confusion,
                       {k: rate(k, confusion) for k in PROPORTION_KINDS}, recompute("roc_auc", None, scored) or
                       rate("recall", confusion))
    expected = {"recall": recall_score(truth, predicted), "precision": precision_score(truth, predicted),
                "accuracy": accuracy_score(truth, predicted), "f1": f1_score(truth, predicted),
                "roc_auc": roc_auc_score(truth, frame["score"]),
                "brier": brier_score_loss(truth, frame["score"]),
                "specificity": recall_score(truth, predicted, pos_label=0)}
    for kind, value in expected.items():
        got = recompute(kind, overall, scored)
        assert got is not None and got.value == pytest.approx(value, abs=1e-12), kind
    assert recompute("other", overall, scored) is None


def test_a_figure_that_agrees_gets_the_interval_and_the_count(tmp_path: Path) -> None:
    frame = _frame()
    truth, predicted = frame["label"].to_numpy(), frame["score"].to_numpy() >= 0.5
    logged = round(float(recall_score(truth, predicted)), 3)  # rounded as a run might log it
    loaded = _story(tmp_path, [{"key": "test_recall", "label": "Found", "kind": "recall"}])
    line = analyse_model_card(loaded, _resolved(frame, {"test_recall": logged})).metrics[0]
    positives = int(truth.sum())
    assert line.mismatch is None and line.estimate is not None and line.estimate.n == positives
    assert line.estimate.low is not None and line.estimate.high is not None
    assert line.estimate.low <= logged <= line.estimate.high
    assert f"(measured on {positives:,} cases who are positive)" in line.sentence


def test_a_share_with_nothing_to_count_among_is_not_told_as_the_logged_zero(tmp_path: Path) -> None:
    """A model that flags no case at the threshold: scikit-learn's precision_score writes 0 (zero_division), and
    the page told "Of the cases who are flagged, 0 in 100 really are positive" of cases nobody flagged."""
    frame = _frame()
    truth, predicted = frame["label"].to_numpy(), frame["score"].to_numpy() >= 0.99
    assert not predicted.any()
    logged = float(precision_score(truth, predicted, zero_division=0))
    assert logged == 0.0
    loaded = _story(tmp_path, [{"key": "test_precision", "label": "Right when flagged", "kind": "precision"},
                               {"key": "test_recall", "label": "Found", "kind": "recall"}], threshold=0.99)
    precision, recall = analyse_model_card(loaded, _resolved(frame, {"test_precision": logged,
                                                                     "test_recall": 0.0})).metrics
    assert precision.estimate is None and precision.mismatch is None
    assert precision.sentence == ("There are no cases who are flagged in the evaluation, so this figure cannot be "
                                  "told. The run logged 0.0000, but there was nothing to count it among.")
    assert "0 in 100" not in precision.sentence
    assert recall.estimate is not None and recall.estimate.value == 0.0   # a share of the positives: told


def test_cross_validation_auc_is_told_as_logged_beside_the_test_auc(tmp_path: Path) -> None:
    frame = _frame()
    auc = float(roc_auc_score(frame["label"], frame["score"]))
    loaded = _story(tmp_path, [{"key": "cv_roc_auc", "label": "Ranking (cv)", "kind": "roc_auc"},
                               {"key": "test_roc_auc", "label": "Ranking", "kind": "roc_auc"}])
    cv, test = analyse_model_card(loaded, _resolved(frame, {"cv_roc_auc": 0.84, "test_roc_auc": auc})).metrics
    assert cv.measured_on == "cross_validation" and cv.estimate is None and cv.recomputed is None
    assert cv.sentence.startswith("In cross-validation on the training data, given one of the cases")
    assert "84 in 100 times" in cv.sentence and "(measured on" not in cv.sentence
    assert test.estimate is not None and test.estimate.value == pytest.approx(auc)
    assert f"measured on {len(frame):,} cases" in test.sentence


def test_an_author_can_say_where_a_figure_was_measured(tmp_path: Path) -> None:
    frame = _frame()
    loaded = _story(tmp_path, [{"key": "holdout_recall", "label": "Found", "kind": "recall",
                                "measured_on": "other"}])
    line = analyse_model_card(loaded, _resolved(frame, {"holdout_recall": 0.5})).metrics[0]
    assert line.measured_on == "other" and line.estimate is None and line.mismatch is None
    assert line.sentence.startswith("As the run logged it, of the cases who are positive, 50 in 100 are flagged.")


def test_another_positive_class_is_found_told_and_fails_check_like_evaluate(tmp_path: Path) -> None:
    """mlflow.models.evaluate logs recall_score of class 1; the story's positive class is 0."""
    frame = _frame()
    truth, scores = frame["label"].to_numpy(), frame["score"].to_numpy()
    class_1 = float(recall_score(truth, scores >= 0.5))
    flipped = frame.assign(score=(1 - frame["score"]).round(3))  # the chance of class 0
    class_0 = float(recall_score(truth == 0, flipped["score"] >= 0.5))
    assert abs(class_0 - class_1) > 0.05
    loaded = _story(tmp_path, [{"key": "recall_score", "label": "Found", "kind": "recall"}], positive_value="0")
    line = analyse_model_card(loaded, _resolved(flipped, {"recall_score": class_1})).metrics[0]
    assert line.mismatch is not None and line.estimate is None
    assert line.mismatch.logged == class_1 and line.mismatch.recomputed == pytest.approx(class_0)
    assert line.mismatch.cause.startswith("another positive class")
    assert line.recomputed is not None and line.recomputed.low is not None and line.recomputed.high is not None
    # The sentence tells the evaluation set's figure and says what the run logged; never the logged value with
    # an interval it lies outside of.
    assert f"The run logged {class_1:.4f} for this figure, but the evaluation set gives {class_0:.4f}" in line.sentence
    assert "This page tells the figure from the evaluation set." in line.sentence


def test_another_threshold_and_a_percentage_are_named(tmp_path: Path) -> None:
    frame = _frame()
    scored = scored_set(_story(tmp_path), frame, {}, RUN)
    truth, scores = frame["label"].to_numpy(), frame["score"].to_numpy()
    at_07 = float(recall_score(truth, scores >= 0.7))
    at_05 = float(recall_score(truth, scores >= 0.5))
    cause = likely_cause("recall", at_07, at_05, scored, "1")
    assert cause.startswith("another threshold: flagging scores of")
    cut = float(cause.split("flagging scores of ")[1].split(" or more")[0])
    assert float(recall_score(truth, scores >= cut)) == pytest.approx(at_07, abs=0.005)
    told = float(cause.split(" gives ")[1].split(",")[0])  # the printed cut gives exactly the printed value
    assert f"{recall_score(truth, scores >= cut):.4f}" == f"{told:.4f}"
    assert likely_cause("recall", at_05 * 100, at_05, scored, "1") == "the run logged it as a percentage"
    assert likely_cause("roc_auc", 0.2, 0.7, scored, "1").startswith("another data set")


def test_a_figure_from_confusion_counts_is_reconciled_too(tmp_path: Path) -> None:
    write_project(tmp_path, {"s": story("m", "production", [{"key": "recall", "label": "Found", "kind": "recall"}], {
        "counts": {"tp": "tp", "fp": "fp", "tn": "tn", "fn": "fn"}, "threshold": 0.5,
        "positive_means": "are positive", "negative_means": "are negative"})})
    loaded = load_project(tmp_path).stories[0]
    assert isinstance(loaded, StorySource)
    resolved = _resolved(_frame(), {"tp": 30, "fp": 5, "tn": 60, "fn": 10, "recall": 0.9})
    resolved = ResolvedStory(source=resolved.source, run=resolved.run)
    line = analyse_model_card(loaded, resolved).metrics[0]
    assert line.mismatch is not None and line.mismatch.recomputed == pytest.approx(0.75)


# --- 6. the scored set's premises --------------------------------------------------------------------------


def test_a_regression_set_is_refused_on_the_score_column_line(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    data = load_diabetes(as_frame=True)
    predictions = LinearRegression().fit(data.data, data.target).predict(data.data)
    frame = pd.DataFrame({"label": data.target, "score": predictions})
    loaded = _story(tmp_path, positive_value="1")
    with pytest.raises(SourceError) as caught:
        scored_set(loaded, frame, {}, RUN)
    error = caught.value
    low, high = predictions.min(), predictions.max()
    assert f"holds values from {low:g} to {high:g}, not chances between 0 and 1" in error.message
    assert "this looks like a regression set" in error.message and "does not tell yet" in error.message
    assert error.location is not None and error.location.line == loaded.yaml.location(
        ("evaluation", "score_column")).line


def test_a_three_class_set_is_refused_on_the_label_column_line(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris(as_frame=True)
    names = np.asarray(data.target_names)[data.target]
    model = LogisticRegression(max_iter=1000).fit(data.data, names)
    frame = pd.DataFrame({"label": names, "score": model.predict_proba(data.data)[:, 2]})
    loaded = _story(tmp_path, positive_value="virginica", unit=None)
    with pytest.raises(SourceError) as caught:
        scored_set(loaded, frame, {}, RUN)
    assert "holds 3 different labels ('setosa', 'versicolor', 'virginica'), not two" in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.line == loaded.yaml.location(("evaluation", "label_column")).line


@pytest.mark.parametrize(("change", "evaluation", "message", "key"), [
    ({"label": ["yes", "no"] * 5}, {}, "positive_value '1' is not one of the labels", "positive_value"),
    ({"label": [1.0, 0.0] * 5}, {}, "positive_value '1' is not one of the labels in column 'label' of the "
     "evaluation set 'evaluation/scored.csv' ('0.0', '1.0')", "positive_value"),
    ({"label": [1] * 10}, {}, "holds one label only ('1')", "label_column"),
    ({"label": [1, 0, None, 1, 0, 1, 0, 1, 0, 1]}, {}, "has 1 rows without a label", "label_column"),
    ({"score": ["0.1", "high"] * 5}, {}, "holds values that are not numbers (e.g. 'high')", "score_column"),
    ({"score": [0.1, None] * 5}, {}, "has 5 empty scores", "score_column"),
    ({"score": [0.1, float("inf")] * 5}, {}, "holds infinite scores", "score_column"),
    ({"score": [0.1, 1.5] * 5}, {}, "holds values from 0.1 to 1.5, not chances between 0 and 1", "score_column"),
    ({}, {"threshold": None}, "has no param 'threshold' holding the threshold", "threshold_param"),
])
def test_each_premise_is_refused_with_its_line(tmp_path: Path, change: dict[str, list[Any]],
                                                evaluation: dict[str, Any], message: str, key: str) -> None:
    frame = pd.DataFrame({"label": [1, 0] * 5, "score": [0.9, 0.2] * 5} | change)
    loaded = _story(tmp_path, **evaluation)
    with pytest.raises(SourceError) as caught:
        scored_set(loaded, frame, {}, RUN)
    assert message in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.line == loaded.yaml.location(("evaluation", key)).line


def test_a_threshold_param_that_is_no_number_is_refused_for_the_compared_version_too(tmp_path: Path) -> None:
    loaded = _story(tmp_path, threshold=None)
    frame = pd.DataFrame({"label": [1, 0] * 5, "score": [0.9, 0.2] * 5})
    with pytest.raises(SourceError) as caught:
        scored_set(loaded, frame, {"threshold": "half"}, OTHER, which="version 2, the compared version")
    assert caught.value.message == (f"param 'threshold' of run {OTHER} (version 2, the compared version) is 'half', "
                                    "not a number between 0 and 1")
    good = scored_set(loaded, frame, {"threshold": "0.4"}, RUN)
    assert isinstance(good, ScoredSet) and good.threshold == 0.4 and good.labels.tolist() == [True, False] * 5


def test_the_compared_versions_set_is_checked_before_trust_reads_it(tmp_path: Path) -> None:
    write_project(tmp_path, {"s": story("m", "production", [DEFAULT_METRIC], {
        "threshold": 0.5, "positive_means": "are positive", "negative_means": "are negative"},
        trust={"owner": "Quality team", "model": {"metric": "recall", "minimum": 0.5, "compare_with": "candidate"}})})
    loaded = load_project(tmp_path).stories[0]
    assert isinstance(loaded, StorySource), loaded
    missing = pd.DataFrame({"label": [1, 0] * 10, "prediction": [0.9, 0.1] * 10})
    with pytest.raises(SourceError) as caught:
        analyse_story(loaded, _resolved(_frame(), {"test_auc": 0.7}, compared=missing))
    assert caught.value.message == ("score_column 'score' is not a column of the evaluation set "
                                    "'evaluation/scored.csv' of version 2, the compared version (story 's'); the "
                                    "columns found are 'label', 'prediction'")
    assert caught.value.hint == "set score_column to one of the columns found"


# --- 9. no certainty below 1; neutral unit -------------------------------------------------------------------


@pytest.mark.parametrize(("value", "told"), [
    (0.9978, "998 in 1,000"), (0.99995, "more than 999 in 1,000"), (1.0, "100 in 100"), (0.81, "81 in 100"),
    (0.004, "4 in 1,000"), (0.0001, "fewer than 1 in 1,000"), (0.0, "0 in 100"), (0.996, "996 in 1,000"),
])
def test_a_figure_below_one_never_reads_as_certain(value: float, told: str) -> None:
    assert point_share(value) == told


def test_an_auc_of_0_9978_is_not_told_as_100_in_100() -> None:
    sentence = metric_sentence("roc_auc", 0.9978, None, Vocabulary(unit="flowers"))
    assert "998 in 1,000 times" in sentence and "100 in 100" not in sentence


def test_the_default_unit_is_neutral(tmp_path: Path) -> None:
    loaded = _story(tmp_path)
    assert loaded.config.evaluation is not None and loaded.config.evaluation.unit == "cases"
    assert Vocabulary().unit == "cases"


def test_trust_judges_the_compared_version_at_the_story_threshold(tmp_path: Path) -> None:
    """The story sets threshold 0.5; the compared run's own param (0.9) must not be used for it by trust while
    the model card, the cost and the decision use 0.5."""
    write_project(tmp_path, {"s": story("m", "production", [DEFAULT_METRIC], {
        "threshold": 0.5, "positive_means": "are positive", "negative_means": "are negative"},
        trust={"owner": "Quality team", "model": {"metric": "recall", "minimum": 0.5, "compare_with": "candidate"}})})
    loaded = load_project(tmp_path).stories[0]
    assert isinstance(loaded, StorySource), loaded
    compared = pd.DataFrame({"label": [1, 0] * 20, "score": [0.6, 0.1] * 20})  # recall 1 at 0.5, 0 at 0.9
    analysis = analyse_story(loaded, _resolved(_frame(), {"test_auc": 0.7}, params={"threshold": "0.9"},
                                               compared=compared))
    assert analysis.trust is not None
    found = [e for level in analysis.trust.levels for e in level.evidence if e.check == "model.previous_version"]
    assert len(found) == 1 and found[0].figures["previous"] == 1.0


@pytest.mark.parametrize("version", ["story", "compared"])
def test_a_decision_ground_on_a_training_figure_borrows_no_interval(tmp_path: Path, version: str) -> None:
    metric = {"key": "training_recall_score", "label": "Found in training", "kind": "recall"}
    write_project(tmp_path, {"s": story("m", "production", [metric], {
        "threshold": 0.5, "positive_means": "are positive", "negative_means": "are negative"},
        trust={"owner": "Quality team", "model": {"compare_with": "candidate"}},
        decision={"question": "Switch?", "owner": "The board",
                  "options": {"go": "Switch.", "no_go": "Keep.", "go_with_conditions": "Switch later."},
                  "criteria": [{"id": "finds", "metric": {"key": "training_recall_score", "version": version,
                                                          "at_least": 0.1}}]})})
    loaded = load_project(tmp_path).stories[0]
    assert isinstance(loaded, StorySource), loaded
    analysis = analyse_story(loaded, _resolved(_frame(), {"training_recall_score": 0.99}, compared=_frame(2)))
    assert analysis.decision is not None
    ground = analysis.decision.grounds[0]
    assert ground.outcome == "cannot tell"
    assert "Found in training was measured on the training data, not on the evaluation set" in ground.sentence


def test_the_history_gives_a_version_an_interval_only_for_its_own_figure(tmp_path: Path) -> None:
    from storybook.analyse import history
    from storybook.resolve.resolved import HistoryVersion

    loaded = _story(tmp_path, [{"key": "test_recall", "label": "Found", "kind": "recall"},
                               {"key": "cv_recall", "label": "Found in cross-validation", "kind": "recall"}])
    frame = _frame()
    recall = float(recall_score(frame["label"], frame["score"] >= 0.5))
    scored = pd.DataFrame({"version": 1, "positive": frame["label"], "score": frame["score"]})

    def version(test_recall: float) -> HistoryVersion:
        return HistoryVersion(ModelVersionRecord("m", 1, RUN, 0, ()), "run", 0,
                              {"test_recall": test_recall, "cv_recall": recall}, {}, 0.5)

    test, cv = loaded.config.metrics
    same = history._estimate(test, version(recall), scored, loaded.config)
    assert same is not None and same.value == pytest.approx(recall) and same.low is not None
    assert history._estimate(cv, version(recall), scored, loaded.config) is None
    assert history._estimate(test, version(recall + 0.1), scored, loaded.config) is None
