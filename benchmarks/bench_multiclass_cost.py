"""How fast the multiclass cost rule is on a large evaluation set, beside a floor measured in the same run.

Run from the repository root:  .venv/bin/python benchmarks/bench_multiclass_cost.py

Times storybook.metrics.multiclass.cost_rule (each row's least-expected-cost call, compared with the most likely
class, with the paired bootstrap of the saving, 1,000 rounds) on 1,000,000 rows x 10 classes, best of 3. Target:
under 2 s. The floor is one numpy pass over the data: probabilities @ cost matrix (the expected costs, which the
rule cannot skip). Also times the rule within class limits: one limited class (the greedy path) on the same rows,
and two limited classes (the linear programme, scipy HiGHS) on 20,000 rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from storybook.metrics.multiclass import MulticlassScores, cost_rule

ROWS = 1_000_000
CLASSES = 10
LP_ROWS = 20_000
REPEATS = 3
TARGET_SECONDS = 2.0


def scored_rows(n: int, k: int, seed: int) -> MulticlassScores:
    """A model that leans towards the truth: softmax of noise plus a push on the true class."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth] += 1.5
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return MulticlassScores.from_probabilities(tuple(f"class {i}" for i in range(k)), truth, probabilities)


def cost_matrix(k: int, seed: int) -> np.ndarray:
    """Off the diagonal, 1 to 10 per wrong call; missing class 0 costs 20."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1, 10, size=(k, k))
    cost[0, 1:] = 20.0
    np.fill_diagonal(cost, 0.0)
    return cost


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def main() -> None:
    scores = scored_rows(ROWS, CLASSES, seed=20240601)
    cost = cost_matrix(CLASSES, seed=1)
    assert scores.probabilities is not None
    probabilities = scores.probabilities

    floor = best_of(REPEATS, lambda: probabilities @ cost)
    rule = best_of(REPEATS, lambda: cost_rule(scores, cost, rounds=1000, seed=0))
    result = cost_rule(scores, cost, rounds=1000, seed=0)
    print(f"cost rule + paired bootstrap (1,000 rounds) on {ROWS:,} rows x {CLASSES} classes")
    print(f"  floor, probabilities @ cost (best of {REPEATS}):  {floor:.3f} s")
    print(f"  cost_rule (best of {REPEATS}):                    {rule:.3f} s   ({rule / floor:.1f} x the floor)   "
          f"target < {TARGET_SECONDS:.0f} s   {verdict(rule < TARGET_SECONDS)}")
    saving = result.saving
    print(f"  saving per 1,000 vs the most likely class: {saving.value:.1f} ({saving.low:.1f} to {saving.high:.1f})")

    share = result.calls_per_class[0] / ROWS * 0.8  # room for 80% of the calls of class 0 the rule would make
    limited = best_of(REPEATS, lambda: cost_rule(scores, cost, capacity=(share, *([None] * (CLASSES - 1)))))
    print(f"  within a limit on one class ({share:.1%} of rows, greedy):  {limited:.3f} s   "
          f"{verdict(limited < TARGET_SECONDS)}")

    small = scored_rows(LP_ROWS, CLASSES, seed=7)
    counts = cost_rule(small, cost, rounds=1).calls_per_class
    capacity = (counts[0] / LP_ROWS * 0.8, counts[1] / LP_ROWS * 0.8, *([None] * (CLASSES - 2)))
    start = time.perf_counter()
    two = cost_rule(small, cost, capacity=capacity)
    seconds = time.perf_counter() - start
    print(f"  within limits on two classes (linear programme) on {LP_ROWS:,} rows:  {seconds:.3f} s   "
          f"(calls {two.calls_per_class[0]:,} <= {two.limits[0]:,} and {two.calls_per_class[1]:,} <= "
          f"{two.limits[1]:,})")


if __name__ == "__main__":
    main()
