"""storybook.metrics.importance: permutation drops agree with scikit-learn's permutation_importance number for
number (same model, data and seed), and the scorers match hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from storybook.metrics.importance import ALL_ROWS, drops_frame, metric_scorer, permutation_drops


@pytest.fixture(scope="module")
def fitted() -> tuple[Pipeline, pd.DataFrame, pd.Series]:
    """A real model on the ten 'mean' measurements; the evaluation rows keep their original index."""
    data = load_breast_cancer(as_frame=True)
    features = data.frame[[c for c in data.frame.columns if c.startswith("mean ")]]
    malignant = data.frame["target"] == 0
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    model.fit(features.iloc[::2], malignant.iloc[::2])
    return model, features.iloc[1::2], malignant.iloc[1::2]


@pytest.mark.parametrize(("scoring", "kind", "seed", "repeats"), [
    ("accuracy", "accuracy", 0, 5),
    ("recall", "recall", 11, 4),
    ("precision", "precision", 5, 3),
    ("f1", "f1", 2, 3),
    ("roc_auc", "roc_auc", 3, 7),
    ("neg_brier_score", "brier", 42, 6),
])
def test_drops_equal_scikit_learn_permutation_importance(fitted: tuple[Pipeline, pd.DataFrame, pd.Series],
                                                         scoring: str, kind: str, seed: int, repeats: int) -> None:
    model, features, truth = fitted
    expected = permutation_importance(model, features, truth, scoring=scoring, n_repeats=repeats,
                                      random_state=seed)
    ours = permutation_drops(lambda frame: model.predict_proba(frame)[:, 1], features, truth.to_numpy(),
                             metric_scorer(kind, 0.5), n_repeats=repeats, seed=seed)
    assert ours.features == tuple(features.columns)
    assert ours.drops.shape == (10, repeats)
    # Rates are counted the same way: identical. AUC and Brier differ only in float rounding.
    tolerance = 0.0 if kind in ("accuracy", "recall", "precision", "f1") else 1e-12
    np.testing.assert_allclose(ours.drops, expected.importances, rtol=0, atol=tolerance)
    assert np.abs(ours.drops).max() > 0.005  # shuffling really changed something
    # The long table storybook pins holds the same drops, one row per feature and repeat.
    table = drops_frame(ours)
    assert len(table) == 10 * repeats and set(table["slice"]) == set(table["group"]) == {ALL_ROWS}
    by_feature = table.groupby("feature")["drop"]
    for index, feature in enumerate(features.columns):
        assert by_feature.mean()[feature] == pytest.approx(expected.importances_mean[index], abs=1e-12)
        assert by_feature.std(ddof=0)[feature] == pytest.approx(expected.importances_std[index], abs=1e-12)


def test_a_different_seed_gives_different_shuffles(fitted: tuple[Pipeline, pd.DataFrame, pd.Series]) -> None:
    model, features, truth = fitted
    def predict(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict_proba(frame)[:, 1])

    one = permutation_drops(predict, features, truth.to_numpy(), metric_scorer("roc_auc", 0.5), n_repeats=3, seed=1)
    two = permutation_drops(predict, features, truth.to_numpy(), metric_scorer("roc_auc", 0.5), n_repeats=3, seed=2)
    again = permutation_drops(predict, features, truth.to_numpy(), metric_scorer("roc_auc", 0.5), n_repeats=3,
                              seed=1)
    assert not np.array_equal(one.drops, two.drops)
    np.testing.assert_array_equal(one.drops, again.drops)
    assert one.baseline == pytest.approx(0.98, abs=0.02)


def test_scorers_by_hand() -> None:
    truth = np.array([True, True, False, False, False])
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.2])
    assert metric_scorer("accuracy", 0.5)(truth, scores) == pytest.approx(3 / 5)
    assert metric_scorer("recall", 0.5)(truth, scores) == pytest.approx(1 / 2)
    assert metric_scorer("specificity", 0.5)(truth, scores) == pytest.approx(2 / 3)
    assert metric_scorer("precision", 0.5)(truth, scores) == pytest.approx(1 / 2)
    assert metric_scorer("f1", 0.5)(truth, scores) == pytest.approx(0.5)
    assert metric_scorer("roc_auc", 0.5)(truth, scores) == pytest.approx(5 / 6)
    assert metric_scorer("brier", 0.5)(truth, scores) == pytest.approx(-(0.01 + 0.36 + 0.36 + 0.01 + 0.04) / 5)
    assert math.isnan(metric_scorer("roc_auc", 0.5)(truth[:2], scores[:2]))
    with pytest.raises(ValueError, match="cannot measure importance"):
        metric_scorer("other", 0.5)
