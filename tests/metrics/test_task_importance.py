"""The leaf permutation drops in a regression or multiclass story's own figures (storybook.metrics.importance
task_scorer) equal scikit-learn's permutation_importance with the matching scorer and seed; a kind of another
task is refused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from storybook.metrics.importance import importance_metrics, permutation_drops, task_scorer


@pytest.mark.parametrize(("kind", "scoring"), [("mae", "neg_mean_absolute_error"),
                                               ("rmse", "neg_root_mean_squared_error")])
def test_regression_drops_are_sklearns(kind: str, scoring: str) -> None:
    data = load_diabetes(as_frame=True)
    features, target = data.data.iloc[:200], data.target.iloc[:200]
    model = Ridge(alpha=0.5).fit(features, target)
    ours = permutation_drops(model.predict, features, target.to_numpy(), task_scorer(kind, "regression"),
                             n_repeats=3, seed=11)
    theirs = permutation_importance(model, features, target, scoring=scoring, n_repeats=3, random_state=11)
    np.testing.assert_allclose(ours.drops, theirs.importances, atol=1e-9)
    assert ours.baseline < 0  # a miss is scored negated: the drop is how much it grows


@pytest.mark.parametrize(("kind", "scoring", "chances"), [("multiclass_accuracy", "accuracy", True),
                                                          ("multiclass_accuracy", "accuracy", False),
                                                          ("log_loss", "neg_log_loss", True)])
def test_multiclass_drops_are_sklearns(kind: str, scoring: str, chances: bool) -> None:
    data = load_wine(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(data.data, data.target)
    classes = tuple(str(c) for c in model.classes_)  # 0, 1, 2: the model's order is the story's here

    def predict(frame: object) -> np.ndarray:
        return model.predict_proba(frame) if chances else model.predict(frame)

    ours = permutation_drops(predict, data.data, data.target.to_numpy(),
                             task_scorer(kind, "multiclass", classes=classes), n_repeats=2, seed=5)
    theirs = permutation_importance(model, data.data, data.target, scoring=scoring, n_repeats=2, random_state=5)
    np.testing.assert_allclose(ours.drops, theirs.importances, atol=1e-9)


def test_a_kind_of_another_task_is_refused() -> None:
    assert importance_metrics("regression") == ("mae", "rmse")
    assert importance_metrics("multiclass") == ("multiclass_accuracy", "log_loss")
    with pytest.raises(ValueError, match="a regression story cannot measure importance in 'accuracy'; use one of "
                                         "mae, rmse"):
        task_scorer("accuracy", "regression")
    with pytest.raises(ValueError, match="a binary story cannot measure importance in 'mae'"):
        task_scorer("mae", "binary", threshold=0.5)
