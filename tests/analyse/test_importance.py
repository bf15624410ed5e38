"""storybook.analyse.importance: permutation drops summarised honestly (intervals, ranks, what differs by slice);
the drops themselves are tested against scikit-learn in tests/metrics/test_importance.py."""

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


def test_the_summary_of_computed_drops_is_scikit_learns(fitted: tuple[Pipeline, pd.DataFrame, pd.Series]) -> None:
    model, features, truth = fitted
    expected = permutation_importance(model, features, truth, scoring="accuracy", n_repeats=5, random_state=0)
    ours = permutation_drops(lambda frame: model.predict_proba(frame)[:, 1], features, truth.to_numpy(),
                             metric_scorer("accuracy", 0.5), n_repeats=5, seed=0)
    summary = {i.feature: i for i in rank_importances(drops_frame(ours))}
    for index, feature in enumerate(features.columns):
        assert summary[feature].mean == pytest.approx(expected.importances_mean[index], abs=1e-12)
        assert summary[feature].std == pytest.approx(expected.importances_std[index], abs=1e-12)
    assert summary[max(summary, key=lambda f: summary[f].mean)].rank == 1


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
