"""Fisher's exact test of the scan for weak groups without scipy (issue 21): the p-values of 10,000 exact groups
(fewer than EXACT_UP_TO cases of the rarer kind expected) from storybook's own hypergeometric tail, beside the floor
scipy.stats.hypergeom.sf (Boost, compiled) on the same tables, and the import time the change saves: importing
scipy.stats in a new process, beside importing storybook.metrics.groups and computing the p-values there.

Run from the repository root:  .venv/bin/python benchmarks/bench_fisher.py

The tables: populations of 50 to 10,000 cases (the scan's groups against the rest of an evaluation set) and, as a
second row, up to 10,000,000; each group's count from a few spreads below its mean to far above it. Best of 5.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.stats import hypergeom

from storybook.metrics.groups import EXACT_UP_TO
from storybook.metrics.hypergeometric import at_least

GROUPS = 10_000
REPEATS = 5
Floats = npt.NDArray[np.float64]


def tables(seed: int, most: float) -> tuple[Floats, Floats, Floats, Floats]:
    """(x, M, K, N) of GROUPS exact groups: M cases in all, K of the kind, N in the group, x of the kind in it."""
    rng = np.random.default_rng(seed)
    m = np.floor(np.exp(rng.uniform(np.log(50), np.log(most), GROUPS)))
    n = np.floor(rng.uniform(0.01, 0.5, GROUPS) * m) + 1
    share = np.minimum(rng.uniform(0.5, EXACT_UP_TO, GROUPS) / n, 0.5)
    k = np.floor(share * m)
    k = np.where(rng.random(GROUPS) < 0.5, m - k, k)
    spread = np.sqrt(n * k / m * (1 - k / m) * (m - n) / (m - 1))
    x = np.clip(np.round(n * k / m + rng.normal(1, 3, GROUPS) * (spread + 1)),
                np.maximum(0, n - (m - k)), np.minimum(k, n))
    return x, m, k, n


def best_of(run: Callable[..., object], *arguments: Floats) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run(*arguments)
        times.append(time.perf_counter() - start)
    return min(times)


def in_new_process(code: str) -> float:
    """Seconds of ``code`` timed inside a new process (best of REPEATS), imports included."""
    timed = f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    return min(float(subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True, check=True)
                     .stdout) for _ in range(REPEATS))


def main() -> None:
    print("| figure | storybook (numpy + math) | floor: scipy.stats.hypergeom.sf | ratio | largest difference |")
    print("|---|---|---|---|---|")
    for most in (10_000, 10_000_000):
        x, m, k, n = tables(2026, most)
        ours = at_least(x, m, k, n)
        floor = hypergeom.sf(x - 1, m, k, n)
        shown = floor > 1e-300
        difference = np.max(np.abs(ours - floor)[shown] / floor[shown])
        seconds = best_of(at_least, x, m, k, n)
        floor_seconds = best_of(hypergeom.sf, x - 1, m, k, n)
        print(f"| {GROUPS:,} exact groups, populations up to {most:,} | {seconds * 1000:.1f} ms | "
              f"{floor_seconds * 1000:.1f} ms | {seconds / floor_seconds:.2f}x | {difference:.1e} (relative) |")
    scipy_import = in_new_process("import scipy.stats")
    groups_import = in_new_process("import numpy\nfrom storybook.metrics.groups import share_p_value\n"
                                   "share_p_value([56, 3], [70, 10], [48, 1], [80, 100])")
    numpy_import = in_new_process("import numpy")
    print(f"| import in a new process | storybook.metrics.groups + two p-values: {groups_import * 1000:.0f} ms "
          f"(numpy alone {numpy_import * 1000:.0f} ms) | import scipy.stats: {scipy_import * 1000:.0f} ms | "
          f"saved: {scipy_import * 1000:.0f} ms | |")
    print("\nThe difference up to 10,000,000 cases is scipy's own (Boost's log-gamma near 1.5e8): against "
          "40-digit sums, see tests/metrics/test_groups.py.")


if __name__ == "__main__":
    main()
