"""Permutation importance: agrees with scikit-learn number for number, and is summarised honestly."""

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

from storybook.analyse.importance import (
    ALL_ROWS,
    drops_frame,
    importance_interval,
    metric_scorer,
    permutation_drops,
    rank_importances,
    slice_differences,
)


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
    summary = {i.feature: i for i in rank_importances(drops_frame(ours))}
    for index, feature in enumerate(features.columns):
        assert summary[feature].mean == pytest.approx(expected.importances_mean[index], abs=1e-12)
        assert summary[feature].std == pytest.approx(expected.importances_std[index], abs=1e-12)


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


def test_interval_by_hand() -> None:
    # Drops 1, 2, 3: mean 2, population std sqrt(2/3), sample std 1; t(0.975, 2 df) = 4.302652729749...
    low, high = importance_interval(2.0, math.sqrt(2 / 3), 3)
    assert low == pytest.approx(2 - 4.302652729749464 / math.sqrt(3))
    assert high == pytest.approx(2 + 4.302652729749464 / math.sqrt(3))
    # Ten drops of 0.09 and 0.11, alternating: mean 0.1, sample std 0.010541, t(9 df) = 2.262157.
    table = pd.DataFrame({"feature": ["x"] * 10, "repeat": range(10), "drop": [0.09, 0.11] * 5})
    (only,) = rank_importances(table, {"x": "tumour size"})
    assert only.label == "tumour size" and only.repeats == 10 and only.rank == 1
    assert only.mean == pytest.approx(0.1)
    half = 2.2621571627409915 * (0.01 * math.sqrt(10 / 9)) / math.sqrt(10)
    assert (only.low, only.high) == (pytest.approx(0.1 - half), pytest.approx(0.1 + half))
    assert (only.smallest, only.largest) == (pytest.approx(0.09), pytest.approx(0.11))
    assert only.clear
    assert importance_interval(0.1, 0.0, 1) == (None, None)  # one shuffle says nothing about spread


def test_no_clear_effect_when_the_interval_includes_zero_and_ranking_is_by_mean() -> None:
    table = pd.DataFrame({
        "feature": ["a"] * 4 + ["b"] * 4 + ["c"] * 4 + ["d"] * 4,
        "repeat": list(range(4)) * 4,
        "drop": [0.02, -0.01, 0.01, -0.02,   # around zero
                 0.05, 0.06, 0.05, 0.06,     # clearly positive
                 0.0, 0.0, 0.0, 0.0,         # never changes anything
                 0.05, 0.06, 0.06, 0.05],    # the same mean as b: ties go by name
    })
    ranked = rank_importances(table)
    assert [i.feature for i in ranked] == ["b", "d", "a", "c"]
    assert [i.rank for i in ranked] == [1, 2, 3, 4]
    clear = {i.feature: i.clear for i in ranked}
    assert clear == {"a": False, "b": True, "c": False, "d": True}


def test_summary_shape_gives_the_same_interval_as_the_repeats() -> None:
    drops = [0.031, 0.052, 0.044, 0.029, 0.047]
    long = pd.DataFrame({"feature": ["x"] * 5, "repeat": range(5), "drop": drops})
    short = pd.DataFrame({"feature": ["x"], "mean": [float(np.mean(drops))], "std": [float(np.std(drops))],
                          "repeats": [5]})
    (a,) = rank_importances(long)
    (b,) = rank_importances(short)
    assert (a.low, a.high) == (pytest.approx(b.low), pytest.approx(b.high))
    # Without a repeats column the story's count is assumed.
    (c,) = rank_importances(short.drop(columns=["repeats"]), default_repeats=2)
    assert c.repeats == 2 and c.high is not None and b.high is not None and c.high > b.high


def test_slice_differences_only_beyond_uncertainty() -> None:
    rows = []
    for repeat in range(5):
        rows.append((ALL_ROWS, ALL_ROWS, "radius", repeat, 0.10 + 0.002 * repeat))
        rows.append((ALL_ROWS, ALL_ROWS, "texture", repeat, 0.02 + 0.002 * repeat))
        rows.append(("size_band", "small", "radius", repeat, 0.30 + 0.002 * repeat))   # clearly more
        rows.append(("size_band", "small", "texture", repeat, 0.02 + 0.01 * (repeat - 2)))  # overlaps
        rows.append(("size_band", "large", "radius", repeat, 0.0))  # clearly less
    table = pd.DataFrame(rows, columns=["slice", "group", "feature", "repeat", "drop"])
    overall = rank_importances(table[table["slice"] == ALL_ROWS])
    found = slice_differences(table, overall, {"radius": "tumour size"})
    assert [(d.group, d.feature, d.direction) for d in found] == [("large", "radius", "less"),
                                                                   ("small", "radius", "more")]
    assert found[1].label == "tumour size"
    assert found[1].within.mean == pytest.approx(0.304)
    assert found[1].overall.mean == pytest.approx(0.104)
    assert slice_differences(table.drop(columns=["slice"]), overall) == ()


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
