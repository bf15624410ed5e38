"""Leaks and surprises (storybook.analyse.data_surprises.find_surprises) on 1,000,000 rows x 30 columns.

Generates a yes/no outcome and 30 input columns (20 numeric, 10 categories with 3 to 12 values; one numeric column
a planted leak, one category column constant), runs the four looks (leaks in every column, columns that tell
nothing, contradicting outcomes over all 30 columns, groups on one side against a 1,000,000-row training table),
and prints the wall time of each part beside three floors measured in the same run: one pandas groupby of the
outcome by one category column, ``pandas.util.hash_pandas_object`` over the 30 columns, and one numpy sort of each
numeric column (an exact ROC AUC needs one).

    .venv/bin/python benchmarks/bench_surprises.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from pandas.util import hash_pandas_object

from storybook.analyse.data_surprises import find_surprises
from storybook.metrics.separation import conflicting_rows


def generated(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(rows) < 0.3
    columns: dict[str, object] = {f"x{i}": rng.normal(0, 1, rows) + (0.3 * y if i < 5 else 0) for i in range(19)}
    columns["copied"] = y + rng.normal(0, 0.05, rows)
    for i in range(9):
        values = np.array([f"v{j}" for j in range(3 + i)])
        columns[f"c{i}"] = values[rng.integers(0, values.size, rows)]
    columns["constant"] = "same"
    return pd.DataFrame(columns), y


def timed(label: str, action: object) -> object:
    start = time.perf_counter()
    result = action()  # type: ignore[operator]
    print(f"{label:<58} {time.perf_counter() - start:6.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    frame, y = generated(rows)
    training, _ = generated(rows, seed=1)
    print(f"{rows:,} rows x {frame.shape[1]} columns")
    timed("floor: one groupby of the outcome by one category column",
          lambda: pd.Series(y).groupby(frame["c8"].to_numpy()).mean())
    timed("floor: hash_pandas_object over the 30 columns", lambda: hash_pandas_object(frame, index=False))
    numeric = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    timed(f"floor: one numpy sort of each of the {len(numeric)} numeric columns",
          lambda: [np.argsort(frame[c].to_numpy()) for c in numeric])
    timed("contradicting outcomes alone (30 columns)", lambda: conflicting_rows(frame, list(frame.columns), y))
    found = timed("find_surprises, all four looks, with a training table",
                  lambda: find_surprises(frame, y, task="binary", training=training))
    print(f"leaks: {[leak.column for leak in found.leaks]}; empty: {[e.column for e in found.empty]}; "  # type: ignore[attr-defined]
          f"contradicting rows: {found.conflicts.rows:,}")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
