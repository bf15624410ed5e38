"""How long permutation importance takes, against scikit-learn's own permutation_importance.

Run from the repository root:  .venv/bin/python benchmarks/bench_importance.py

A logistic regression on the breast-cancer data (30 measurements), scored on an evaluation set grown to
ROWS rows by resampling; both compute the same drops (accuracy, REPEATS shuffles, seed 0, one process),
best of 3. The figure that matters for a build is storybook's time: it runs once per `pin` or live build of a
story with `drivers: {source: model}`, once overall and once per slice group.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from storybook.analyse.importance import metric_scorer, permutation_drops

REPEATS = 10
SIZES = (171, 10_000, 100_000)


def _best(run: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    data = load_breast_cancer(as_frame=True)
    features, truth = data.frame.drop(columns=["target"]), (data.frame["target"] == 0).to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(features, truth)
    print(f"{'rows':>8} {'storybook':>10} {'sklearn':>10} {'same drops':>10}")
    for rows in SIZES:
        index = np.random.default_rng(0).integers(0, len(features), rows)
        frame = pd.DataFrame(features.to_numpy()[index], columns=features.columns)
        labels = truth[index]
        ours = permutation_drops(lambda f: model.predict_proba(f)[:, 1], frame, labels, metric_scorer("accuracy", 0.5),
                                 n_repeats=REPEATS, seed=0)
        theirs = permutation_importance(model, frame, labels, scoring="accuracy", n_repeats=REPEATS, random_state=0)
        same = bool(np.array_equal(ours.drops, theirs.importances))
        storybook_s = _best(lambda x=frame, y=labels: permutation_drops(
            lambda f: model.predict_proba(f)[:, 1], x, y, metric_scorer("accuracy", 0.5), n_repeats=REPEATS, seed=0))
        sklearn_s = _best(lambda x=frame, y=labels: permutation_importance(
            model, x, y, scoring="accuracy", n_repeats=REPEATS, random_state=0))
        print(f"{rows:>8,} {storybook_s:>9.2f}s {sklearn_s:>9.2f}s {same!s:>10}")


if __name__ == "__main__":
    main()
