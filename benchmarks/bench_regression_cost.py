"""How fast the regression cost-of-error analysis is on a large evaluation set.

Run from the repository root:  .venv/bin/python benchmarks/bench_regression_cost.py [--rows N] [--rounds R]

Times ``storybook.metrics.regression.cost_adjustment`` (the cost-minimising adjustment of the forecast with its
bootstrap interval, and the expected cost per forecast before and after with theirs) on 1,000,000 rows with
1,000 bootstrap rounds (best of 3), beside a floor measured in the same run: one numpy pass over the data (the
errors and the cost of every forecast as logged, averaged). Target: under 2 s.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from storybook.metrics.regression import RegressionScores, cost_adjustment

TARGET_SECONDS = 2.0
REPEATS = 3
OVER, UNDER = 40.0, 200.0  # an empty bed planned costs 40; a patient without a bed costs 200


def forecasts(n: int, seed: int) -> RegressionScores:
    """Bed demand: skewed counts, forecasts that run a little low, with noise; almost every error distinct."""
    rng = np.random.default_rng(seed)
    actual = rng.gamma(4.0, 10.0, size=n).round()
    predicted = actual * 0.9 + rng.normal(0.0, 6.0, size=n)
    return RegressionScores(actual, predicted)


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1000)
    options = parser.parse_args()
    scores = forecasts(options.rows, seed=20261203)
    load = os.getloadavg()

    def floor() -> float:
        errors = scores.predicted - scores.actual
        return float((OVER * np.maximum(errors, 0.0) + UNDER * np.maximum(-errors, 0.0)).mean())

    def analyse() -> object:
        return cost_adjustment(scores, OVER, UNDER, rounds=options.rounds, seed=0)

    analyse()  # warm up
    seconds = best_of(REPEATS, analyse)
    floor_seconds = best_of(REPEATS, floor)
    found = cost_adjustment(scores, OVER, UNDER, rounds=options.rounds, seed=0)

    def told(name: str, value: float | None, low: float | None, high: float | None) -> str:
        return f"  {name:<26}{value:10.3f}   95% from {low:.3f} to {high:.3f}"

    print(f"load average before: {load[0]:.1f}, after: {os.getloadavg()[0]:.1f} (2 cores: above 2, others share them)")
    print(f"cost_adjustment on {options.rows:,} rows, {options.rounds:,} bootstrap rounds "
          f"(too high costs {OVER:g} a unit, too low {UNDER:g}; averages resampled on "
          f"{found.sampled or found.cases:,} rows)")
    print(f"  time (best of {REPEATS}):        {seconds * 1000:8.0f} ms   target < {TARGET_SECONDS:.0f} s   "
          f"{'ok' if seconds < TARGET_SECONDS else 'OVER TARGET'}")
    print(f"  floor, one numpy pass:      {floor_seconds * 1000:8.1f} ms   ({seconds / floor_seconds:.0f}x floor)")
    for name in ("adjustment", "cost_before", "cost_after", "saving"):
        estimate = getattr(found, name)
        print(told(name, estimate.value, estimate.low, estimate.high))


if __name__ == "__main__":
    main()
