"""How fast the scan for weak groups is on a large evaluation set (issue 23: < 10 s for 1,000,000 rows x 30
columns, pairs included), beside a floor: one pandas groupby over the same data (the confusion cells of each value
of one column), measured in the same run.

Run from the repository root:  .venv/bin/python benchmarks/bench_scan.py

The set: 1,000,000 binary cases, 30 columns (10 of numbers, cut into quartiles; 10 of whole numbers 0 to 9, cut into
quartiles too; 10 of text with 6 values), every pair of them (435 pairs), both figures (the share missed and the
share of false alarms). A weak group is planted (the top quartile of n0, with more misses) so the found groups
are checked, not only timed. Best of 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.weak_groups import Figure, ScanResult, scan

ROWS = 1_000_000
COLUMNS = 30
REPEATS = 3
TARGET_SECONDS = 10.0
FIGURES = (Figure("misses", "share", among=(2, 3), event=(2,)),
           Figure("false_alarms", "share", among=(0, 1), event=(1,)))


def dataset(seed: int) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(COLUMNS // 3):
        columns[f"n{i}"] = rng.normal(size=ROWS)
        columns[f"w{i}"] = rng.integers(0, 10, ROWS)
        columns[f"t{i}"] = rng.choice(np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]), ROWS)
    frame = pd.DataFrame(columns)
    labels = rng.random(ROWS) < 0.3
    weak = frame["n0"].to_numpy() > np.quantile(frame["n0"].to_numpy(), 0.75)
    flagged = np.where(labels, rng.random(ROWS) > np.where(weak, 0.3, 0.2), rng.random(ROWS) < 0.1)
    return frame, labels.astype(np.int64) * 2 + flagged


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    frame, cells = dataset(seed=2026)
    with_cells = frame.assign(cell=cells)
    floor, _ = best_of(REPEATS, lambda: with_cells.groupby(["t0", "cell"]).size())
    seconds, result = best_of(REPEATS, lambda: scan(frame, cells, 4, FIGURES))
    assert isinstance(result, ScanResult)
    print(f"scan of {ROWS:,} rows x {COLUMNS} columns ({result.pairs} pairs): {result.groups:,} groups, "
          f"{result.comparisons:,} comparisons")
    print(f"found: {', '.join(f'{f.name} ({f.figure})' for f in result.found) or 'nothing'}")
    print("| figure | measured | target | floor: one pandas groupby (one column x cells) | ratio | target met |")
    print("|---|---|---|---|---|---|")
    print(f"| scan, pairs included | {seconds:.2f} s | < {TARGET_SECONDS:.0f} s | {floor * 1000:.0f} ms | "
          f"{seconds / floor:.0f}x | {'yes' if seconds < TARGET_SECONDS else 'NO'} |")


if __name__ == "__main__":
    main()
