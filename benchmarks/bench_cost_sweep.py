"""How fast and how lean the cost-of-error analysis is on a large evaluation set.

Run from the repository root:  .venv/bin/python benchmarks/bench_cost_sweep.py

Times sweep + expected_cost + best_threshold on 1,000,000 scored rows (best of 5), the peak memory of one
such run, and bootstrap(rounds=200) on 100,000 rows. Targets: under 2 s and under 1 GiB.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from storybook.analyse.costs import CostModel, best_threshold, bootstrap, expected_cost, sweep

ROWS = 1_000_000
BOOTSTRAP_ROWS = 100_000
BOOTSTRAP_ROUNDS = 200
REPEATS = 5
TARGET_SECONDS = 2.0
TARGET_BYTES = 1 << 30
COSTS = CostModel(cost_fp=1.0, cost_fn=5.0)


def scored_rows(n: int, seed: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """About 20% positives; scores from a logistic model, so almost every score is distinct (the worst case)."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.2
    scores = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.5 * labels - 1.0)))
    return labels, scores


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def max_rss_bytes() -> int:
    # ru_maxrss is kibibytes on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def main() -> None:
    labels, scores = scored_rows(ROWS, seed=20240601)

    def analyse() -> None:
        result = sweep(labels, scores)
        expected_cost(result, COSTS)
        best_threshold(result, COSTS, capacity=0.15)

    analyse()  # warm up
    seconds = best_of(REPEATS, analyse)

    tracemalloc.start()
    analyse()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    result = sweep(labels, scores)
    choice = best_threshold(result, COSTS, capacity=0.15)
    print(f"sweep + expected_cost + best_threshold on {ROWS:,} rows ({result.thresholds.size:,} thresholds)")
    print(f"  time (best of {REPEATS}):   {seconds:.3f} s    target < {TARGET_SECONDS:.0f} s    "
          f"{verdict(seconds < TARGET_SECONDS)}")
    print(f"  peak traced memory:    {peak / 2**20:.1f} MiB   target < 1 GiB   {verdict(peak < TARGET_BYTES)}")
    print(f"  best threshold {choice.threshold:.4f} (capacity 15%, binding: {choice.capacity_binding}), "
          f"{choice.cost_per:.1f} per 1,000")

    small_labels, small_scores = labels[:BOOTSTRAP_ROWS], scores[:BOOTSTRAP_ROWS]
    start = time.perf_counter()
    boot = bootstrap(small_labels, small_scores, COSTS, rounds=BOOTSTRAP_ROUNDS, seed=0, at_threshold=0.5)
    boot_seconds = time.perf_counter() - start
    print(f"bootstrap, {BOOTSTRAP_ROUNDS} rounds on {BOOTSTRAP_ROWS:,} rows")
    print(f"  time:                  {boot_seconds:.3f} s")
    print(f"  min cost per 1,000:    {boot.min_cost.value:.1f} ({boot.min_cost.low:.1f} to {boot.min_cost.high:.1f})")
    rss = max_rss_bytes()
    print(f"process max RSS:         {rss / 2**20:.1f} MiB   target < 1 GiB   {verdict(rss < TARGET_BYTES)}")


if __name__ == "__main__":
    main()
