"""Whether a logged figure is what the evaluation set gives (analyse/reconcile.py), on a set small enough to work
by hand and checked against scikit-learn: where a key's name says it was measured, the figure recomputed, and the
likely cause named when the two differ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from storybook.analyse.reconcile import class_weighted, likely_cause, measured_on_default, recompute
from storybook.metrics.multiclass import MulticlassScores, confusion_matrix
from storybook.resolve.scored import ScoredSet
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.sources.schema import ClassSpec

# 4 positives, 4 negatives. At 0.5: flagged 0.9, 0.8, 0.6 (positives) and 0.7 (a negative): recall 3/4.
LABELS = np.array([True, True, True, True, False, False, False, False])
SCORES = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1])
SCORED = ScoredSet(LABELS, SCORES, 0.5, pd.DataFrame({"label": LABELS, "score": SCORES}))


@pytest.mark.parametrize(("key", "where"), [
    ("test_recall", "evaluation"),
    ("training_accuracy", "training"),
    ("train-f1", "training"),
    ("mean_test_score", "cross_validation"),      # scikit-learn's cv_results_
    ("recall_cv", "cross_validation"),
    ("fold3_recall", "cross_validation"),
    ("mean_absolute_error", "evaluation"),        # a figure of the data, not an average over folds
    ("mean_error", "evaluation"),
    ("", "evaluation"),
])
def test_where_a_key_s_name_says_it_was_measured(key: str, where: str) -> None:
    assert measured_on_default(key) == where


def test_a_figure_from_the_scores_is_recomputed_as_scikit_learn_computes_it() -> None:
    auc = recompute("roc_auc", None, SCORED)
    assert auc is not None and auc.value == pytest.approx(roc_auc_score(LABELS, SCORES))
    # Of the 16 (positive, negative) pairs the positive scores higher in 4 + 4 + 3 + 2 = 13.
    assert auc.value == pytest.approx(13 / 16)


def test_a_count_figure_needs_the_confusion_table_and_a_kind_storybook_does_not_know_is_none() -> None:
    assert recompute("recall", None, SCORED) is None
    assert recompute("not_a_kind", None, SCORED) is None
    assert recall_score(LABELS, SCORES >= 0.5) == 0.75   # the figure the causes below are told against


def test_a_percentage_is_named() -> None:
    assert likely_cause("recall", 75.0, 0.75, SCORED, "1") == "the run logged it as a percentage"


def test_scores_of_the_other_class_are_named() -> None:
    assert likely_cause("roc_auc", 0.1875, 0.8125, SCORED, "1") == ("scores of the other label: the figure is what "
                                                                  "the scores give for the other class")


def test_the_other_label_counted_as_positive_is_named_with_its_figure() -> None:
    # Positives 0.9, 0.8, 0.3; negatives 0.6, 0.2; flagged at 0.5: 0.9, 0.8, 0.6 -> recall 2/3. With the other
    # label as positive (called when not flagged): 0.2 found, 0.6 missed -> recall 1/2, which no cut of the
    # scores gives (1/3, 2/3 or 1).
    labels = np.array([True, True, True, False, False])
    scores = np.array([0.9, 0.8, 0.3, 0.6, 0.2])
    scored = ScoredSet(labels, scores, 0.5, pd.DataFrame({"label": labels, "score": scores}))
    told = likely_cause("recall", 0.5, 2 / 3, scored, "yes")
    assert told == "another positive class: counting the other label as positive instead of 'yes' gives 0.5000"


def test_another_threshold_is_named_at_the_cut_nearest_the_story_s() -> None:
    # recall 1.0 at every cut up to 0.3 (all four positives flagged); the nearest to 0.5 is 0.3, told as 0.25
    # (between 0.2 and 0.3), so that flagging at the printed figure gives exactly that recall.
    told = likely_cause("recall", 1.0, 0.75, SCORED, "1")
    assert told.startswith("another threshold: flagging scores of 0.25 or more gives 1.0000, where the story flags "
                           "at 0.5")


def test_with_no_cause_found_it_says_the_figure_may_come_from_elsewhere() -> None:
    assert likely_cause("roc_auc", 0.6, 0.8125, SCORED, "1").startswith("another data set, or the figure was "
                                                                       "measured elsewhere")
    assert likely_cause("recall", 0.61, 0.75, None, "1").startswith("another data set")


# Three classes, unbalanced; class 2 is never called (its precision counts as 0, as scikit-learn's).
TRUTH = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
CALLED = np.array([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1])


@pytest.mark.parametrize(("kind", "figure"), [("recall", recall_score), ("balanced_accuracy", recall_score),
                                              ("precision", precision_score), ("f1", f1_score),
                                              ("macro_f1", f1_score)])
def test_the_class_weighted_average_is_scikit_learn_s(kind: str, figure: object) -> None:
    scores = MulticlassScores(("a", "b", "c"), TRUTH, CALLED)
    expected = figure(TRUTH, CALLED, average="weighted", zero_division=0)  # type: ignore[operator]
    assert class_weighted(kind, confusion_matrix(scores)) == pytest.approx(expected)
    assert class_weighted("roc_auc", confusion_matrix(scores)) is None


def test_a_class_weighted_average_is_named_as_the_cause_with_its_figure() -> None:
    """mlflow.models.evaluate logs f1_score and recall_score of a multiclass model averaged over the classes,
    weighted by their counts: told as macro F1 or balanced accuracy they disagree with the set, and the cause is
    that average, not "another data set"."""
    classes = tuple(ClassSpec(value=v, means=f"are {v}") for v in ("a", "b", "c"))
    scored = MulticlassSet(MulticlassScores(("a", "b", "c"), TRUTH, CALLED), classes,
                           pd.DataFrame({"label": TRUTH, "predicted": CALLED}))
    weighted_f1 = float(f1_score(TRUTH, CALLED, average="weighted"))
    macro = float(f1_score(TRUTH, CALLED, average="macro"))
    assert abs(weighted_f1 - macro) > 0.1
    told = likely_cause("macro_f1", weighted_f1, macro, scored, "")
    assert told.startswith("an average over the classes, each weighted by its count")
    assert told.endswith(f"that gives {weighted_f1:.4f}")
    accuracy = float((TRUTH == CALLED).mean())   # the weighted recall is the accuracy
    assert likely_cause("balanced_accuracy", accuracy, 0.5, scored, "").endswith(f"that gives {accuracy:.4f}")
    # Binary, as mlflow.sklearn.autolog logs its precision: both classes' precisions weighted by their counts.
    labels = np.array([True, True, True, False, False])
    scores = np.array([0.9, 0.8, 0.3, 0.6, 0.2])  # flagged at 0.5: 0.9, 0.8 (right) and 0.6 (wrong)
    binary = ScoredSet(labels, scores, 0.5, pd.DataFrame({"label": labels, "score": scores}))
    weighted = float(precision_score(labels, scores >= 0.5, average="weighted"))
    assert weighted == pytest.approx((3 * 2 / 3 + 2 * 1 / 2) / 5)
    told = likely_cause("precision", weighted, 2 / 3, binary, "1")
    assert told.startswith("an average over the classes") and told.endswith(f"{weighted:.4f}")
